"""A run folder's life cycle, shared by WavLink training and Whisper-AuT adaptation: start-up
(threads, device, precision, Accelerator, seed, refuse to overwrite, resume check, resolved
config), resume state (trainable weights as safetensors; optimizer, scheduler, step and RNG in a
``weights_only`` torch file, never a pickle of objects; swapped in whole, so a killed process
never leaves a torn state) and the hardware line of provenance records."""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError

STATE_DIR = "state"
STATE_WEIGHTS, STATE_FILE = "trainable.safetensors", "resume.pt"
METRICS = "metrics.jsonl"
# Config keys that may change between an interrupted run and its resumption (both trainers).
RESUME_FREE_KEYS = frozenset(
    {
        "resume",
        "halt_at_step",
        "progress",
        "num_workers",
        "threads",
        "val_every",
        "log_every",
        "save_every",
        "output_dir",
        "device",
        "val_max_clips",
    }
)


def save_state(run: Path, model: nn.Module, optimizer, scheduler, step: int, extra: dict) -> None:
    """Write ``<run>/state`` so that a process killed at any moment (``kill -9``, a preempted
    node) leaves either the previous state or this one, never a mix: both files go to
    ``state.tmp``, which then takes the place of ``state`` (:func:`recover_state` finishes a
    swap that was cut short)."""
    from safetensors.torch import save_file

    state_dir, tmp, old = _state_dirs(run)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }
    save_file(weights, str(tmp / STATE_WEIGHTS))
    blob = {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "extra": json.dumps(extra),
    }
    torch.save(blob, tmp / STATE_FILE)
    if state_dir.exists():
        os.replace(state_dir, old)
    os.replace(tmp, state_dir)
    shutil.rmtree(old, ignore_errors=True)


def _state_dirs(run: Path) -> tuple[Path, Path, Path]:
    return run / STATE_DIR, run / (STATE_DIR + ".tmp"), run / (STATE_DIR + ".old")


def recover_state(run: Path) -> None:
    """Finish or undo a :func:`save_state` that a killed process left half done: ``state.tmp``
    is complete once ``state`` was moved to ``state.old``, incomplete otherwise."""
    state_dir, tmp, old = _state_dirs(run)
    if not state_dir.exists() and old.exists() and tmp.exists():
        os.replace(tmp, state_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def keep_rows_until(path: Path, step: int) -> None:
    """Drop the rows of a JSONL log written after ``step`` (a resumed run redoes those steps),
    and a last line a killed process left half written."""
    if not path.is_file():
        return

    def step_of(line: str) -> float:
        try:
            return json.loads(line).get("step", 0)
        except json.JSONDecodeError:
            return float("inf")

    rows = [x for x in path.read_text().splitlines() if x.strip()]
    kept = [x for x in rows if step_of(x) <= step]
    if len(kept) != len(rows):
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(x + "\n" for x in kept))
        os.replace(tmp, path)


def load_state(run: Path, model: nn.Module) -> dict[str, Any]:
    """Loads the trainable weights into ``model``; returns the rest (never unpickles objects)."""
    from safetensors.torch import load_file

    state_dir = run / STATE_DIR
    weights = load_file(str(state_dir / STATE_WEIGHTS))
    params = dict(model.named_parameters())
    want = {n for n, p in params.items() if p.requires_grad}
    if set(weights) != want:
        raise ConfigError(
            f"{state_dir} does not match this regime: missing {sorted(want - set(weights))[:5]}, "
            f"unexpected {sorted(set(weights) - want)[:5]}"
        )
    with torch.no_grad():
        for n, v in weights.items():
            params[n].copy_(v)
    return torch.load(state_dir / STATE_FILE, weights_only=True, map_location="cpu")


def check_resumable(run: Path, cfg, config_file: str, free: set[str]) -> None:
    """Refuse to resume ``run`` with a config that differs outside the bookkeeping keys ``free``."""
    saved = json.loads((run / config_file).read_text())
    now = cfg.to_dict()
    diff = sorted(k for k in now if k not in free and saved.get(k) != now[k])
    if diff:
        raise ConfigError(
            f"cannot resume {run}: the config differs in {diff} "
            f"(saved {[saved.get(k) for k in diff]}, now {[now[k] for k in diff]})"
        )


def start_run(cfg, *, config_file: str, free: set[str], **accelerator_kw):
    """Everything a run does before its model exists, shared by WavLink training and Whisper-AuT
    adaptation: threads, device and precision (bf16 on CUDA), the Accelerator, the seed, and the
    run folder (refuse to overwrite, check a resume, write the resolved config, reset metrics).
    Returns ``(accelerator, resuming)``."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA device is visible")
    use_cuda = cfg.device != "cpu" and torch.cuda.is_available()
    precision = {"auto": "bf16" if use_cuda else "no", "fp32": "no"}.get(
        cfg.precision, cfg.precision
    )
    accelerator = Accelerator(cpu=not use_cuda, mixed_precision=precision, **accelerator_kw)
    set_seed(cfg.seed)
    run = cfg.run_dir
    if accelerator.is_main_process:
        recover_state(run)
    accelerator.wait_for_everyone()
    has_state = (run / STATE_DIR / STATE_FILE).is_file()
    if has_state and not cfg.resume:
        raise ConfigError(
            f"{run} already holds a run; pass --resume=true to continue it or choose another output_dir"
        )
    resuming = cfg.resume and has_state
    if resuming:
        check_resumable(run, cfg, config_file, free)
    accelerator.wait_for_everyone()  # every rank has read the saved config before it is rewritten
    if accelerator.is_main_process:
        run.mkdir(parents=True, exist_ok=True)
        cfg.save(run / config_file)  # the resolved config, before the first step
        if not resuming and (run / METRICS).exists():
            (run / METRICS).unlink()
    accelerator.wait_for_everyone()
    return accelerator, resuming


def hardware(accelerator) -> str:
    """'1 x NVIDIA H100 ...' or '1 x CPU (x86_64, 2 threads, 2 cores)' for provenance records."""
    n = accelerator.num_processes
    if accelerator.device.type == "cuda":
        return f"{n} x {torch.cuda.get_device_name(accelerator.device)}"
    return f"{n} x {cpu_line()}"


def cpu_line() -> str:
    """'CPU (x86_64, 2 threads, 2 cores)'."""
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, {os.cpu_count()} cores)"
