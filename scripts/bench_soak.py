#!/usr/bin/env python
"""Soak benchmark (not a timed test): the demo under a long run of mixed requests.

Launches the app on 127.0.0.1 with the trained model (and the Whisper-AuT model for the Explore
switch, as ``app.py`` does), sends mixed requests through gradio_client from a few client threads
(classify, match, Explore maps/add/export, sizes, search, bad files, hostile templates), samples the
server's RSS, Gradio's cache folder and the export folders every few seconds, prints them, and
stops by itself after ``--requests`` requests or ``--minutes``, whichever comes first. It also times
one Classify request with the largest allowed number of new labels (``demo.engine.MAX_TEXTS``).

    python scripts/bench_soak.py [--requests 1000] [--minutes 14] [--workers 3]
        [--delete-cache 60 180]    # Gradio cache cleaning: every 60 s, files older than 180 s
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
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
HOSTILE_TEMPLATES = ["{0:>50000000}", "{0.__class__.__mro__}", "{} {}", "{}{x}"]
# (kind, weight): the mix of requests
MIX = [
    ("classify", 30),
    ("match", 12),
    ("sizes", 10),
    ("search", 6),
    ("explore_map", 8),
    ("explore_add", 6),
    ("export", 4),
    ("bad_file", 14),
    ("hostile_template", 10),
]


def serve(args: argparse.Namespace) -> None:
    """The app as ``app.py`` builds it, with the soak's cache-cleaning setting."""
    import torch

    from demo import LAUNCH_KWARGS, build_demo
    from wavlink_core import load_pretrained
    from wavlink_core.cli import default_compare_model

    torch.set_num_threads(1)  # as app.py: one thread per request, two requests at once
    aut = default_compare_model()
    demo = build_demo(
        load_pretrained(args.model),
        model_dir=args.model,
        compare_model=load_pretrained(aut) if aut else None,
        delete_cache=tuple(args.delete_cache),
    )
    demo.launch(
        server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, **LAUNCH_KWARGS
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    demo.close()
    demo.downloads.close()


def start(args: argparse.Namespace, env: dict) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, __file__, "--serve", "--port", str(port), "--model", args.model]
    cmd += ["--delete-cache", *map(str, args.delete_cache)]
    log = open(args.log, "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"app exited with {proc.returncode}; see {args.log}") from None
            time.sleep(0.5)


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_size(path: Path) -> tuple[float, int]:
    """(MB, files) under ``path``."""
    total, files = 0, 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
                files += 1
            except FileNotFoundError:
                pass
    return total / 1e6, files


class Clips:
    """Distinct short clips (no cache can answer them) and the bad files."""

    def __init__(self, folder: Path):
        self.folder, self.n, self.lock = folder, 0, threading.Lock()
        sf.write(folder / "silent.wav", np.zeros(16_000, np.float32), 16_000)
        (folder / "notes.wav").write_text("not audio at all")
        (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
        self.bad = [str(folder / n) for n in ("silent.wav", "notes.wav", "corrupt.wav")]
        self.keep = self.new()  # one clip that stays, for the label-limit and template requests

    def new(self) -> str:
        with self.lock:
            self.n += 1
            i = self.n
        rng = np.random.default_rng(i)
        rate = int(rng.choice([16_000, 22_050, 44_100]))
        t = np.arange(int(rate * rng.uniform(1.0, 4.0))) / rate
        x = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.standard_normal(t.size)
        path = self.folder / f"clip{i}.wav"
        sf.write(path, x.astype(np.float32), rate, subtype="PCM_16")
        return str(path)


def request(client, kind: str, clips: Clips, dims: list[int], rng: random.Random):
    """One request of ``kind``; returns True when the app answered as it should (bad input: refused)."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    labels = "dog, rain, car horn, music, speech, engine, siren, birds"
    dim = rng.choice(dims)
    if kind == "classify":
        path = clips.new()
        client.predict(
            handle_file(path), labels, "This is a sound of {}.", dim, "softmax", 5, api_name="/classify"
        )
        os.remove(path)
    elif kind == "match":
        paths = [clips.new() for _ in range(3)]
        files = [handle_file(p) for p in paths] + [handle_file(rng.choice(clips.bad))]
        out = client.predict(files, "a dog barking\nrain falling\na siren", dim, api_name="/match")
        for p in paths:
            os.remove(p)
        return len(out[1]["data"]) == 3 and "Skipped 1 of 4" in out[3]
    elif kind == "sizes":
        path = clips.new()
        client.predict(handle_file(path), labels, "a {}", api_name="/rank_sizes")
        os.remove(path)
    elif kind == "search":
        client.predict(rng.choice(["a cow", "rain on a roof", "a bell"]), 5, dim, api_name="/search")
    elif kind == "explore_map":
        method = rng.choice(["PCA", "PCA", "UMAP", "t-SNE"])
        client.predict(method, dims[-1], rng.choice(["label", "category"]), api_name="/explore_map")
    elif kind == "explore_add":
        path = clips.new()
        client.predict([handle_file(path)], f"caption {rng.random():.6f}", api_name="/explore_add")
        os.remove(path)
    elif kind == "export":
        client.predict(dims[-1], api_name="/export")
    elif kind == "bad_file":
        try:
            client.predict(
                handle_file(rng.choice(clips.bad)), labels, "a {}", dim, "softmax", 5, api_name="/classify"
            )
        except AppError:
            return True
        return False
    elif kind == "hostile_template":
        try:
            client.predict(
                handle_file(clips.keep),
                "dog",
                rng.choice(HOSTILE_TEMPLATES),
                dim,
                "softmax",
                5,
                api_name="/classify",
            )
        except AppError as e:
            return "template" in str(e)
        return False
    return True


def label_limit(client, clips: Clips, dim: int) -> dict:
    """Seconds for one Classify with MAX_TEXTS new labels, and the refusal of one more."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from demo.engine import MAX_TEXTS

    tag = f"{time.time():.0f}"
    labels = ", ".join(f"sound number {i} {tag}" for i in range(MAX_TEXTS))
    t0 = time.perf_counter()
    client.predict(handle_file(clips.keep), labels, "a {}", dim, "softmax", 5, api_name="/classify")
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        client.predict(
            handle_file(clips.keep), labels + ", one more", "a {}", dim, "softmax", 5, api_name="/classify"
        )
        refused = "NOT refused"
    except AppError as e:
        refused = f"refused in {time.perf_counter() - t0:.2f} s: {str(e)[:70]}…"
    return {f"classify with {MAX_TEXTS:,} new labels, s": round(took, 2), "one more label": refused}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=14.0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--sample-s", type=float, default=15.0)
    ap.add_argument("--delete-cache", type=int, nargs=2, default=[60, 180], metavar=("EVERY", "AGE"))
    ap.add_argument("--log", default=os.path.join(tempfile.gettempdir(), "wavlink-soak-server.log"))
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args)
        return 0

    from gradio_client import Client

    from wavlink_core.checkpoint import read_config

    dims = sorted(read_config(Path(args.model))["model"]["matryoshka_dims"], reverse=True)
    work = Path(tempfile.mkdtemp(prefix="wavlink-soak-"))
    gradio_tmp, server_tmp = work / "gradio", work / "tmp"
    server_tmp.mkdir()
    env = dict(ENV, GRADIO_TEMP_DIR=str(gradio_tmp), TMPDIR=str(server_tmp))
    clips = Clips(work)
    t_start = time.perf_counter()
    proc, url = start(args, env)
    print(f"app up in {time.perf_counter() - t_start:.1f} s at {url}; pid {proc.pid}", flush=True)
    samples, stop = [], threading.Event()
    done = collections.Counter()
    wrong, lat = collections.Counter(), collections.defaultdict(list)
    lock = threading.Lock()

    def sample():
        while True:
            mb, files = folder_size(gradio_tmp)
            exports = [p for p in server_tmp.glob("wavlink-export-*")]
            export_mb = sum(folder_size(p)[0] for p in exports)
            row = (
                time.perf_counter() - t0,
                sum(done.values()),
                rss_mb(proc.pid),
                mb,
                files,
                len(exports),
                export_mb,
                os.getloadavg()[0],
            )
            samples.append(row)
            print(
                "t={:6.0f} s  requests={:5d}  rss={:7.1f} MB  gradio cache={:6.1f} MB / {:5d} files  "
                "export folders={} ({:.1f} MB)  load={:.2f}".format(*row),
                flush=True,
            )
            if stop.wait(args.sample_s):
                return

    def worker(seed: int):
        rng = random.Random(seed)
        kinds, weights = zip(*MIX)
        client, used = None, 0
        while not stop.is_set():
            with lock:
                if sum(done.values()) + sum(wrong.values()) >= args.requests:
                    return
            if client is None or used >= 40:  # a new session now and then, as new visitors
                client, used = Client(url, verbose=False, analytics_enabled=False), 0
            kind = rng.choices(kinds, weights)[0]
            t = time.perf_counter()
            try:
                ok = request(client, kind, clips, dims, rng)
            except Exception as e:  # noqa: BLE001 - counted and shown, the soak goes on
                ok = False
                print(f"  {kind} failed: {type(e).__name__}: {str(e)[:150]}", flush=True)
            used += 1
            with lock:
                lat[kind].append(time.perf_counter() - t)
                (done if ok else wrong)[kind] += 1

    try:
        first = Client(url, verbose=False, analytics_enabled=False)
        limit = label_limit(first, clips, dims[0])
        print(limit, flush=True)
        t0 = time.perf_counter()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.workers)]
        for th in threads:
            th.start()
        deadline = t0 + 60 * args.minutes
        while any(th.is_alive() for th in threads) and time.perf_counter() < deadline:
            time.sleep(1)
        stop.set()
        for th in threads:
            th.join()
        sampler.join()
        elapsed = time.perf_counter() - t0
        rss_end = rss_mb(proc.pid)
    finally:
        proc.terminate()  # the server closes the app, which removes its export folder
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    total = sum(done.values()) + sum(wrong.values())
    print(f"\n{total} requests in {elapsed:.0f} s with {args.workers} clients; "
          f"cache cleaning {tuple(args.delete_cache)}; {os.cpu_count()} CPUs")
    print("| request | answered as expected | wrong | p50 s | p95 s |\n|---|---:|---:|---:|---:|")
    for kind, _ in MIX:
        xs = lat[kind]
        if xs:
            p95 = float(np.percentile(xs, 95))
            print(f"| {kind} | {done[kind]} | {wrong[kind]} | {statistics.median(xs):.2f} | {p95:.2f} |")
    rss = [s[2] for s in samples]
    third = max(1, len(rss) // 3)
    print(f"RSS MB: first sample {rss[0]:.0f}, max {max(rss):.0f}, end {rss_end:.0f}; "
          f"mean of the middle third {statistics.mean(rss[third:2 * third] or rss):.0f}, "
          f"of the last third {statistics.mean(rss[-third:]):.0f}")
    cache = [s[3] for s in samples]
    print(f"Gradio cache MB: max {max(cache):.1f}, end {cache[-1]:.1f}; files max "
          f"{max(s[4] for s in samples)}, end {samples[-1][4]}")
    print(f"export folders at the end: {samples[-1][5]}; after the server stopped: "
          f"{len(list(server_tmp.glob('wavlink-export-*')))}")
    print(f"load average during the run: {min(s[7] for s in samples):.2f}–{max(s[7] for s in samples):.2f}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if not sum(wrong.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
