"""The ANN index of a LanceDB library: IVF partitions of one Matryoshka prefix column, probed
for a shortlist that :func:`~.search.search_vector` re-ranks at full size.

Built by ``library optimize`` (:func:`optimize`); its settings live in the library's ``meta``
table, where :meth:`.lance_store.LanceStore.knn` reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lance_store import LanceStore
from .store import LibraryError

# The ANN settings chosen by measurement at 1M rows (docs/library.md, "Which store when";
# scripts/bench_library_query.py --store lance): IVF_SQ (8-bit codes) on the largest shortlist
# size (128 for WavLink-Tiny; 64 lost recall on the benchmark vectors), sqrt(rows) partitions,
# 16 % of them probed, a shortlist of 30 k rows re-ranked at full size (`factor` is the
# shortlist over k). IVF_FLAT gave the same recall with a 5.8x larger index and twice the build.
DEFAULT_ANN = {"probe_fraction": 0.16, "factor": 30, "index_type": "IVF_SQ"}
ANN_MIN_ROWS = 50_000  # below this a flat scan was as fast (10k rows: 19 ms p50, recall 0.993)
REBUILD_GROWTH = 2.0  # retrain the partitions once the library has doubled since the last build


def optimize(store: LanceStore, dim: int | None = None, force: bool = False) -> dict[str, Any]:
    """Build the ANN index if there is none, it is at another size, or the library has grown
    ``REBUILD_GROWTH`` times since it was trained; else fold the new rows into it. Below
    ``ANN_MIN_ROWS`` rows no new index is built (flat search is as fast there) unless ``force``,
    which also retrains an existing index. Returns the settings (or ``rows``) with
    ``action``: ``built``, ``refreshed`` or ``skipped``."""
    if dim is None:  # the largest shortlist size: the best recall at 1M rows (see above)
        dim = max((d for d in store.dims if d < store.embed_dim), default=store.embed_dim)
    ann = store.ann()
    rows = store.rows_t.count_rows()
    if not force and not ann and rows < ANN_MIN_ROWS:
        store.rows_t.optimize()
        return {"action": "skipped", "rows": rows, "min_rows": ANN_MIN_ROWS}
    if force or not ann or ann["dim"] != dim or rows >= REBUILD_GROWTH * ann["rows"]:
        return {**build_ann(store, dim), "action": "built"}
    refresh_ann(store)
    return {**ann, "action": "refreshed"}


def build_ann(
    store: LanceStore,
    dim: int,
    probe_fraction: float = DEFAULT_ANN["probe_fraction"],
    factor: int = DEFAULT_ANN["factor"],
    index_type: str = DEFAULT_ANN["index_type"],
    partitions: int | None = None,
) -> dict[str, Any]:
    """Build (or rebuild) the ANN index on the size-``dim`` prefix and compact the table;
    searches at that size use it from then on. Returns the settings recorded in ``meta``.

    Args:
        probe_fraction: share of the partitions a search scans.
        factor: shortlist length over ``k`` before the full-size re-rank.
        partitions: IVF partitions (default ``sqrt(rows)``).
    """
    from lancedb.index import HnswSq, IvfFlat, IvfPq, IvfSq

    store.writable()
    if dim >= store.embed_dim or dim not in store.dims:
        small = [d for d in store.dims if d < store.embed_dim]
        raise LibraryError(f"ANN size {dim}: choose one of the shortlist sizes {small}")
    kinds = {"IVF_FLAT": IvfFlat, "IVF_SQ": IvfSq, "IVF_PQ": IvfPq, "IVF_HNSW_SQ": HnswSq}
    if index_type not in kinds:
        raise LibraryError(f"index type {index_type!r}: choose one of {sorted(kinds)}")
    rows = store.rows_t.count_rows()
    if rows < 256:
        raise LibraryError(
            f"{store.path}: {rows} rows; an ANN index needs at least 256 (search is exact "
            "and fast at this size without one)"
        )
    store.rows_t.optimize()  # one fragment per batch otherwise: compaction speeds every scan
    partitions = partitions or max(1, int(np.sqrt(rows)))
    store.rows_t.create_index(
        f"s{dim}",
        config=kinds[index_type](distance_type="cosine", num_partitions=partitions),
    )
    settings = {
        "dim": dim,
        "nprobes": max(1, round(probe_fraction * partitions)),
        "factor": factor,
        "index_type": index_type,
        "partitions": partitions,
        "rows": rows,
    }
    store.set_meta("ann", settings)
    return settings


def refresh_ann(store: LanceStore) -> None:
    """Fold rows added since the index was built into it (no retraining) and compact."""
    store.writable()
    store.rows_t.optimize()
