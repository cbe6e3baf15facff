"""The loop both trainers run: WavLink training (``training.engine``) and Whisper-AuT adaptation
(``adapt.engine``). An engine builds its model, data and optimizer, then hands a :class:`Stage`
two functions -- the batches of an epoch from a position, and one step on a batch -- and the
stage does the rest the same way for both: cosine schedule with warm-up (stepped once per
optimizer step, not through ``accelerator.prepare``, which would step it once per process),
resume (weights, optimizer, scheduler, RNG), the metrics log, the progress bar, validation and
checkpoint cadence, halting, and the summary.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .run_state import METRICS, keep_rows_until, load_state, save_state

log = logging.getLogger(__name__)


class Stage:
    """One stage's optimisation state and loop.

    Args:
        cfg: The run config (``max_steps``, ``epochs``, ``warmup_ratio``, ``halt_at_step``,
            ``log_every``, ``val_every``, ``save_every``, ``progress``, ``run_dir``).
        accelerator: The run's Accelerator (from :func:`.run_state.start_run`).
        model: The unwrapped model (its trainable weights are the resume state).
        optimizer: The prepared optimizer.
        steps_per_epoch: Optimizer steps in one epoch.
        desc: Progress bar label.
        t_start: When the run started (wall time counts set-up too); default now.
    """

    def __init__(
        self,
        cfg,
        accelerator,
        model,
        optimizer,
        steps_per_epoch: int,
        desc: str,
        t_start: float | None = None,
    ):
        from transformers import get_cosine_schedule_with_warmup

        self.t_start = time.time() if t_start is None else t_start
        self.cfg, self.accelerator, self.model, self.optimizer = cfg, accelerator, model, optimizer
        self.steps_per_epoch, self.desc = steps_per_epoch, desc
        self.run = cfg.run_dir
        self.main = accelerator.is_main_process
        self.total = cfg.max_steps or cfg.epochs * steps_per_epoch
        self.warmup = int(round(cfg.warmup_ratio * self.total))
        self.scheduler = get_cosine_schedule_with_warmup(optimizer, self.warmup, self.total)
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        self.step, self.elapsed_before = 0, 0.0
        self.extra_state: dict[str, Any] = {}  # saved with every checkpoint
        self.val_metrics: dict[str, float] = {}
        self.step_times: list[float] = []

    # ---- state ------------------------------------------------------------------------------
    def resume(self) -> dict[str, Any]:
        """Load ``<run>/state``; returns the extra fields saved with it."""
        blob = load_state(self.run, self.model)
        self.optimizer.load_state_dict(blob["optimizer"])
        self.scheduler.load_state_dict(blob["scheduler"])
        self.step = int(blob["step"])
        if self.main:  # rows logged after the checkpoint by a killed run are redone, not kept
            keep_rows_until(self.run / METRICS, self.step)
        extra = json.loads(blob["extra"])
        self.elapsed_before = extra.get("wall_s", 0.0)
        torch.set_rng_state(blob["rng_cpu"])
        if blob["rng_cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(blob["rng_cuda"])
        return extra

    @property
    def wall(self) -> float:
        return self.elapsed_before + time.time() - self.t_start

    def checkpoint(self) -> None:
        if self.main:
            extra = {"wall_s": self.wall, **self.extra_state}
            save_state(self.run, self.model, self.optimizer, self.scheduler, self.step, extra)
        self.accelerator.wait_for_everyone()

    def log_row(self, row: dict) -> None:
        if self.main:
            with (self.run / METRICS).open("a") as fh:
                fh.write(json.dumps(row) + "\n")

    # ---- the loop ---------------------------------------------------------------------------
    def run_loop(
        self,
        epoch_batches: Callable[[int, int], Iterable],
        train_step: Callable[[Any], Any],
        describe: Callable[[Any], dict],
        validate: Callable[[], dict] | None,
    ) -> dict[str, Any]:
        """Train until ``total`` (or ``halt_at_step``), then checkpoint; returns the summary.

        Args:
            epoch_batches: ``(epoch, skip)`` -> the epoch's batches after the first ``skip``
                optimizer steps (``skip`` > 0 only right after a resume).
            train_step: One batch -> an output, or None while gradients accumulate (no
                optimizer step yet). It runs backward, the optimizer step and zero_grad.
            describe: An output -> the fields of its metrics row (called only on log steps).
            validate: Validation metrics (empty: nothing to validate), or None.
        """
        from tqdm.auto import tqdm

        cfg = self.cfg
        halt = min(self.total, cfg.halt_at_step or self.total)
        bar = tqdm(
            total=self.total,
            initial=self.step,
            desc=self.desc,
            disable=not (self.main and cfg.progress),
            dynamic_ncols=True,
        )
        t_loop = time.time()

        def run_val() -> None:
            metrics = validate() if validate is not None else {}
            if metrics:
                self.val_metrics = metrics
                self.log_row({"kind": "val", "step": self.step, **metrics})

        epoch = self.step // self.steps_per_epoch
        skip = self.step % self.steps_per_epoch
        while self.step < halt:
            t0 = time.time()
            for batch in epoch_batches(epoch, skip):
                out = train_step(batch)
                if out is None:
                    continue
                self.scheduler.step()
                self.step += 1
                dt = time.time() - t0  # data wait included: what a step costs the run
                self.step_times.append(dt)
                if self.step % cfg.log_every == 0 or self.step == halt:
                    row = {"kind": "train", "step": self.step, "epoch": epoch, **describe(out)}
                    row["lr"] = self.scheduler.get_last_lr()[0]
                    row["step_time_s"] = round(dt, 4)
                    row["elapsed_s"] = round(time.time() - t_loop, 2)
                    self.log_row(row)
                    bar.set_postfix(loss=f"{row['loss']:.3f}", lr=f"{row['lr']:.2e}", refresh=False)
                bar.update(1)
                if cfg.val_every and self.step % cfg.val_every == 0:
                    run_val()
                if cfg.save_every and self.step % cfg.save_every == 0 and self.step < halt:
                    self.checkpoint()
                if self.step >= halt:
                    break
                t0 = time.time()
            else:
                if not cfg.val_every:
                    run_val()
                epoch, skip = epoch + 1, 0
                continue
            break
        bar.close()
        self.checkpoint()
        summary: dict[str, Any] = {
            "run_dir": str(self.run),
            "step": self.step,
            "total_steps": self.total,
            "wall_s": round(self.wall, 1),
            "mean_step_s": round(sum(self.step_times) / len(self.step_times), 4)
            if self.step_times
            else None,
            "halted": self.step < self.total,
        }
        if self.step < self.total:
            if self.main:
                log.info(
                    "halted at step %d of %d; resume with --resume=true", self.step, self.total
                )
            return summary
        if not self.val_metrics:
            run_val()
        return summary
