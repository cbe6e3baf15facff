"""Indexing in one process against ``index --ray`` (a local Ray cluster, N model actors).

Both run through the CLI on the same real files (linked, not copied, into a temporary folder:
the first ``--per-class`` clips of each ESC-10 class), each into a new library, alternating
``--repeats`` times so that load from other jobs hits both alike. The Ray wall time includes
starting the cluster and its actors (each loads the model), as a user pays it. After each pair
the two libraries are compared: same files, and the largest difference of a whole-file vector.

    python scripts/bench_library_ray.py --data ../shared/data --per-class 20 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_index(folder: Path, db: Path, model: str, ray_args: list[str]) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "wavlink_core", "index", str(folder), "--db", str(db)]
    cmd += ["--model", model, "--json", *ray_args]
    t = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, json.loads(out.strip().splitlines()[-1])


def largest_difference(one: Path, two: Path, model: str) -> tuple[bool, float]:
    from wavlink_core.library import Library

    with Library(one, model, readonly=True) as a, Library(two, model, readonly=True) as b:
        files = a.store.file_states()
        same = files == b.store.file_states()
        gaps = [
            float(np.abs(a.store.file_vector(p) - b.store.file_vector(p)).max())
            for p, state in files.items()
            if state.status == "ok"
        ]
    return same, max(gaps, default=0.0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")  # ../shared/data
    p.add_argument("--per-class", type=int, default=20, help="ESC-10 clips per class")
    p.add_argument("--workers", type=int, default=2, help="model actors of the Ray run")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    classes = sorted(d for d in (args.data / "esc10").iterdir() if d.is_dir())
    files = [f for d in classes for f in sorted(d.glob("*.ogg"))[: args.per_class]]
    ways = {
        "one process": [],
        f"--ray, {args.workers} workers": ["--ray", "--workers", str(args.workers)],
    }
    walls: dict[str, list[float]] = {name: [] for name in ways}
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        folder = Path(tmp) / "sounds"
        folder.mkdir()
        for i, f in enumerate(files):
            os.symlink(f.resolve(), folder / f"{i:04d}_{f.name}")
        for r in range(args.repeats):
            dbs = []
            for name, ray_args in ways.items():
                db = Path(tmp) / f"{r}_{len(dbs)}.db"
                wall, report = run_index(folder, db, args.model, ray_args)
                walls[name].append(wall)
                dbs.append(db)
                nodes = len(report["files_per_worker"])
                print(
                    f"run {r + 1} {name}: {report['added']} files, {len(report['bad'])} bad, "
                    f"{report['audio_seconds']:.0f} s of audio; wall {wall:.1f} s (index "
                    f"{report['wall_s']:.1f} s), {report['audio_seconds'] / wall:.1f}x real time; "
                    f"decode {report['decode_s']:.1f} s, embed {report['embed_s']:.1f} s, write "
                    f"{report['write_s']:.1f} s" + (f"; actors on {nodes} node(s)" if nodes else ""),
                    flush=True,
                )
            same, gap = largest_difference(*dbs, args.model)
            print(f"run {r + 1}: same files {same}, largest whole-file vector difference {gap:.2e}")
    one, two = walls.values()
    print(
        f"{len(files)} files; median wall: one process {np.median(one):.1f} s, --ray "
        f"{np.median(two):.1f} s; ray / one process = {np.median(two) / np.median(one):.2f} "
        f"(per run: {', '.join(f'{b / a:.2f}' for a, b in zip(one, two))})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
