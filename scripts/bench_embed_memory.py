#!/usr/bin/env python
"""Peak memory of ``python -m wavlink_core embed`` on many long files (a benchmark, not a test).

Writes FILES synthetic WAV files of SECONDS each (noise and a tone, 44.1 kHz stereo 16-bit by
default) to a temporary folder, then runs the CLI on all of them in a fresh process once per
checkout given with --code (default: this one), and prints each child's peak RSS (``os.wait4``),
wall time and the rows written. A checkout of older code shows the figure before a change:

    git archive main | tar -x -C /tmp/before
    python scripts/bench_embed_memory.py --code /tmp/before . [--files 10] [--seconds 590]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def write_files(folder: Path, n: int, seconds: float, rate: int, channels: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        t = np.arange(int(seconds * rate)) / rate
        tone = 0.2 * np.sin(2 * np.pi * (220 + 40 * i) * t)
        wave = tone[:, None] + 0.05 * rng.standard_normal((t.size, channels))
        path = folder / f"long{i:02d}.wav"
        sf.write(path, wave.astype(np.float32), rate, subtype="PCM_16")
        paths.append(str(path))
    return paths


def run_embed(code: Path, files: list[str], model: str, out: Path) -> tuple[float, float, int]:
    """(peak RSS MiB, wall s, rows written) of one CLI run of the checkout ``code``."""
    cmd = [sys.executable, "-m", "wavlink_core", "embed", *files, "--model", model]
    env = dict(ENV, PYTHONPATH=str(code.resolve()))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, "--out", str(out)],
        cwd=code,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{code}: embed failed ({proc.returncode}):\n{err[-2000:]}")
    return usage.ru_maxrss / 1024, wall, np.load(out).shape[0]  # ru_maxrss is in KiB on Linux


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", nargs="+", type=Path, default=[ROOT], help="checkouts to compare")
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--seconds", type=float, default=590.0)
    p.add_argument("--rate", type=int, default=44100)
    p.add_argument("--channels", type=int, default=2)
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="wavlink-bench-embed-") as tmp:
        folder = Path(tmp)
        files = write_files(folder, args.files, args.seconds, args.rate, args.channels)
        size = sum(os.path.getsize(f) for f in files) / 2**20
        print(
            f"{args.files} files x {args.seconds:g} s, {args.rate} Hz, {args.channels} ch, "
            f"16-bit WAV ({size:.0f} MiB); model {args.model}"
        )
        print(f"| code | files | peak RSS MiB (1 file) | peak RSS MiB ({args.files} files) | wall s |")
        print("|---|---|---|---|---|")
        for code in args.code:
            one = run_embed(code, files[:1], args.model, folder / "one.npy")[0]
            rss, wall, rows = run_embed(code, files, args.model, folder / "all.npy")
            print(f"| {code.resolve()} | {rows} | {one:.0f} | {rss:.0f} | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
