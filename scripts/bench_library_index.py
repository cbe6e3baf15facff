"""Indexing throughput (x real time) per runtime, where the time goes, and peak memory at 10k files.

Throughput (default): >= 1,000 real recordings, linked (not copied) into a temporary folder in
chunks: every clip of assets/gallery, ESC-10, the US8K subset and Clotho in ../shared/data, plus
the first ``--fsdd`` spoken digits. They are only indexed (timed), never used to train or to choose
anything. Each chunk is indexed by every runtime in turn (into one library per runtime), the
order alternating from chunk to chunk, so load from other processes hits both alike; compare the
ratio, not absolute figures, on a busy machine. Time split: decode (load_audio: read, mix,
resample), features (log-mel, timed by wrapping ``batch_log_mel``), encoder (the rest of
``embed_audio``), writes (hashing + the database transaction). The runtimes' whole-file vectors
are compared at the end (cosine against the first runtime, min and mean over every file).

Memory (``--rss N``): N short files (``--seconds``, default 2) cut from real clips (written with
soundfile to a temporary folder) are indexed into one library in growing steps (1k, 2.5k, 5k,
10k files when N = 10,000); after each step the step's peak RSS (VmHWM, reset before the step)
and the current RSS are printed: flat peaks mean memory does not grow with the library.

    python scripts/bench_library_index.py --data ../shared/data --runtimes torch torch-bf16 onnx
    python scripts/bench_library_index.py --data ../shared/data --rss 10000 --runtimes onnx
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = (".wav", ".ogg", ".flac", ".mp3")
STAGES = ("decode", "features", "encoder", "writes")


def collect(data: Path, fsdd: int) -> list[Path]:
    files = sorted((ROOT / "assets" / "gallery").glob("*.ogg"))
    for name in ("esc10", "us8k_subset", "clotho7"):
        files += sorted(p for p in (data / name).rglob("*") if p.suffix in AUDIO)
    files += sorted(p for p in (data / "fsdd").rglob("*") if p.suffix in AUDIO)[:fsdd]
    return files


def reset_peak_rss() -> None:
    """Start VmHWM afresh (Linux >= 4.0), so each step's peak is its own, not the model load's."""
    Path("/proc/self/clear_refs").write_text("5")


def proc_status_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmHWM: peak RSS so far, VmRSS: now) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


class FeatureTimer:
    """Times ``inference.batch_log_mel`` (the benchmark only: splits features from the encoder)."""

    def __init__(self) -> None:
        from wavlink_core import inference

        self.seconds = 0.0
        original = inference.batch_log_mel

        def timed(*a, **kw):
            t = time.perf_counter()
            out = original(*a, **kw)
            self.seconds += time.perf_counter() - t
            return out

        inference.batch_log_mel = timed


def throughput(args: argparse.Namespace, model) -> None:
    import torch

    from wavlink_core import embed_audio
    from wavlink_core.library import Library
    from wavlink_core.runtime import audio_encoder

    timer = FeatureTimer()
    files = collect(args.data, args.fsdd)
    keys = (*STAGES, "wall", "audio", "added", "bad")
    totals = {r: dict.fromkeys(keys, 0.0) for r in args.runtimes}
    with tempfile.TemporaryDirectory(prefix="bench_index_") as tmp:
        libs = {r: Library(Path(tmp) / f"{r}.db", model) for r in args.runtimes}
        # Export, session start and first-call set-up (mel filters, kernels) are one-off costs,
        # paid before the clock starts.
        warm = [np.zeros(16000, np.float32) + 0.1 * np.sin(np.arange(16000, dtype=np.float32))]
        for r in args.runtimes:
            embed_audio(model, warm, sampling_rate=16000, encoder=audio_encoder(model, r))
        chunks = [files[i : i + args.chunk] for i in range(0, len(files), args.chunk)]
        for c, chunk in enumerate(chunks):
            folder = Path(tmp) / "sounds" / f"chunk{c:03d}"
            folder.mkdir(parents=True)
            for i, f in enumerate(chunk):
                os.symlink(f.resolve(), folder / f"{i:05d}_{f.name}")
            order = args.runtimes if c % 2 == 0 else args.runtimes[::-1]
            for r in order:
                timer.seconds = 0.0
                rep = libs[r].add([folder], runtime=r)
                t = totals[r]
                t["decode"] += rep.decode_s
                t["features"] += timer.seconds
                t["encoder"] += rep.embed_s - timer.seconds
                t["writes"] += rep.write_s
                t["wall"] += rep.wall_s
                t["audio"] += rep.audio_seconds
                t["added"] += rep.added
                t["bad"] += len(rep.bad)
            rates = (f"{r} {totals[r]['audio'] / totals[r]['wall']:.1f}x" for r in args.runtimes)
            print(f"chunk {c + 1}/{len(chunks)}: " + ", ".join(rates), flush=True)
        base = args.runtimes[0]
        ref = libs[base].store
        print(
            f"{len(files)} real files in {len(chunks)} chunks of {args.chunk}; torch threads "
            f"{torch.get_num_threads()}; {totals[base]['audio'] / 3600:.2f} h of audio per runtime"
        )
        for r in args.runtimes:
            t = totals[r]
            print(
                f"{r}: {int(t['added'])} indexed, {int(t['bad'])} bad, wall {t['wall']:.1f} s = "
                f"{t['audio'] / t['wall']:.1f}x real time; speed vs {base} "
                f"{totals[base]['wall'] / t['wall']:.2f}x"
            )
            for name in STAGES:
                print(f"  {name:<9} {t[name]:7.1f} s  {100 * t[name] / t['wall']:5.1f} %")
            if r != base:
                cos = [
                    float(ref.file_vector(p) @ libs[r].store.file_vector(p))
                    for p, state in ref.file_states().items()
                    if state.status == "ok"
                ]
                print(
                    f"  cosine vs {base} over {len(cos)} files: min {min(cos):.6f}, "
                    f"mean {np.mean(cos):.6f}"
                )
        for lib in libs.values():
            lib.close()


def make_short_files(data: Path, n: int, folder: Path, seconds: float = 2.0) -> list[int]:
    """``n`` files of ``seconds`` cut from the ESC-10 clips (16-kHz PCM WAV), in step folders."""
    import soundfile as sf

    from wavlink_core.audio import SAMPLE_RATE, load_audio

    sources = [load_audio(p) for p in sorted((data / "esc10").rglob("*.ogg"))]
    steps = [s for s in (1_000, 2_500, 5_000, 10_000) if s < n] + [n]
    length = int(seconds * SAMPLE_RATE)
    made = 0
    for step, end in enumerate(steps):
        sub = folder / f"step{step}"
        sub.mkdir(parents=True)
        for i in range(made, end):
            wave = sources[i % len(sources)]
            start = (i // len(sources)) * SAMPLE_RATE // 4 % max(1, len(wave) - length)
            cut = wave[start : start + length]
            sf.write(sub / f"{i:06d}.wav", cut, SAMPLE_RATE, subtype="PCM_16")
        made = end
    return steps


def rss(args: argparse.Namespace, model) -> None:
    from wavlink_core.library import Library

    runtime = args.runtimes[0]
    with tempfile.TemporaryDirectory(prefix="bench_rss_") as tmp:
        folder = Path(tmp) / "sounds"
        steps = make_short_files(args.data, args.rss, folder, args.seconds)
        print(
            f"{args.rss} files of {args.seconds:g} s written; before indexing: VmHWM "
            f"{proc_status_mib('VmHWM'):.0f} MiB, VmRSS {proc_status_mib('VmRSS'):.0f} MiB",
            flush=True,
        )
        with Library(Path(tmp) / "lib.db", model) as lib:
            for step, count in enumerate(steps):
                reset_peak_rss()
                rep = lib.add([folder / f"step{step}"], runtime=runtime)
                print(
                    f"{runtime}: {count:>6} files indexed ({rep.added} this step, "
                    f"{len(rep.bad)} bad, "
                    f"{rep.audio_seconds / rep.wall_s:.1f}x real time): peak RSS in this step "
                    f"{proc_status_mib('VmHWM'):.0f} MiB, "
                    f"RSS now {proc_status_mib('VmRSS'):.0f} MiB",
                    flush=True,
                )
            print(f"library: {lib.stats()['files']} files")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")  # ../shared/data
    p.add_argument("--fsdd", type=int, default=500, help="spoken-digit clips to add")
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    p.add_argument(
        "--runtimes",
        nargs="+",
        default=["torch", "torch-bf16", "onnx"],
        help="first is the reference",
    )
    p.add_argument("--chunk", type=int, default=100, help="files per alternation step")
    p.add_argument("--rss", type=int, default=0, help="memory run: index this many short files")
    p.add_argument("--seconds", type=float, default=2.0, help="length of the memory run's files")
    args = p.parse_args()
    from wavlink_core import load_pretrained

    model = load_pretrained(args.model)
    (rss if args.rss else throughput)(args, model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
