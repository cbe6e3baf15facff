#!/usr/bin/env python
"""Demo benchmark (not a timed test): start-up, warm click→result for a 10-s upload, peak RSS, map time
for 500 points, 20 concurrent classify requests. Default model: the `tiny` preset (real towers).

    python scripts/bench_demo.py [--model tiny] [--compare-model DIR] [--reps 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = dict(
    os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: str, compare: str) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--model", model, "--port", str(port)]
        + ["--compare-model", compare],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"app exited with {proc.returncode}") from None
            time.sleep(0.2)


def wait_idle(pid: int, limit_s: float = 120.0) -> float:
    """Wait until the server stops using CPU (the background UMAP warm-up has finished); seconds waited."""

    def cpu() -> float:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    t0, last = time.perf_counter(), cpu()
    while time.perf_counter() - t0 < limit_s:
        time.sleep(1.0)
        now = cpu()
        if now - last < 0.05:
            break
        last = now
    return time.perf_counter() - t0


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def clip(folder: Path, i: int) -> str:
    """A distinct 10-s 44.1 kHz stereo clip (distinct so no cache can answer)."""
    rng = np.random.default_rng(i)
    t = np.arange(441_000) / 44_100
    x = 0.2 * np.sin(2 * np.pi * (200 + 40 * i) * t) + 0.05 * rng.standard_normal(t.size)
    path = folder / f"clip{i}.wav"
    sf.write(path, np.stack([x, x], 1).astype(np.float32), 44_100, subtype="PCM_16")
    return str(path)


def classify(client, path, dim):
    from gradio_client import handle_file

    return client.predict(
        handle_file(path),
        "dog, rain, car horn, music, speech, engine",
        "This is a sound of {}.",
        dim,
        "softmax",
        5,
        api_name="/classify",
    )


def map_bench(model_name: str) -> dict:
    """Both maps (full size and D/8, Procrustes-aligned) for 500 points, cold fit, UMAP already compiled."""
    from demo.engine import Engine
    from wavlink_core import load_pretrained

    model = load_pretrained(model_name)
    dims = sorted(model.matryoshka_dims, reverse=True)
    rng = np.random.default_rng(0)
    out = {}
    for n, label in ((60, "compile"), (500, "500")):
        emb = rng.standard_normal((n, dims[0])).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        eng = Engine.__new__(Engine)
        eng.gallery_emb, eng.full, eng.dims, eng._maps, eng._map_lock = (
            emb,
            dims[0],
            tuple(dims),
            {},
            threading.Lock(),
        )
        for method in ("PCA", "UMAP", "t-SNE"):
            t0 = time.perf_counter()
            eng.layout(method, dims[0], emb[:5])
            eng.layout(method, dims[-1], emb[:5])
            out[f"{method} {label}"] = time.perf_counter() - t0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument(
        "--compare-model", default="none", help="app.py's second model for the Explore switch"
    )
    args = ap.parse_args()
    from gradio_client import Client

    from wavlink_core import PRESETS
    from wavlink_core.checkpoint import read_config

    if args.model in PRESETS:
        trained = PRESETS[args.model].matryoshka_dims
    else:  # a checkpoint folder: its sizes, without building the model in this process
        trained = read_config(Path(args.model))["model"]["matryoshka_dims"]
    dims = sorted(trained, reverse=True)
    tmp = Path(tempfile.mkdtemp())
    results = {}
    ENV["WAVLINK_CACHE"] = str(tmp / "cache")  # a fresh cache: the first start embeds the gallery
    proc, url, results["start-up s (first, gallery embedded)"] = start(
        args.model, args.compare_model
    )
    proc.terminate()
    proc.wait()
    proc, url, results["start-up s (cache warm)"] = start(args.model, args.compare_model)
    try:
        results["background UMAP warm-up finished after s"] = (
            wait_idle(proc.pid) + results["start-up s (cache warm)"]
        )
        client = Client(url, verbose=False, analytics_enabled=False)
        classify(client, clip(tmp, 999), dims[0])  # warm-up
        lat = []
        for i in range(args.reps):
            p = clip(tmp, i)
            t0 = time.perf_counter()
            classify(client, p, dims[0])
            lat.append(time.perf_counter() - t0)
        results["click→result 10-s upload, median ms"] = 1000 * statistics.median(lat)
        results["click→result 10-s upload, min/max ms"] = (1000 * min(lat), 1000 * max(lat))

        paths = [clip(tmp, 100 + i) for i in range(20)]
        clients = [Client(url, verbose=False, analytics_enabled=False) for _ in range(20)]
        times, errors = [None] * 20, []

        def one(i):
            try:
                t0 = time.perf_counter()
                classify(clients[i], paths[i], dims[0])
                times[i] = time.perf_counter() - t0
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        ok = [t for t in times if t is not None]
        results["20 concurrent: succeeded"] = f"{len(ok)}/20 in {time.perf_counter() - t0:.1f} s"
        results["20 concurrent: p50 / p95 s"] = (
            statistics.median(ok),
            float(np.percentile(ok, 95)),
        )
        if errors:
            results["20 concurrent: errors"] = errors[:3]
        results["peak RSS MB (server)"] = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    results.update({f"map s, {k}": v for k, v in map_bench(args.model).items()})
    for k, v in results.items():
        v = (
            tuple(round(x, 3) for x in v)
            if isinstance(v, tuple)
            else round(v, 3)
            if isinstance(v, float)
            else v
        )
        print(f"{k:45s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
