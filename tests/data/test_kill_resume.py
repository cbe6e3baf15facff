"""A training run killed with SIGKILL mid-epoch, after a checkpoint, resumes to the state of a
run that was never interrupted: the same samples at the same steps (none twice in an epoch),
the same losses and the same weights. The data is a mixed stream (shards + class folders), so
the resumed position restores the mix too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from data_fixtures import RUN_ARGS, make_class_folders, make_shards

from wavlink_core.training.run_state import STATE_DIR, STATE_FILE, recover_state

# 2 epochs of 8 steps: checkpoints at steps 3, 6 (epoch 0), 9, 12, 15 (epoch 1), all mid-epoch
ARGS = {**RUN_ARGS, "save_every": 3, "min_clips": 4, "val_fraction": 0.0}


def start(data: str, run: Path, **extra) -> subprocess.Popen:
    overrides = [
        f"--{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in {**ARGS, **extra}.items()
    ]
    cmd = [sys.executable, "-m", "wavlink_core.train", f"--data={data}", "--data_weights=1,1",
           f"--output_dir={run}", *overrides]  # fmt: skip
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    # The log goes to a file: a pipe nobody reads while the run goes on could fill and stall it.
    log = run.parent / f"{run.name}.log"
    with log.open("a") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=fh)
    proc.log = log
    return proc


def tail(proc: subprocess.Popen) -> str:
    return proc.log.read_text()[-3000:]


def finish(proc: subprocess.Popen) -> None:
    proc.wait(timeout=300)
    assert proc.returncode == 0, tail(proc)


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_state(tmp_path):
    from safetensors.torch import load_file

    data = f"{make_shards(tmp_path / 's', 4, 3)},{make_class_folders(tmp_path / 'f', 4)}"
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    reference = start(data, whole)
    victim = start(data, cut)
    deadline, log = time.time() + 240, cut / "samples" / "rank0.jsonl"

    def steps_logged() -> int:
        return len(log.read_text().splitlines()) if log.is_file() else 0

    # Killed once step 5 has started: after the step-3 checkpoint, with steps logged past it
    # (which the resumed run must drop and redo), before the step-6 checkpoint (most likely).
    while not ((cut / STATE_DIR / STATE_FILE).is_file() and steps_logged() >= 5):
        assert victim.poll() is None and time.time() < deadline, tail(victim)
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert 5 <= steps_logged() < 16  # killed mid-run
    resumed = start(data, cut, resume=True)
    finish(reference)
    finish(resumed)

    got, want = rows(cut / "samples" / "rank0.jsonl"), rows(whole / "samples" / "rank0.jsonl")
    assert got == want and [r["step"] for r in got] == list(range(1, 17))
    for epoch in (0, 1):
        keys = [k for r in got if r["epoch"] == epoch for k in r["keys"]]
        assert len(keys) == len(set(keys)) == 24  # each sample once per epoch
    loss = [
        [r["loss"] for r in rows(run / "metrics.jsonl") if r["kind"] == "train"]
        for run in (cut, whole)
    ]
    assert len(loss[0]) == 16 and loss[0] == pytest.approx(loss[1], rel=1e-5, abs=1e-6)
    a = load_file(str(whole / STATE_DIR / "trainable.safetensors"))
    b = load_file(str(cut / STATE_DIR / "trainable.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=1e-6, rtol=1e-5)


def test_a_checkpoint_cut_short_leaves_a_whole_state(tmp_path):
    """Killed between moving the old state aside and moving the new one in: the new one is
    complete and is used; killed while writing the new one: the old one stays."""
    for name in ("state.tmp", "state.old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / STATE_FILE).write_text(name)
    recover_state(tmp_path)
    assert (tmp_path / STATE_DIR / STATE_FILE).read_text() == "state.tmp"
    assert not (tmp_path / "state.tmp").exists() and not (tmp_path / "state.old").exists()
    (tmp_path / "state.tmp").mkdir()
    (tmp_path / "state.tmp" / "half").write_text("")
    recover_state(tmp_path)
    assert (tmp_path / STATE_DIR / STATE_FILE).read_text() == "state.tmp"
    assert not (tmp_path / "state.tmp").exists()


def test_logs_resume_at_the_checkpoint(tmp_path):
    from wavlink_core.training.run_state import keep_rows_until

    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3, 4)) + '{"step": 5')
    keep_rows_until(log, 3)
    assert [r["step"] for r in rows(log)] == [1, 2, 3]
