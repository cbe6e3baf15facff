"""Shortlist + re-rank: the database's quantised shortlist ranks as the recall simulation says."""

from __future__ import annotations

import numpy as np
import pytest

from wavlink_core.library.quantize import shortlist_scores, to_int8
from wavlink_core.library.search import measure_recall, search_vector
from wavlink_core.library.store import IndexedFile, Store
from wavlink_core.matryoshka import truncate_np


def _store(tmp_path, quantization: str, vectors: np.ndarray) -> Store:
    store = Store.create(
        tmp_path / f"{quantization}.db",
        {
            "embed_dim": 64,
            "dims": [64, 32, 16, 8],
            "config": {"shortlist_quantization": quantization},
            "model": {"name": "synthetic", "fingerprint": "0"},
        },
    )
    files = [
        IndexedFile(f"/s/{i:03d}.wav", 1, 1, str(i), 1.0, [(0.0, 1.0)], vectors[i : i + 1])
        for i in range(len(vectors))
    ]
    store.write_batch(files, [])
    return store


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    return truncate_np(rng.standard_normal((300, 64)).astype(np.float32), 64)


@pytest.mark.parametrize("quantization", ["float32", "int8", "binary"])
def test_database_shortlist_agrees_with_the_numpy_scores(tmp_path, vectors, quantization):
    store = _store(tmp_path, quantization, vectors)
    q = vectors[7] + 0.3 * vectors[8]
    q /= np.linalg.norm(q)
    scores = shortlist_scores(vectors, q[None], 16, quantization)[0]
    got = [row_id - 1 for row_id, _ in store.knn(q, 20, 16)]
    # Ties (binary distances are integers) may come in any order: compare score multisets.
    assert sorted(scores[got]) == pytest.approx(sorted(np.sort(scores)[-20:]), abs=1e-5)


def test_full_size_search_is_exact_and_rerank_restores_full_size_order(tmp_path, vectors):
    store = _store(tmp_path, "int8", vectors)
    q = vectors[3]
    exact = np.argsort(-(vectors @ q))[:5]
    # At size 16 the shortlist (5 * 60 rows) holds every row: the re-rank alone must order them.
    for dim, factor in ((64, 1), (16, 60)):
        hits = search_vector(store, q, 5, dim, factor=factor)
        assert [int(h.path[3:6]) for h in hits] == list(exact)
        assert [h.score for h in hits] == pytest.approx(list((vectors @ q)[exact]), abs=1e-6)


def test_measure_recall_is_one_at_full_size_and_falls_for_crude_shortlists(vectors):
    rows = measure_recall(vectors, vectors[:20], [64, 8], k=10, factor=1, exclude_self=True)
    by = {(r["dim"], r["quantization"]): r for r in rows}
    assert by[(64, "float32")]["recall"] == 1.0
    # Random 64-d vectors carry no Matryoshka structure: an 8-d shortlist of only k rows misses.
    assert by[(8, "binary")]["recall"] < 0.5
    assert by[(8, "int8")]["bytes"] == 8 and by[(8, "binary")]["bytes"] == 1


def test_int8_codes_keep_the_direction():
    v = truncate_np(np.random.default_rng(1).standard_normal((5, 32)).astype(np.float32), 32)
    q = to_int8(v).astype(np.float32)
    cos = (q * v).sum(1) / np.linalg.norm(q, axis=1)
    assert cos.min() > 0.999
