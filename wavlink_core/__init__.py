"""wavlink_core: WavLink audio-text embeddings (arXiv 2601.15118) on real pretrained Whisper weights.

Quick start::

    from wavlink_core import WavLink
    model = WavLink.from_pretrained("wavlink-tiny")  # shipped trained model, or a checkpoint folder
    a = model.embed_audio(["dog.wav"], dim=64)              # (1, 64) unit-norm float32
    t = model.embed_text(["a dog barking"], dim=64)
    print(model.zero_shot("dog.wav", "dog, rain, siren").top(3))
"""

from __future__ import annotations

__version__ = "0.1.0"

from .audio import AudioInfo, load_audio, load_audio_with_info, probe_audio
from .checkpoint import load_pretrained, save_pretrained
from .config import PRESETS, AudioConfig, TextConfig, WavLinkConfig, get_preset
from .errors import AudioError, CheckpointError, ConfigError, WavLinkError
from .fewshot import FewShotClassifier, FewShotResult, fit_examples
from .inference import (
    DEFAULT_TEMPLATE,
    ZeroShotResult,
    embed_audio,
    embed_text,
    similarity,
    zero_shot,
)
from .matryoshka import check_dim, truncate
from .model import WavLink

# The network stays in model.py; the user API is attached here, whisper-style.
WavLink.from_pretrained = staticmethod(load_pretrained)
WavLink.save_pretrained = save_pretrained
WavLink.embed_audio = embed_audio
WavLink.embed_text = embed_text
WavLink.zero_shot = zero_shot
WavLink.fit_examples = fit_examples
WavLink.similarity = staticmethod(similarity)

__all__ = [
    "PRESETS",
    "DEFAULT_TEMPLATE",
    "FewShotClassifier",
    "FewShotResult",
    "AudioConfig",
    "AudioError",
    "AudioInfo",
    "CheckpointError",
    "ConfigError",
    "TextConfig",
    "WavLink",
    "WavLinkConfig",
    "WavLinkError",
    "ZeroShotResult",
    "check_dim",
    "embed_audio",
    "embed_text",
    "fit_examples",
    "get_preset",
    "load_audio",
    "load_audio_with_info",
    "load_pretrained",
    "probe_audio",
    "save_pretrained",
    "similarity",
    "truncate",
    "zero_shot",
]
