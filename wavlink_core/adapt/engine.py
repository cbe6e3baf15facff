"""The Whisper-AuT adaptation, on the loop WavLink training runs (``training.loop.Stage``).

Per step: log-mel (30-s windows, or dynamic length) -> full Whisper, teacher-forced -> mean
cross-entropy over target tokens -> backward -> grad clip -> AdamW (no decay on biases and norms,
``training.engine.param_groups``) -> cosine schedule with warm-up, stepped once per optimizer step.
``grad_accum`` micro-batches make one optimizer step (the paper: 8/GPU x 8 GPUs x 2 = 128).

Multi-GPU / multi-node: ``accelerate launch --multi_gpu --num_processes 8 -m wavlink_core.adapt
--config run.json``; ``batch_size`` is per device. Logged to ``<run>/metrics.jsonl`` (train rows:
loss, lr, tokens, step time; val rows: token-mean loss per domain and their mix-weighted mean).
Resume state (weights as safetensors; optimizer, scheduler, step, RNG in a ``weights_only`` torch
file) is ``training.engine``'s own, in ``<run>/state``. At the end the adapted model is saved as a
backbone folder, ``<run>/backbone`` (see :func:`~.seq2seq.save_backbone`).
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..training.engine import param_groups
from ..training.loop import Stage
from ..training.run_state import RESUME_FREE_KEYS, hardware, start_run
from . import data as D
from .config import DOMAINS, AdaptConfig
from .seq2seq import (
    Prompts,
    encode,
    encoder_tower,
    load_seq2seq,
    save_backbone,
    token_losses,
    tokenizer_file,
)

log = logging.getLogger(__name__)

BACKBONE_DIR = "backbone"
CONFIG_FILE = "adapt_config.json"


class Seq2SeqStep(nn.Module):
    """What DDP wraps: batch -> summed token losses and token counts per example."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        # Not a registered submodule: it only runs self.model's encoder (no weights of its own).
        self.__dict__["tower"] = encoder_tower(model)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        hidden = encode(self.tower, batch["mel"], batch["frames"])
        loss_sum, tokens = token_losses(self.model, hidden, batch["input_ids"], batch["labels"])
        return {
            "loss": loss_sum.sum() / tokens.sum().clamp_min(1),
            "loss_sum": loss_sum,
            "tokens": tokens,
        }


@torch.no_grad()
def validate(step_mod: Seq2SeqStep, loader, accelerator, cfg: AdaptConfig) -> dict[str, float]:
    """Token-mean loss per domain over the val split, and their mean weighted by the mix."""
    step_mod.model.eval()
    sums, counts, clips = (torch.zeros(len(DOMAINS)) for _ in range(3))
    for batch in loader:
        with accelerator.autocast():
            out = step_mod(batch)
        loss_sum, tokens, domain = accelerator.gather_for_metrics(
            (out["loss_sum"].float(), out["tokens"].float(), batch["domain"])
        )
        sums.index_add_(0, domain.cpu(), loss_sum.cpu())
        counts.index_add_(0, domain.cpu(), tokens.cpu())
        clips.index_add_(0, domain.cpu(), torch.ones(len(domain)))
    step_mod.model.train()
    out: dict[str, float] = {}
    weighted, weight = 0.0, 0.0
    for k, d in enumerate(DOMAINS):
        if counts[k] > 0:
            out[f"val_loss_{d}"] = float(sums[k] / counts[k])
            out[f"val_clips_{d}"] = int(clips[k])
            weighted += cfg.mix[d] * out[f"val_loss_{d}"]
            weight += cfg.mix[d]
    if weight > 0:
        out["val_loss"] = weighted / weight
    return out


def train(cfg: AdaptConfig) -> dict[str, Any]:
    """Run (or resume) one adaptation; returns a summary (steps, wall time, losses, backbone dir)."""
    from torch.utils.data import DataLoader

    t_start = time.time()
    accelerator, resuming = start_run(
        cfg,
        config_file=CONFIG_FILE,
        free=RESUME_FREE_KEYS,
        gradient_accumulation_steps=cfg.grad_accum,
    )
    main = accelerator.is_main_process
    run = cfg.run_dir

    # ---- model, data ----
    model, tokenizer = load_seq2seq(cfg.backbone, seed=cfg.seed)
    if cfg.gradient_checkpointing:
        model.activation_checkpointing_enable({"use_reentrant": False})
    model.to(accelerator.device).train()
    prompts = Prompts.for_model(model, tokenizer, cfg.caption_prompt)
    data = D.load_data(cfg, prompts)
    world = accelerator.num_processes
    per_step = cfg.batch_size * cfg.grad_accum * world
    # Whole optimizer steps only, so an epoch never ends on a half-accumulated gradient.
    steps_per_epoch = len(data.train) // per_step
    if steps_per_epoch == 0:
        raise ConfigError(
            f"{len(data.train)} training examples give no optimizer step of {cfg.batch_size} x "
            f"{cfg.grad_accum} accumulation x {world} processes; lower batch_size"
        )
    sampler = D.MixSampler(
        data.pools(), cfg.mix, seed=cfg.seed, num_samples=steps_per_epoch * per_step
    )
    collate = D.Collator(
        n_mels=model.config.num_mel_bins, pad_to_30s=cfg.pad_to_30s, pad_id=prompts.eot
    )
    loader_kw = dict(
        collate_fn=collate, num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0
    )
    train_loader = DataLoader(
        D.AdaptDataset(data.train, data.corpus, cfg, train=True),
        batch_size=cfg.batch_size,
        sampler=sampler,
        drop_last=True,
        **loader_kw,
    )
    val_loader = DataLoader(
        D.AdaptDataset(data.val, data.corpus, cfg, train=False),
        batch_size=cfg.batch_size,
        **loader_kw,
    )

    # ---- optimisation ----
    step_mod = Seq2SeqStep(model)
    optimizer = torch.optim.AdamW(
        param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas)
    )
    step_mod, optimizer, train_loader, val_loader = accelerator.prepare(
        step_mod, optimizer, train_loader, val_loader
    )
    stage = Stage(cfg, accelerator, model, optimizer, steps_per_epoch, "adapt", t_start)
    if resuming:
        stage.resume()

    sizes = data.sizes()
    if main:
        log.info(
            "%s: examples %s; %d steps/epoch x %s = %d steps (warm-up %d), batch %d x %d accum x %d "
            "processes; mean draws per clip and epoch %s%s",
            cfg.backbone,
            sizes,
            steps_per_epoch,
            cfg.epochs if not cfg.max_steps else "-",
            stage.total,
            stage.warmup,
            cfg.batch_size,
            cfg.grad_accum,
            world,
            D.expected_repeats(data, cfg),
            f"; resumed at step {stage.step}" if resuming else "",
        )
    module = step_mod.module if hasattr(step_mod, "module") else step_mod

    def epoch_batches(epoch: int, skip: int):
        train_loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        skip *= cfg.grad_accum  # micro-batches
        return accelerator.skip_first_batches(train_loader, skip) if skip else train_loader

    def train_step(batch):
        with accelerator.accumulate(step_mod):
            with accelerator.autocast():
                out = step_mod(batch)
            accelerator.backward(out["loss"])
            if accelerator.sync_gradients and cfg.grad_clip > 0:
                accelerator.clip_grad_norm_(stage.trainable, cfg.grad_clip)
            optimizer.step()  # Accelerate skips it (and zero_grad) between accumulation steps
            optimizer.zero_grad(set_to_none=True)
        return out if accelerator.sync_gradients else None

    def describe(out) -> dict:
        return {"loss": float(out["loss"].detach()), "tokens": int(out["tokens"].sum())}

    def run_val() -> dict:
        return validate(module, val_loader, accelerator, cfg) if data.val else {}

    summary = stage.run_loop(epoch_batches, train_step, describe, run_val)
    summary["examples"] = sizes
    if summary["halted"]:
        return summary
    step, wall, val_metrics, warmup = stage.step, stage.wall, stage.val_metrics, stage.warmup
    backbone = run / BACKBONE_DIR
    if main:
        provenance = {
            "method": "Whisper-AuT seq2seq adaptation (arXiv 2604.10438), wavlink_core.adapt",
            "base_backbone": cfg.backbone,
            "corpus": str(data.corpus),
            "manifest": str(data.manifest),
            "manifest_sha256": D.manifest_sha256(data.manifest),
            "mix": cfg.mix,
            "sound_subsets": list(cfg.sound_subsets),
            "music_subsets": list(cfg.music_subsets),
            "speech_languages": list(cfg.speech_languages),
            "caption_prompt": cfg.caption_prompt,
            "examples": sizes,
            "steps": step,
            "epochs": step / steps_per_epoch,
            "warmup_steps": warmup,
            "global_batch": per_step,
            "lr": cfg.lr,
            "weight_decay": cfg.weight_decay,
            "clip_seconds": cfg.clip_seconds,
            "pad_to_30s": cfg.pad_to_30s,
            "max_target_tokens": cfg.max_target_tokens,
            "precision": accelerator.mixed_precision,
            "hardware": hardware(accelerator),
            "wall_time_s": round(wall, 1),
            "seed": cfg.seed,
            "val": {k: round(v, 4) for k, v in val_metrics.items()},
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "config": cfg.to_dict(),
        }
        save_backbone(model, tokenizer_file(cfg.backbone), backbone, provenance)
        log.info("saved the adapted backbone to %s", backbone)
    accelerator.wait_for_everyone()
    summary["backbone_dir"] = str(backbone)
    summary["val"] = val_metrics
    return summary
