"""Indexing throughput (x real time), where the time goes, and peak memory, on >= 1,000 real files.

The files are real recordings, linked (not copied) into a temporary folder: every clip of
assets/gallery, ESC-10, the US8K subset and Clotho in ../shared/data, plus the first ``--fsdd``
spoken digits. They are only indexed (timed), never used to train or to choose anything.

Time split: decode (load_audio: read, mix, resample), features (log-mel, timed by wrapping
``batch_log_mel``), encoder (the rest of ``embed_audio``), writes (hashing + the database
transaction). RSS is sampled every 0.2 s; the peak over the first and the second half of the run
shows whether memory grows with the library.

    python scripts/bench_library_index.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = (".wav", ".ogg", ".flac", ".mp3")


def collect(data: Path, fsdd: int) -> list[Path]:
    files = sorted((ROOT / "assets" / "gallery").glob("*.ogg"))
    for name in ("esc10", "us8k_subset", "clotho7"):
        files += sorted(p for p in (data / name).rglob("*") if p.suffix in AUDIO)
    files += sorted(p for p in (data / "fsdd").rglob("*") if p.suffix in AUDIO)[:fsdd]
    return files


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data")
    p.add_argument("--fsdd", type=int, default=500, help="spoken-digit clips to add")
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the library in this new folder and keep it (links and db)",
    )
    args = p.parse_args()
    import torch

    from wavlink_core import inference, load_pretrained
    from wavlink_core.library import Library

    feature_s = [0.0]
    original = inference.batch_log_mel

    def timed_log_mel(*a, **kw):
        t = time.perf_counter()
        out = original(*a, **kw)
        feature_s[0] += time.perf_counter() - t
        return out

    inference.batch_log_mel = timed_log_mel  # the benchmark only: split features from encoder
    model = load_pretrained(args.model)
    files = collect(args.data, args.fsdd)
    proc = psutil.Process()
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), proc.memory_info().rss))
            time.sleep(0.2)

    with tempfile.TemporaryDirectory(prefix="bench_index_") as tmp:
        tmp = args.keep or tmp
        folder = Path(tmp) / "sounds"
        folder.mkdir(parents=True)
        for i, f in enumerate(files):
            os.symlink(f.resolve(), folder / f"{i:05d}_{f.name}")
        sampler = threading.Thread(target=sample, daemon=True)
        start = time.perf_counter()
        sampler.start()
        with Library(Path(tmp) / "lib.db", model) as lib:
            report = lib.add([folder], progress=False)
            stats = lib.stats()
        stop.set()
        sampler.join()
    half = start + (samples[-1][0] - start) / 2
    first = max(r for t, r in samples if t <= half) / 2**20
    second = max(r for t, r in samples if t > half) / 2**20
    encoder = report.embed_s - feature_s[0]
    print(
        f"{len(files)} real files linked, {report.added} indexed, {len(report.bad)} bad, "
        f"{report.audio_seconds / 3600:.2f} h of audio, {report.rows} rows "
        f"({stats['segment_rows']} segments); torch threads {torch.get_num_threads()}"
    )
    print(f"wall {report.wall_s:.1f} s = {report.audio_seconds / report.wall_s:.1f}x real time")
    for name, s in (
        ("decode", report.decode_s),
        ("features", feature_s[0]),
        ("encoder", encoder),
        ("writes", report.write_s),
    ):
        print(f"  {name:<9} {s:7.1f} s  {100 * s / report.wall_s:5.1f} %")
    print(f"peak RSS: first half {first:.0f} MiB, second half {second:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
