"""Whisper-AuT adaptation (arXiv 2604.10438): seq2seq fine-tuning of a full Whisper on the corpus.

``python -m wavlink_core.adapt --config run.json [--key=value ...]`` trains and saves
``<output_dir>/backbone`` (build a WavLink on it with ``AudioConfig(backbone=<folder>)``);
``python -m wavlink_core.adapt compare ...`` probes vanilla vs adapted encoders and measures WER.

Modules: ``config`` (AdaptConfig), ``seq2seq`` (model, prompts, loss, decoding, saving), ``data``
(examples, mix sampler, collator), ``engine`` (the Accelerate loop), ``wer``, ``compare``.
"""

from __future__ import annotations

from .config import AdaptConfig

__all__ = ["AdaptConfig", "train"]


def train(cfg: AdaptConfig):
    """Run one adaptation (see :func:`wavlink_core.adapt.engine.train`)."""
    from .engine import train as _train

    return _train(cfg)
