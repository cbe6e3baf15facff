"""Shortlist quantisations of Matryoshka prefixes, and the similarity each one ranks by.

The database stores and searches these itself (sqlite-vec ``int8[]`` with cosine distance and
``bit[]`` with Hamming distance); the functions here produce its int8 input and reproduce its
ranking in numpy, so recall can be measured for every size and quantisation without building one
index per setting.
"""

from __future__ import annotations

import numpy as np

from ..matryoshka import truncate_np


def to_int8(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled by its own largest magnitude to [-127, 127] (cosine ignores the scale)."""
    vectors = np.atleast_2d(vectors)
    peak = np.abs(vectors).max(axis=1, keepdims=True)
    return np.round(vectors / np.maximum(peak, 1e-12) * 127).astype(np.int8)


def shortlist_scores(
    library: np.ndarray, queries: np.ndarray, dim: int, quantization: str
) -> np.ndarray:
    """(Q, N) scores, higher is nearer, that the shortlist at ``dim`` ranks by.

    Args:
        library: (N, D) full-size unit vectors.
        queries: (Q, D) full-size unit vectors.
        dim: Matryoshka prefix size.
        quantization: ``float32`` (cosine), ``int8`` (cosine of the int8 codes) or ``binary``
            (minus the Hamming distance of the sign bits).
    """
    lib, q = truncate_np(library, dim), truncate_np(queries, dim)
    if quantization == "float32":
        return q @ lib.T
    if quantization == "int8":
        lib8, q8 = to_int8(lib).astype(np.float32), to_int8(q).astype(np.float32)
        lib8 /= np.linalg.norm(lib8, axis=1, keepdims=True)
        q8 /= np.linalg.norm(q8, axis=1, keepdims=True)
        return q8 @ lib8.T
    if quantization == "binary":
        # Hamming distance of sign bits = (dim - agreement) / 2, with signs as +-1.
        return np.sign(q + 1e-12) @ np.sign(lib + 1e-12).T
    raise ValueError(f"quantization={quantization!r}; choose float32, int8 or binary")
