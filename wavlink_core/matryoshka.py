"""Matryoshka sizes: truncate an embedding to its first ``dim`` channels and re-normalise.

MRL (arXiv 2205.13147) trains every prefix of the embedding as an embedding of its own, so a
prefix is only meaningful after L2 re-normalisation, and only at sizes that were trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ConfigError


def truncate(emb: torch.Tensor, dim: int) -> torch.Tensor:
    """Keep the first ``dim`` channels and L2-renormalise.

    Args:
        emb: (..., D) embeddings.
        dim: target size, 1 <= dim <= D.

    Returns:
        (..., dim) unit-norm embeddings; ``dim == D`` is a no-op on unit-norm input.
    """
    if not 0 < dim <= emb.shape[-1]:
        raise ConfigError(f"dim={dim} is outside 1..{emb.shape[-1]} (the embedding width)")
    return F.normalize(emb[..., :dim], dim=-1)


def truncate_np(emb: np.ndarray, dim: int) -> np.ndarray:
    """:func:`truncate` for numpy arrays (float32 in, float32 out)."""
    return truncate(torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32)), dim).numpy()


def check_dim(dim: int | None, trained: Sequence[int], model_name: str = "this model") -> int:
    """Resolve a requested size: ``None`` means the full size; untrained sizes are refused.

    Raises:
        ConfigError: naming the requested size and the trained ones.
    """
    trained = tuple(trained)
    if dim is None:
        return max(trained)
    if isinstance(dim, bool) or int(dim) != dim or int(dim) not in trained:
        raise ConfigError(
            f"dim={dim!r} is not a trained size for {model_name}; choose one of {trained}"
        )
    return int(dim)
