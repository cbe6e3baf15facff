"""ANN search settings of the LanceDB store side by side, on libraries kept by
``bench_library_query.py --keep`` (so the 1M rows are written once), with a breakdown of where
a query's time goes.

Each ``--setting`` names a kept library (its ANN index is whatever was built last in it) and the
search settings to run on it: ``nprobes``, ``factor`` (shortlist over k) and ``fetch``: ``search``
(the store's knn: the ANN search itself returns the shortlist's rows with their full-size vectors)
or ``take`` (the search returns row ids, the rows are then taken by row id). The settings run query
by query in turn, in a rotating order, for ``--rounds`` rounds, so load from other jobs falls on all
of them alike; compare the ratios.
Vectors and queries as in bench_library_query.py (synthetic library fitted to real embeddings,
real queries, recall@10 against exact full-size search).

    python scripts/bench_library_query.py --real /tmp/real_emb.npy --store lance --n 1000000 \\
        --keep /work/bench --skip-flat --index-types IVF_SQ --probe-fractions 0.16 --factors 30
    python scripts/bench_lance_ann.py --real /tmp/real_emb.npy --n 1000000 \\
        --setting "db=/work/bench/n1000000.lance nprobes=160 factor=30" \\
        --setting "db=/work/bench/n1000000.lance nprobes=160 factor=30 fetch=take"
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_library_query import K, PROMPTS, QUERIES  # noqa: E402
from library_bench_data import synthetic_like  # noqa: E402

from wavlink_core.library.lance_schema import ROW_COLUMNS, to_rows  # noqa: E402
from wavlink_core.library.lance_store import LanceStore  # noqa: E402
from wavlink_core.library.search import search_vector  # noqa: E402
from wavlink_core.matryoshka import truncate_np  # noqa: E402

SETTING_KEYS = {"db": str, "nprobes": int, "factor": int, "fetch": str}


class TakeFetch:
    """The alternative measured against the store's knn: the ANN search returns row ids only
    and the shortlist's rows (full-size vectors included) are then taken by row id. Faster
    under heavy load, 1.14-1.15x slower on an idle machine (benchmarks.md), so the store does
    not use it."""

    def __init__(self, store: LanceStore):
        self.store, self.fetched = store, {}

    def knn(self, query: np.ndarray, k: int, dim: int) -> list[tuple[int, float]]:
        search = query_builder(self.store, query, k, dim)
        found = search.select(["id", "_distance"]).with_row_id(True).to_arrow()
        table = self.store.rows_t.take_row_ids(found["_rowid"].to_pylist())
        self.fetched = {row.id: row for row in to_rows(table.select(ROW_COLUMNS).to_arrow())}
        return list(zip(found["id"].to_pylist(), found["_distance"].to_pylist()))

    def rows(self, ids):
        return [self.fetched[i] for i in ids if i in self.fetched]


def query_builder(store: LanceStore, query: np.ndarray, k: int, dim: int):
    """The ANN search the store's knn starts from (settings from ``store.meta["ann"]``)."""
    return (
        store.rows_t.search(truncate_np(query[None, :dim], dim)[0], vector_column_name=f"s{dim}")
        .distance_type("cosine")
        .limit(int(k))
        .nprobes(int(store.ann()["nprobes"]))
    )


def parse_setting(text: str) -> dict:
    setting = {"fetch": "search"}
    for part in text.split():
        key, _, value = part.partition("=")
        if key not in SETTING_KEYS:
            raise SystemExit(f"--setting {text!r}: unknown key {key!r}; use {sorted(SETTING_KEYS)}")
        setting[key] = SETTING_KEYS[key](value)
    missing = {"db", "nprobes", "factor"} - set(setting)
    if missing or setting["fetch"] not in ("take", "search"):
        raise SystemExit(f"--setting {text!r}: needs db, nprobes, factor; fetch is take or search")
    return setting


def run_one(setting: dict, store: LanceStore, query: np.ndarray) -> tuple[list[int], dict]:
    """Row numbers of the top K and the seconds spent in: the ANN search (row ids only), the
    fetch of the shortlist's rows and the rest (the full-size re-rank in Python)."""
    store.meta["ann"] = {**store.meta["ann"], "nprobes": setting["nprobes"]}
    dim = store.meta["ann"]["dim"]
    target = TakeFetch(store) if setting["fetch"] == "take" else store
    t0 = time.perf_counter()
    hits = search_vector(target, query, K, dim, setting["factor"])
    total = time.perf_counter() - t0
    t0 = time.perf_counter()  # the ANN search alone, to split the total
    query_builder(store, query, K * setting["factor"], dim).select(["id", "_distance"]).to_arrow()
    ann_s = time.perf_counter() - t0
    return [int(h.path[3:10]) for h in hits], {"total": total, "ann": ann_s}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--real", type=Path, required=True, help="real full-size embeddings (.npy)")
    p.add_argument("--n", type=int, default=1_000_000, help="rows of the kept libraries")
    p.add_argument("--setting", action="append", required=True, help="'db=... nprobes=N factor=F'")
    p.add_argument("--rounds", type=int, default=2, help="passes over the queries")
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    from wavlink_core import embed_text, load_pretrained

    settings = [parse_setting(s) for s in args.setting]
    stores = {s["db"]: LanceStore(s["db"], readonly=True) for s in settings}
    for db, store in stores.items():
        if not store.ann() or store.rows_t.count_rows() != args.n:
            raise SystemExit(
                f"{db}: needs an ANN index and {args.n} rows (bench_library_query.py --keep)"
            )
    real = np.load(args.real)
    texts = embed_text(load_pretrained(args.model), PROMPTS)
    clips = real[:: max(1, len(real) // (QUERIES - len(texts)))][: QUERIES - len(texts)]
    queries = np.concatenate([texts, clips]).astype(np.float32)
    vectors = synthetic_like(real, args.n, seed=args.n)  # the kept libraries' vectors
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :K]
    del vectors
    load = os.getloadavg()
    times = [{"total": [], "ann": []} for _ in settings]
    recall = [[] for _ in settings]
    for r in range(args.rounds):
        for qi, (q, t) in enumerate(zip(queries, truth)):
            shift = (r * len(queries) + qi) % len(settings)
            for si in list(range(len(settings)))[shift:] + list(range(shift)):
                got, split = run_one(settings[si], stores[settings[si]["db"]], q)
                for key in split:
                    times[si][key].append(split[key] * 1000)
                if r == 0:
                    recall[si].append(len(set(got) & set(t)) / K)
    print(
        f"{len(queries)} real queries x {args.rounds} rounds, {args.n:,} synthetic vectors; load "
        f"average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        "| index | probed | shortlist (x k) | fetch | p50 ms | p95 ms | ANN-only p50 ms "
        "| p50 / first | recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    first = np.percentile(times[0]["total"], 50)
    for s, tm, rec in zip(settings, times, recall):
        ann = stores[s["db"]].ann()
        p50 = np.percentile(tm["total"], 50)
        print(
            f"| {ann['index_type']} {ann['partitions']} | {s['nprobes']} | {s['factor']} | "
            f"{s['fetch']} | {p50:.1f} | "
            f"{np.percentile(tm['total'], 95):.1f} | {np.percentile(tm['ann'], 50):.1f} | "
            f"{p50 / first:.2f} | {np.mean(rec):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
