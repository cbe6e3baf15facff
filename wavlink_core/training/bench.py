"""Training cost benchmark: model step time and FLOPs per step, and shard-loader throughput.

``python -m wavlink_core.training.bench [--presets tiny base small] [--batch 8] [--seconds 10]``

Model: for each preset, the same architecture with random weights (cost does not depend on the
weights, so Whisper small need not be installed), regime ``full`` on both towers, one training
step = forward + Matryoshka CLIP loss + backward + AdamW. Reported: median step time on this
machine, and FLOPs per step counted by ``torch.utils.flop_counter`` (matmuls/convolutions, the
standard count; elementwise ops are not counted), for the dynamic ``--seconds`` crop and for
the paper's 30-s padded window.

Loader: ``--loader-clips`` clips written as 16-kHz FLAC shards (what ``python -m
wavlink_core.data shard`` writes), or ``--shards DIR`` of your own, read by the training stream
(tar read, decode, crop, log-mel, tokenise) through 0, 1 and 2 data-loader workers. Clips per
second per worker against the model's clips per second tells whether training would starve.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

SECONDS_30 = 30.0


def synthetic_clip(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def caption(i: int) -> str:
    return f"a recording of sound number {i} with rain, a passing car and people talking far away"


def build(preset: str, batch: int):
    """Random-weight model of ``preset``'s shape, its train step, optimizer and collator."""
    from ..config import get_preset
    from ..model import WavLink
    from .config import TrainConfig
    from .data import Collator
    from .engine import TrainStep, make_loss, param_groups
    from .regimes import apply_regime, set_modes

    mc = get_preset(preset)
    mc = mc.replace(
        audio=dataclasses.replace(mc.audio, backbone="random"),
        text=dataclasses.replace(mc.text, backbone="random"),
    )
    cfg = TrainConfig(model=preset, regime="full", scope="both", batch_size=batch)
    torch.manual_seed(0)
    model = WavLink(mc)
    apply_regime(model, cfg)
    set_modes(model, cfg, training=True)
    step = TrainStep(model, make_loss(cfg, model), cfg.caption_groups)
    opt = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    collate = Collator(
        model.text.tokenizer,
        n_mels=mc.audio.n_mels,
        max_tokens=mc.text.max_tokens,
        with_audio=True,
        with_text=True,
    )
    return model, step, opt, collate


def make_batch(collate, batch: int, seconds: float, pad_30: bool = False) -> dict:
    items = [
        {"clip": i, "caption": caption(i), "caption_id": i, "wave": synthetic_clip(seconds, i)}
        for i in range(batch)
    ]
    out = collate(items)
    if pad_30:
        from ..features import N_FRAMES

        mel = out["mel"]
        out["mel"] = torch.nn.functional.pad(mel, (0, N_FRAMES - mel.shape[-1]))
        out["frames"] = torch.full_like(out["frames"], N_FRAMES)
    return out


def train_step(step, opt, batch: dict) -> None:
    loss = step(batch)["contrastive_loss"]
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def flops(step, batch: dict) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step(batch)["contrastive_loss"].backward()
    step.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def bench_model(preset: str, batch: int, seconds: float, steps: int) -> dict:
    model, step, opt, collate = build(preset, batch)
    data = make_batch(collate, batch, seconds)
    train_step(step, opt, data)  # warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        train_step(step, opt, data)
        times.append(time.perf_counter() - t0)
    one = make_batch(collate, 1, seconds)
    one_30 = make_batch(collate, 1, min(seconds, SECONDS_30), pad_30=True)
    per_clip, per_clip_30 = flops(step, one), flops(step, one_30)
    med = statistics.median(times)
    return {
        "preset": preset,
        "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "batch": batch,
        "seconds": seconds,
        "step_s": round(med, 3),
        "step_s_all": [round(t, 3) for t in times],
        "clips_per_s": round(batch / med, 2),
        "gflops_per_clip": round(per_clip / 1e9, 1),
        "gflops_per_clip_30s": round(per_clip_30 / 1e9, 1),
        "gflops_per_step": round(batch * per_clip / 1e9, 1),
    }


def write_bench_shards(root: Path, clips: int, seconds: float, per_shard: int = 16) -> Path:
    from webdataset import ShardWriter

    from ..data.shards import INDEX_FILE, encode_flac

    root.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with ShardWriter(str(root / "shard-%06d.tar"), maxcount=per_shard, verbose=0) as sink:
        for i in range(clips):
            sample = {"captions": [caption(i)]}
            sink.write(
                {
                    "__key__": f"{i:09d}",
                    "flac": encode_flac(synthetic_clip(seconds, i)),
                    "json": sample,
                }
            )
            name = Path(sink.fname).name
            counts[name] = counts.get(name, 0) + 1
    (root / INDEX_FILE).write_text(json.dumps({"shards": counts}))
    return root


def bench_loader(shards: Path, seconds: float, batch: int, workers: int) -> dict:
    from torch.utils.data import DataLoader

    from ..config import get_preset
    from ..data.shards import ShardStream, StreamSpec
    from ..data.sources import Source
    from ..text_tower import load_tokenizer
    from .data import Collator

    spec = StreamSpec(batch, seconds, True, 0, 64)
    stream = ShardStream([Source(str(shards), "shards")], spec, rank=0, world=1, workers=workers)
    stream.set_position(0)
    text = get_preset("tiny").text
    collate = Collator(
        load_tokenizer(text), n_mels=80, max_tokens=text.max_tokens, with_audio=True, with_text=True
    )
    loader = DataLoader(stream, batch_size=None, collate_fn=collate, num_workers=workers)
    t0 = time.perf_counter()
    n = sum(len(b["keys"]) for b in loader)
    wall = time.perf_counter() - t0
    return {
        "workers": workers,
        "clips": n,
        "wall_s": round(wall, 2),
        "clips_per_s": round(n / wall, 1),
        "clips_per_s_per_worker": round(n / wall / max(1, workers), 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wavlink_core.training.bench", description=__doc__)
    p.add_argument("--presets", nargs="+", default=["tiny", "base", "small"])
    p.add_argument("--batch", type=int, default=8, help="clips per step (per device)")
    p.add_argument("--seconds", type=float, default=10.0, help="clip crop length")
    p.add_argument("--steps", type=int, default=3, help="timed steps per preset (after 1 warm-up)")
    p.add_argument("--loader-clips", type=int, default=128)
    p.add_argument("--shards", default=None, help="time the loader on these shards instead")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from .run_state import cpu_line

    print(f"machine: {cpu_line()}; torch {torch.__version__}")
    results: dict = {"machine": cpu_line(), "model": [], "loader": []}
    print(
        "\n| preset | params (M) | batch x s | step (s, median) | clips/s | GFLOPs/clip | GFLOPs/clip at 30 s | GFLOPs/step |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        r = bench_model(preset, args.batch, args.seconds, args.steps)
        results["model"].append(r)
        print(
            f"| {preset} | {r['params_M']} | {args.batch} x {args.seconds:g} | {r['step_s']} | "
            f"{r['clips_per_s']} | {r['gflops_per_clip']} | {r['gflops_per_clip_30s']} | {r['gflops_per_step']} |",
            flush=True,
        )
    with tempfile.TemporaryDirectory() as tmp:
        shards = (
            Path(args.shards)
            if args.shards
            else write_bench_shards(Path(tmp) / "shards", args.loader_clips, args.seconds)
        )
        print(
            f"\nloader: {shards} ({args.seconds:g}-s crops, batch {args.batch}, log-mel + tokens in the workers)"
        )
        print("\n| workers | clips | wall (s) | clips/s | clips/s per worker |")
        print("|---|---|---|---|---|")
        for w in args.workers:
            r = bench_loader(shards, args.seconds, args.batch, w)
            results["loader"].append(r)
            print(
                f"| {w} | {r['clips']} | {r['wall_s']} | {r['clips_per_s']} | {r['clips_per_s_per_worker']} |",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
