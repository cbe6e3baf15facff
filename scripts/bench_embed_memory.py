#!/usr/bin/env python
"""Peak memory of ``python -m wavlink_core embed`` on many long files (a benchmark, not a test).

Writes FILES synthetic WAV files of SECONDS each (noise and a tone, 44.1 kHz stereo 16-bit by
default) to a temporary folder, then runs the CLI on all of them in a fresh process once per
checkout given with --code (default: this one), and prints each child's peak RSS, wall time and
the rows written. The peak is the child's own ``VmHWM`` read at its exit: ``ru_maxrss`` from
``wait4`` is not, since Linux carries the parent's peak into it across fork and exec. A checkout
of older code shows the figure before a change:

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
# Runs the CLI as `python -m wavlink_core` would and writes its peak RSS (KiB) to argv[1] at exit.
CHILD = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def write_peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak_file, "w") as out:
        out.write(kib)
atexit.register(write_peak)
runpy.run_module("wavlink_core", run_name="__main__", alter_sys=True)
"""


def write_files(folder: Path, n: int, seconds: float, rate: int, channels: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"long{i:02d}.wav"
        with sf.SoundFile(path, "w", rate, channels, subtype="PCM_16") as out:
            for start in range(0, int(seconds * rate), 10 * rate):  # 10-s blocks: small parent
                t = np.arange(start, min(start + 10 * rate, int(seconds * rate))) / rate
                tone = 0.2 * np.sin(2 * np.pi * (220 + 40 * i) * t)
                out.write(tone[:, None] + 0.05 * rng.standard_normal((t.size, channels)))
        paths.append(str(path))
    return paths


def run_embed(code: Path, files: list[str], model: str, out: Path) -> tuple[float, float, int]:
    """(peak RSS MiB, wall s, rows written) of one CLI run of the checkout ``code``."""
    peak = out.with_suffix(".peak")
    cmd = [sys.executable, "-c", CHILD, str(peak), "embed", *files, "--model", model]
    env = dict(ENV, PYTHONPATH=str(code.resolve()))
    t0 = time.perf_counter()
    run = subprocess.run([*cmd, "--out", str(out)], cwd=code, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        err = run.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{code}: embed failed ({run.returncode}):\n{err}")
    return int(peak.read_text()) / 1024, wall, np.load(out).shape[0]


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
