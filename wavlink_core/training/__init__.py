"""WavLink training: ``python -m wavlink_core.training --config run.json [--key=value ...]``.

Modules: ``config`` (TrainConfig), ``data`` (manifest dataset, sampler, feature cache),
``regimes`` (projector / LoRA / full, audio or both towers), ``engine`` (the Accelerate loop).
"""

from __future__ import annotations

from .config import TrainConfig

__all__ = ["TrainConfig", "train"]


def train(cfg: TrainConfig):
    """Run one stage (see :func:`wavlink_core.training.engine.train`)."""
    from .engine import train as _train

    return _train(cfg)
