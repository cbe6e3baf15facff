"""Which embedded vector database should hold the sound library? Measure, on this machine.

For each candidate (LanceDB, sqlite-vec through apsw) it builds a table of N full-size vectors with
a path column, in batches of 1,000 with one commit per batch (as the indexer writes), then reports:
build time, exact top-10 query latency (p50/p95), disk size, the time to add and to delete 1,000
rows, and the latency two reader processes see while a writer adds 20,000 more rows.

Vectors: synthetic, drawn to match the real embeddings given by ``--real`` (see
scripts/library_bench_data.py); queries are real embeddings.

    pip install lancedb==0.40.0          # the peer; not a dependency of the project
    python scripts/library_bench_data.py --out /tmp/real_emb.npy
    python scripts/bench_library_db.py --real /tmp/real_emb.npy --n 100000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from library_bench_data import synthetic_like  # noqa: E402

BATCH = 1000


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _pct(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


class Lance:
    name = "LanceDB 0.40.0 (flat)"

    def __init__(self, path: Path, dim: int):
        import lancedb
        import pyarrow as pa

        self.pa, self.dim = pa, dim
        self.db = lancedb.connect(str(path))
        self.schema = pa.schema(
            [("id", pa.int64()), ("path", pa.string()), ("vector", pa.list_(pa.float32(), dim))]
        )
        self.table = self.db.create_table("t", schema=self.schema)

    @classmethod
    def open(cls, path: Path):
        import lancedb

        self = cls.__new__(cls)
        self.table = lancedb.connect(str(path)).open_table("t")
        return self

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        pa = self.pa
        vec = pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), self.dim)
        paths = pa.array([f"/sounds/{i:07d}.wav" for i in ids])
        self.table.add(pa.Table.from_arrays([pa.array(ids), paths, vec], schema=self.schema))

    def delete(self, ids: np.ndarray) -> None:
        self.table.delete(f"id >= {ids.min()} AND id <= {ids.max()}")

    def query(self, q: np.ndarray, k: int = 10) -> list[int]:
        res = (
            self.table.search(q)
            .distance_type("cosine")
            .limit(k)
            .select(["id", "_distance"])
            .to_arrow()
        )
        return res["id"].to_pylist()


class LanceIvfPq(Lance):
    name = "LanceDB 0.40.0 (IVF_PQ index)"

    def finish(self, n: int) -> None:
        self.table.create_index(
            metric="cosine", num_partitions=max(1, int(np.sqrt(n))), num_sub_vectors=32
        )

    def query(self, q: np.ndarray, k: int = 10) -> list[int]:
        res = (
            self.table.search(q)
            .distance_type("cosine")
            .nprobes(20)
            .refine_factor(5)
            .limit(k)
            .select(["id", "_distance"])
            .to_arrow()
        )
        return res["id"].to_pylist()


class SqliteVec:
    name = "sqlite-vec 0.1.9 (vec0, apsw)"

    def __init__(self, path: Path, dim: int):
        self.path = path / "db.sqlite"
        path.mkdir(parents=True, exist_ok=True)
        self.con = self._connect(self.path)
        self.con.execute("pragma journal_mode=wal")
        self.con.execute(
            f"create virtual table v using vec0(id integer primary key, "
            f"vector float[{dim}] distance_metric=cosine, path text)"
        )

    @staticmethod
    def _connect(path: Path):
        import apsw
        import sqlite_vec

        con = apsw.Connection(str(path))
        con.enable_load_extension(True)
        con.load_extension(sqlite_vec.loadable_path())
        con.enable_load_extension(False)
        con.set_busy_timeout(30_000)
        return con

    @classmethod
    def open(cls, path: Path):
        self = cls.__new__(cls)
        self.con = cls._connect(path / "db.sqlite")
        return self

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        with self.con:  # one transaction per batch
            self.con.executemany(
                "insert into v(id, vector, path) values (?, ?, ?)",
                [(int(i), v.tobytes(), f"/sounds/{i:07d}.wav") for i, v in zip(ids, vecs)],
            )

    def delete(self, ids: np.ndarray) -> None:
        with self.con:
            self.con.execute(
                "delete from v where id between ? and ?", (int(ids.min()), int(ids.max()))
            )

    def query(self, q: np.ndarray, k: int = 10) -> list[int]:
        rows = self.con.execute(
            "select id from v where vector match ? and k = ? order by distance", (q.tobytes(), k)
        )
        return [r[0] for r in rows]


def _reader(kind: str, path: str, queries: np.ndarray, stop, out) -> None:
    store = CANDIDATES[kind].open(Path(path))
    store.query(queries[0])
    out.put("ready")
    times, errors, i = [], 0, 0
    while not stop.is_set():
        t = time.perf_counter()
        try:
            store.query(queries[i % len(queries)])
            times.append(time.perf_counter() - t)
        except Exception:  # counted: a reader failing while a writer commits is what we look for
            errors += 1
        i += 1
    out.put((times, errors))


def bench(kind: str, base: np.ndarray, extra: np.ndarray, queries: np.ndarray, work: Path) -> dict:
    path = work / kind
    cls = CANDIDATES[kind]
    store = cls(path, base.shape[1])
    t = time.perf_counter()
    for start in range(0, len(base), BATCH):
        store.add(np.arange(start, start + BATCH), base[start : start + BATCH])
    if hasattr(store, "finish"):
        store.finish(len(base))
    build = time.perf_counter() - t
    exact = base @ queries.T
    truth = [set(np.argsort(-exact[:, j])[:10]) for j in range(len(queries))]
    times, recall = [], []
    for j, q in enumerate(queries):
        t = time.perf_counter()
        got = store.query(q)
        times.append(time.perf_counter() - t)
        recall.append(len(truth[j] & set(got)) / 10)
    disk = _dir_bytes(path)
    n = len(base)
    t = time.perf_counter()
    store.add(np.arange(n, n + BATCH), extra[:BATCH])
    add_s = time.perf_counter() - t
    t = time.perf_counter()
    store.delete(np.arange(n, n + BATCH))
    del_s = time.perf_counter() - t
    # Two readers in their own processes query while this process writes 20 batches.
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    readers = [
        ctx.Process(target=_reader, args=(kind, str(path), queries, stop, out)) for _ in range(2)
    ]
    for r in readers:
        r.start()
    for _ in readers:  # each has opened the store and answered one query
        out.get()
    t = time.perf_counter()
    for b in range(20):
        lo = n + BATCH * (b + 1)
        store.add(np.arange(lo, lo + BATCH), extra[(b % 4) * BATCH : (b % 4 + 1) * BATCH])
    write_s = time.perf_counter() - t
    stop.set()
    results = [out.get() for _ in readers]
    for r in readers:
        r.join()
    rt = [x for times_, _ in results for x in times_]
    return {
        "name": cls.name,
        "build_s": build,
        "p50": _pct(times)[0],
        "p95": _pct(times)[1],
        "recall": float(np.mean(recall)),
        "disk_mb": disk / 2**20,
        "add_s": add_s,
        "del_s": del_s,
        "write_s": write_s,
        "reader_p50": _pct(rt)[0] if rt else float("nan"),
        "reader_n": len(rt),
        "reader_err": sum(e for _, e in results),
    }


CANDIDATES = {"lancedb": Lance, "lancedb-ivfpq": LanceIvfPq, "sqlite-vec": SqliteVec}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--real", type=Path, required=True, help="real full-size embeddings (.npy)")
    p.add_argument("--n", type=int, default=100_000, help="vectors in the table")
    p.add_argument("--only", nargs="*", default=list(CANDIDATES), choices=list(CANDIDATES))
    args = p.parse_args()
    real = np.load(args.real)
    base = synthetic_like(real, args.n, seed=0)
    extra = synthetic_like(real, 4 * BATCH, seed=1)
    queries = real[:: max(1, len(real) // 50)][:50]
    print(
        f"{args.n} synthetic vectors of size {real.shape[1]} (fitted to {len(real)} real ones), "
        f"{len(queries)} real queries, batches of {BATCH}"
    )
    print(
        "| database | build | query p50 / p95 | recall@10 | disk | add 1k | delete 1k | "
        "2 readers during 20k writes: p50, queries, errors | writes meanwhile |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench_db_") as tmp:
        for kind in args.only:
            r = bench(kind, base, extra, queries, Path(tmp))
            print(
                f"| {r['name']} | {r['build_s']:.1f} s | {r['p50']:.1f} / {r['p95']:.1f} ms | "
                f"{r['recall']:.3f} | {r['disk_mb']:.0f} MB | {r['add_s'] * 1000:.0f} ms | "
                f"{r['del_s'] * 1000:.0f} ms | {r['reader_p50']:.1f} ms, {r['reader_n']}, "
                f"{r['reader_err']} | {r['write_s']:.1f} s |",
                flush=True,
            )
            shutil.rmtree(Path(tmp) / kind, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
