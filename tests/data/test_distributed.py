"""Two processes on CPU (gloo) through ``accelerate launch --num_processes 2``, on a tiny
generated WebDataset: the ranks see disjoint samples, the contrastive loss is the loss of the
gathered global batch, and a run stopped mid-epoch resumes to the same state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from data_fixtures import RUN_ARGS, make_shards

pytestmark = pytest.mark.slow
ARGS = RUN_ARGS  # regime projector: one process can recompute the 2-process loss


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(data: Path, run: Path, **extra) -> None:
    overrides = [
        f"--{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in {**ARGS, **extra}.items()
    ]
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--main_process_port", str(free_port()),
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "wavlink_core.train", f"--data={data}", f"--output_dir={run}", *overrides,
    ]  # fmt: skip
    # Nothing distributed from this test process leaks into the launch (ranks, ports, accelerate).
    leaks = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
    env = {
        k: v for k, v in os.environ.items() if k not in leaks and not k.startswith("ACCELERATE_")
    }
    env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    # The first traceback names the rank that failed; the tail shows how the launcher ended.
    first = proc.stderr.find("Traceback")
    assert proc.returncode == 0, (
        proc.stderr[max(first, 0) :][:4000] + "\n...\n" + proc.stderr[-1500:]
    )


def samples(run: Path, rank: int) -> list[dict]:
    return [json.loads(x) for x in (run / "samples" / f"rank{rank}.jsonl").read_text().splitlines()]


def losses(run: Path) -> list[float]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["kind"] == "train"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    data = make_shards(root / "shards", 4, 6)  # 24 samples: 2 ranks x 4 batches of 3 per epoch
    launch(data, root / "whole")
    launch(data, root / "cut", halt_at_step=3)  # stops mid-epoch 0, resume state written
    launch(data, root / "cut", resume=True)
    return data, root / "whole", root / "cut"


def test_ranks_see_disjoint_samples(runs):
    _, whole, _ = runs
    for epoch in (0, 1):
        keys = [
            k
            for r in (0, 1)
            for row in samples(whole, r)
            if row["epoch"] == epoch
            for k in row["keys"]
        ]
        assert len(keys) == len(set(keys)) == 24  # each sample once per epoch, on one rank
    assert [row["step"] for row in samples(whole, 1)] == list(range(1, 9))


def test_loss_is_the_gathered_batch_loss(runs):
    """Step 1's loss on 2 ranks equals the single-process loss on both ranks' rows together."""
    from wavlink_core.data.shards import ShardStream, StreamSpec, iter_samples, sample_id
    from wavlink_core.data.sources import Source
    from wavlink_core.training import TrainConfig
    from wavlink_core.training.data import Collator
    from wavlink_core.training.engine import TrainStep, build_model, make_loss
    from wavlink_core.training.regimes import apply_regime, set_modes

    data, whole, _ = runs
    cfg = TrainConfig(**{k: v for k, v in ARGS.items() if k != "log_samples"})
    by_id = {sample_id(s): s for url in sorted(data.glob("*.tar")) for s in iter_samples(str(url))}
    stream = ShardStream(
        [Source(str(data), "shards")],
        StreamSpec(cfg.batch_size, cfg.clip_seconds, cfg.random_crop, cfg.seed, 1),
        rank=0,
        world=1,
        workers=0,
    )
    stream.set_position(0)
    global_batch = [stream.decode(by_id[k]) for r in (0, 1) for k in samples(whole, r)[0]["keys"]]
    model = build_model(cfg)
    apply_regime(model, cfg)
    set_modes(model, cfg, training=True)
    collate = Collator(
        model.text.tokenizer,
        n_mels=model.config.audio.n_mels,
        max_tokens=model.config.text.max_tokens,
        with_audio=True,
        with_text=True,
    )
    with torch.no_grad():
        out = TrainStep(model, make_loss(cfg, model), cfg.caption_groups)(collate(global_batch))
    assert float(out["contrastive_loss"]) == pytest.approx(losses(whole)[0], rel=1e-5, abs=1e-6)


def test_run_cut_mid_epoch_resumes_to_the_same_state(runs):
    from safetensors.torch import load_file

    _, whole, cut = runs
    assert losses(cut) == pytest.approx(losses(whole), rel=1e-5, abs=1e-6)
    for rank in (0, 1):
        assert [r["keys"] for r in samples(cut, rank)] == [r["keys"] for r in samples(whole, rank)]
    a = load_file(str(whole / "state" / "trainable.safetensors"))
    b = load_file(str(cut / "state" / "trainable.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5)
