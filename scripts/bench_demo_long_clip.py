"""Click→result latency of the demo's Classify for long uploads, now embedded 30 s at a time and
averaged (up to 120 s), against a 10-s upload; the app in this process, driven over HTTP.

``python scripts/bench_demo_long_clip.py [--model wavlink-tiny] [--reps 5]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def clip(folder: Path, seconds: float, i: int) -> str:
    """A distinct 44.1 kHz mono 16-bit clip (120 s: 10.6 MB, under the 20-MB upload limit;
    distinct so the clip cache never answers)."""
    rng = np.random.default_rng(i)
    t = np.arange(int(seconds * 44_100)) / 44_100
    x = 0.2 * np.sin(2 * np.pi * (200 + 40 * i) * t) + 0.05 * rng.standard_normal(t.size)
    path = folder / f"clip{seconds:g}s_{i}.wav"
    sf.write(path, x.astype(np.float32), 44_100, subtype="PCM_16")
    return str(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="wavlink-tiny")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 120])
    args = ap.parse_args()
    import torch
    from gradio_client import Client, handle_file

    from demo import LAUNCH_KWARGS, build_demo
    from wavlink_core import load_pretrained
    from wavlink_core.cli import model_dir

    torch.set_num_threads(1)  # as app.py: one thread per request
    tmp = Path(tempfile.mkdtemp())
    os.environ["WAVLINK_CACHE"] = str(tmp / "cache")
    model = load_pretrained(args.model)
    demo = build_demo(model, model_dir=model_dir(args.model), warm=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True, **LAUNCH_KWARGS)
    client = Client(f"http://127.0.0.1:{port}", verbose=False, analytics_enabled=False)

    def classify(path):
        return client.predict(
            handle_file(path), "dog, rain, car horn, music, speech, engine",
            "This is a sound of {}.", demo.engine.full, "softmax", 5, api_name="/classify",
        )

    classify(clip(tmp, 5, 999))  # warm-up
    print(f"model {args.model}, 1 torch thread, median (min, max) of {args.reps} distinct clips")
    print("| upload | click→result ms | what the demo says |\n|---:|---:|---|")
    for seconds in args.seconds:
        lat, info = [], ""
        for i in range(args.reps):
            p = clip(tmp, seconds, i)
            t0 = time.perf_counter()
            info = classify(p)[0]
            lat.append(1000 * (time.perf_counter() - t0))
        print(f"| {seconds:g} s | {statistics.median(lat):.0f} ({min(lat):.0f}, {max(lat):.0f}) "
              f"| {info.removeprefix('**Clip:** ')} |")
    demo.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
