"""Query latency and recall of the library's search at 10k / 100k / 1M vectors, per size and
quantisation: the sqlite-vec shortlist at a small Matryoshka size, re-ranked at full size; with
``--store lance``, the LanceDB store: flat scans per size, then its ANN index (IVF on a
Matryoshka prefix) per size, share of partitions probed and shortlist factor.

The library vectors are synthetic, drawn to match the real embeddings given by ``--real`` (see
scripts/library_bench_data.py); the queries are real: clip embeddings from ``--real`` and text
embeddings of the prompts below, both from the shipped model. Recall@10 is against exact full-size
search over the same vectors.

    python scripts/library_bench_data.py --out /tmp/real_emb.npy
    python scripts/bench_library_query.py --real /tmp/real_emb.npy --n 10000 100000 1000000
    python scripts/bench_library_query.py --real /tmp/real_emb.npy --store lance --n 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from library_bench_data import synthetic_like  # noqa: E402

from wavlink_core.library.lance_ann import build_ann  # noqa: E402
from wavlink_core.library.lance_store import LanceStore  # noqa: E402
from wavlink_core.library.search import search_vector  # noqa: E402
from wavlink_core.library.store import IndexedFile, Store  # noqa: E402

PROMPTS = [
    "a dog barking",
    "rain on a roof",
    "a door creaks open",
    "a car horn",
    "birds singing",
    "a baby crying",
    "footsteps on gravel",
    "a clock ticking",
    "someone knocking on a door",
    "a chainsaw",
    "church bells",
    "a helicopter flying over",
    "waves crashing",
    "a cat meowing",
    "glass breaking",
    "an engine idling",
    "applause",
    "thunder",
    "a siren",
    "a man speaking",
]
K, FACTOR, QUERIES = 10, 10, 60


def build(
    path: Path, vectors: np.ndarray, quantization: str, dims: list[int], kind=Store
) -> tuple[Store, float]:
    store = kind.create(
        path,
        {
            "embed_dim": vectors.shape[1],
            "dims": dims,
            "config": {"shortlist_quantization": quantization},
            "model": {"name": "synthetic", "fingerprint": "bench"},
        },
    )
    t = time.perf_counter()
    step = 5000 if kind is Store else 50_000  # LanceDB: one version per batch, keep them few
    for start in range(0, len(vectors), step):
        block = vectors[start : start + step]
        store.write_batch(
            [
                IndexedFile(f"/s/{start + i:07d}.wav", 1, 1, "", 1.0, [(0.0, 1.0)], v[None])
                for i, v in enumerate(block)
            ],
            [],
        )
    return store, time.perf_counter() - t


def measure(store, queries, truth, dim: int, factor: int) -> tuple[float, float, float]:
    """p50 ms, p95 ms and mean recall@K of ``search_vector`` (shortlist + full-size re-rank)."""
    times, recall = [], []
    for q, t in zip(queries, truth):
        start = time.perf_counter()
        hits = search_vector(store, q, K, dim, factor)
        times.append(time.perf_counter() - start)
        got = {int(h.path[3:10]) for h in hits}
        recall.append(len(got & set(t)) / K)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(np.mean(recall))


def open_or_build(
    keep: Path | None, tmp: Path, n: int, vectors: np.ndarray, dims: list[int]
) -> tuple[LanceStore, float]:
    """The LanceDB library of these ``n`` vectors, compacted: reopened from ``keep/n{n}.lance``
    when an earlier run kept it there (build time 0), else built (into ``keep`` or ``tmp``)."""
    path = (keep or tmp) / f"n{n}.lance"
    if keep and path.exists():
        store = LanceStore(path)
        if store.rows_t.count_rows() != n:
            raise SystemExit(f"{path}: {store.rows_t.count_rows()} rows, not {n}; delete it")
        return store, 0.0
    store, build_s = build(path, vectors, "float32", dims, LanceStore)
    store.rows_t.optimize()  # compaction, as `library optimize` does before indexing
    return store, build_s


def bench_lance(args, n: int, vectors, queries, truth, dims: list[int]) -> None:
    """Flat scans at every size, then the ANN index at each ``--ann-dims`` size, per share of
    partitions probed and shortlist factor (rows: one per setting)."""
    with tempfile.TemporaryDirectory(prefix="bench_lance_", dir=args.tmp) as tmp:
        store, build_s = open_or_build(args.keep, Path(tmp), n, vectors, dims)
        per_vector = store.disk_bytes() / n
        for dim in [] if args.skip_flat else dims:
            p50, p95, rec = measure(store, queries, truth, dim, FACTOR)
            label = "exact float32" if dim == dims[0] else "flat float32"
            print(
                f"| {n:,} | LanceDB | {label} | {dim} | {4 * dim} | {FACTOR} | {p50:.1f} | "
                f"{p95:.1f} | {rec:.3f} | {per_vector:.0f} | {build_s:.0f} |",
                flush=True,
            )
        for dim, index_type in [(d, t) for d in args.ann_dims for t in args.index_types]:
            t = time.perf_counter()
            settings = store.ann()
            if not settings or (settings["dim"], settings["index_type"]) != (dim, index_type):
                settings = build_ann(
                    store, dim, args.probe_fractions[0], args.factors[0], index_type=index_type
                )
            index_s = time.perf_counter() - t  # ~0 when the kept library's index is reused
            code_bytes = {"IVF_SQ": dim, "IVF_FLAT": 4 * dim}.get(index_type, "-")  # per row
            per_vector = store.disk_bytes() / n
            for fraction in args.probe_fractions:
                nprobes = max(1, round(fraction * settings["partitions"]))
                store.meta["ann"] = {**settings, "nprobes": nprobes}
                for factor in args.factors:
                    p50, p95, rec = measure(store, queries, truth, dim, factor)
                    search = f"{index_type} {nprobes}/{settings['partitions']}"
                    print(
                        f"| {n:,} | LanceDB | {search} | {dim} | {code_bytes} | {factor} | "
                        f"{p50:.1f} | {p95:.1f} | {rec:.3f} | {per_vector:.0f} | "
                        f"{build_s:.0f} + {index_s:.0f} |",
                        flush=True,
                    )
        store.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--real", type=Path, required=True, help="real full-size embeddings (.npy)")
    p.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--quantization", nargs="+", default=["int8", "binary", "float32"])
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    p.add_argument("--store", choices=["sqlite", "lance"], default="sqlite")
    p.add_argument("--ann-dims", type=int, nargs="+", default=[128], help="lance: indexed sizes")
    p.add_argument(
        "--index-types",
        nargs="+",
        default=["IVF_SQ"],
        choices=["IVF_FLAT", "IVF_SQ", "IVF_PQ", "IVF_HNSW_SQ"],
        help="lance: ANN index kinds",
    )
    p.add_argument(
        "--probe-fractions",
        type=float,
        nargs="+",
        default=[0.08, 0.16],
        help="lance: share of IVF partitions probed",
    )
    p.add_argument(
        "--factors", type=int, nargs="+", default=[10, 30], help="lance: shortlist = k * factor"
    )
    p.add_argument("--tmp", default=None, help="folder for the temporary databases")
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="lance: keep each library (and its last ANN index) in KEEP/n{N}.lance and reuse it "
        "in later runs instead of writing the N rows again",
    )
    p.add_argument("--skip-flat", action="store_true", help="lance: no flat-scan rows")
    args = p.parse_args()
    from wavlink_core import embed_text, load_pretrained

    real = np.load(args.real)
    model = load_pretrained(args.model)
    dims = sorted(model.matryoshka_dims, reverse=True)
    texts = embed_text(model, PROMPTS)
    clips = real[:: max(1, len(real) // (QUERIES - len(texts)))][: QUERIES - len(texts)]
    queries = np.concatenate([texts, clips])
    print(
        f"{len(queries)} real queries ({len(texts)} texts, {len(clips)} clips); synthetic library "
        f"vectors fitted to {len(real)} real ones; k={K}, shortlist {FACTOR}k, re-rank at {dims[0]}"
    )
    if args.store == "lance":
        print(
            "| vectors | store | search | size | shortlist bytes | factor | p50 ms | p95 ms | "
            "recall@10 | disk bytes/vector | build s (+ index s) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
    else:
        print(
            "| vectors | quantisation | size | shortlist bytes | p50 ms | p95 ms | recall@10 | disk bytes/vector | build s |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        vectors = synthetic_like(real, n, seed=n)
        exact = queries @ vectors.T
        truth = np.argsort(-exact, axis=1)[:, :K]
        if args.store == "lance":
            bench_lance(args, n, vectors, queries, truth, dims)
            continue
        for quant in args.quantization:
            with tempfile.TemporaryDirectory(prefix="bench_q_") as tmp:
                store, build_s = build(Path(tmp) / "lib.db", vectors, quant, dims)
                per_vector = store.disk_bytes() / n
                for dim in dims if quant == "int8" else dims[1:]:
                    if dim == dims[0] and quant != "int8":
                        continue
                    p50, p95, rec = measure(store, queries, truth, dim, FACTOR)
                    label = "exact float32" if dim == dims[0] else quant
                    short = {"float32": 4 * dim, "int8": dim, "binary": dim // 8}[
                        "float32" if dim == dims[0] else quant
                    ]
                    print(
                        f"| {n:,} | {label} | {dim} | {short} | {p50:.1f} | "
                        f"{p95:.1f} | {rec:.3f} | {per_vector:.0f} | "
                        f"{build_s:.0f} |",
                        flush=True,
                    )
                store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
