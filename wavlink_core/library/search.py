"""Matryoshka-native search: a shortlist at a small (quantised) size, re-ranked at full size.

The database finds ``k * shortlist_factor`` candidate rows on a small stored prefix; their stored
full-size vectors are then scored exactly. :func:`measure_recall` says how often that returns the
same top ``k`` as exact full-size search, for every size and quantisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .config import QUANTIZATIONS
from .quantize import shortlist_scores
from .store import Store


@dataclass(frozen=True)
class Hit:
    """One result: the file, its cosine similarity to the query at full size, and where in it."""

    path: str
    score: float
    start: float
    end: float

    def to_dict(self) -> dict:
        return asdict(self)


def search_vector(
    store: Store, query: np.ndarray, k: int, dim: int, factor: int, per_file: bool = True
) -> list[Hit]:
    """The ``k`` best rows for a full-size unit ``query``.

    Args:
        dim: shortlist size; the full size searches exactly.
        factor: shortlist length is ``k * factor``.
        per_file: keep only the best row (whole file or segment) of each file, so ``k`` results
            are ``k`` different files.
    """
    if k < 1:
        raise ValueError(f"k={k}: ask for at least one result")
    candidates = store.knn(query, k * factor, dim)
    rows = store.rows([row_id for row_id, _ in candidates])
    if not rows:
        return []
    scores = np.stack([r.vector for r in rows]) @ query.astype(np.float32)
    hits, seen = [], set()
    for i in np.argsort(-scores, kind="stable"):
        row = rows[i]
        if per_file and row.path in seen:
            continue
        seen.add(row.path)
        hits.append(Hit(row.path, float(scores[i]), float(row.start), float(row.end)))
        if len(hits) == k:
            break
    return hits


def measure_recall(
    library: np.ndarray,
    queries: np.ndarray,
    dims: Sequence[int],
    k: int = 10,
    factor: int = 10,
    exclude_self: bool = False,
) -> list[dict]:
    """Recall@k of shortlist + full-size re-rank against exact full-size search.

    Args:
        library: (N, D) full-size unit vectors.
        queries: (Q, D) full-size unit vectors (texts or clips).
        dims: the sizes to test (the full size is exact by construction and reported as 1.0).
        exclude_self: leave rows identical to the query (cosine 1) out of every ranking, for
            queries drawn from the library itself.

    Returns:
        One dict per (size, quantisation): ``dim``, ``quantization``, ``recall`` (mean over queries),
        ``bytes`` (bytes per vector of the shortlist column).
    """
    exact = queries @ library.T
    if exclude_self:
        exact = np.where(exact > 1 - 1e-6, -np.inf, exact)
    kk = min(k, library.shape[0])
    truth = np.argsort(-exact, axis=1, kind="stable")[:, :kk]
    out = []
    D = library.shape[1]
    for dim in dims:
        for quant in QUANTIZATIONS if dim < D else ("float32",):
            if dim == D:
                out.append({"dim": dim, "quantization": quant, "recall": 1.0, "bytes": 4 * D})
                continue
            short = shortlist_scores(library, queries, dim, quant)
            short = np.where(np.isinf(exact), -np.inf, short)
            cand = np.argsort(-short, axis=1, kind="stable")[:, : kk * factor]
            rerank = np.take_along_axis(exact, cand, axis=1)
            top = np.take_along_axis(
                cand, np.argsort(-rerank, axis=1, kind="stable")[:, :kk], axis=1
            )
            recall = np.mean([len(set(t) & set(g)) / kk for t, g in zip(truth, top)])
            size = {"float32": 4 * dim, "int8": dim, "binary": dim // 8}[quant]
            out.append({"dim": dim, "quantization": quant, "recall": float(recall), "bytes": size})
    return out
