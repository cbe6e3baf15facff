"""The training loop, on Hugging Face Accelerate.

Engine choice: **Accelerate** rather than PyTorch Lightning (which the paper used). Both give DDP
across GPUs and nodes, bf16 autocast and process launching without home-made distributed code;
Accelerate does it while leaving the loop to us, which this project needs in three places:

* the frozen-tower feature cache (a step may run the towers, one tower, or only the heads on
  cached rows, chosen per run), which in Lightning means bending ``training_step``/hooks;
* resume state that loads with ``torch.load(weights_only=True)`` (Lightning checkpoints are
  pickles of arbitrary objects, its loader unpickles them);
* one small dependency (accelerate: pure Python, ~4 MB installed, the ``transformers`` stack's
  own launcher) instead of lightning + torchmetrics + fsspec.

Multi-GPU / multi-node: ``accelerate launch --multi_gpu --num_processes 8 -m wavlink_core.training
--config run.json`` (plus ``--num_machines/--machine_rank/--main_process_ip`` for nodes). The
contrastive losses gather embeddings across ranks themselves (``losses.py``); ``batch_size`` is per
device, so the global batch is ``batch_size * world_size``. The learning-rate schedule is stepped
once per optimizer step (it is deliberately not passed through ``accelerator.prepare``, which would
step it once per process).

Per step: forward (towers or caches) -> Matryoshka loss (mean over D, D/2, D/4, D/8) -> backward ->
grad clip -> AdamW -> cosine schedule with warm-up -> ``clamp_logit_scale()``. Logged to
``<run>/metrics.jsonl`` (train rows: loss per level, lr, logit scale, step time; val rows: loss and
in-batch R@1 both ways at every level). At the end of the stage the model is saved with
``save_pretrained`` (delta, LoRA merged) in ``<run>/model`` with ``training_info`` filled in.
Resume state (trainable weights as safetensors; optimizer, scheduler, step and RNG in a
``weights_only`` torch file) lives in ``<run>/state`` and is written every ``save_every`` steps,
at ``halt_at_step`` and at the end.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.sources import parse_sources
from ..errors import ConfigError
from ..losses import ClipLoss, MatryoshkaLoss, SigLipLoss
from ..matryoshka import truncate
from ..model import WavLink
from . import data as D
from . import stream as S
from .config import TrainConfig
from .loop import Stage
from .anchor import StartingPoint
from .regimes import apply_regime, export_model, set_modes
from .run_state import RESUME_FREE_KEYS, hardware, start_run

log = logging.getLogger(__name__)

MODEL_DIR, CONFIG_FILE = "model", "train_config.json"
# Bookkeeping keys that may change when a run is resumed (the shared set, plus the sample log).
RESUME_FREE = RESUME_FREE_KEYS | {"log_samples"}


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
def build_model(cfg: TrainConfig) -> WavLink:
    """The starting model: a preset (pretrained towers, heads seeded by ``cfg.seed``) or a checkpoint."""
    from ..checkpoint import load_pretrained
    from ..config import get_preset

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if cfg.init_from:
            if cfg.audio_pooling is not None or cfg.audio_backbone is not None:
                raise ConfigError(
                    "audio_pooling and audio_backbone cannot change an init_from checkpoint "
                    f"(got audio_pooling={cfg.audio_pooling!r}, audio_backbone={cfg.audio_backbone!r})"
                )
            model = load_pretrained(cfg.init_from)
            if model.config.loss != cfg.loss:
                raise ConfigError(
                    f"init_from checkpoint was built for loss={model.config.loss!r}; "
                    f"the config asks for {cfg.loss!r}"
                )
            return model
        mc = get_preset(cfg.model).replace(loss=cfg.loss)
        if cfg.audio_pooling is not None:
            mc = mc.replace(audio=dataclasses.replace(mc.audio, pooling=cfg.audio_pooling))
        if cfg.audio_backbone is not None:
            mc = mc.replace(audio=dataclasses.replace(mc.audio, backbone=cfg.audio_backbone))
        return WavLink(mc)


class TrainStep(nn.Module):
    """What DDP wraps: the model plus the loss. A batch carries mel/tokens (towers run) or cached
    pooled features (``audio_feat``/``text_feat``: only the heads run)."""

    def __init__(self, model: WavLink, loss: nn.Module, caption_groups: bool):
        super().__init__()
        self.model, self.loss, self.caption_groups = model, loss, caption_groups

    def embed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        audio = (
            batch["audio_feat"] if "audio_feat" in batch else m.audio(batch["mel"], batch["frames"])
        )
        text = (
            batch["text_feat"]
            if "text_feat" in batch
            else m.text(batch["input_ids"], batch["attention_mask"])
        )
        return F.normalize(m.audio_proj(audio), dim=-1), F.normalize(m.text_proj(text), dim=-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        a, t = self.embed(batch)
        groups = batch["group_id"] if self.caption_groups else None
        return self.loss(a, t, self.model.scale(), self.model.logit_bias, group_ids=groups)


def make_loss(cfg: TrainConfig, model: WavLink) -> MatryoshkaLoss:
    inner = SigLipLoss() if cfg.loss == "siglip" else ClipLoss()
    dims = model.config.matryoshka_dims if cfg.matryoshka else (model.config.embed_dim,)
    return MatryoshkaLoss(inner, list(dims))


def param_groups(model: WavLink, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = p.ndim < 2 or name in ("audio.global_token", "logit_scale", "logit_bias")
        (no_decay if skip else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
def _pair_loss(
    a: torch.Tensor,
    t: torch.Tensor,
    ids: torch.Tensor,
    scale: torch.Tensor,
    bias: torch.Tensor | None,
    kind: str,
    groups: bool,
) -> torch.Tensor:
    """The training loss on one local chunk (no cross-rank gathering: chunks are already global)."""
    logits = (scale * a @ t.T).float()
    same = (
        (ids[:, None] == ids[None, :])
        if groups
        else torch.eye(len(a), dtype=torch.bool, device=a.device)
    )
    if kind == "siglip":
        logits = logits + bias
        return -F.logsigmoid((same.float() * 2 - 1) * logits).sum() / len(a)
    target = same.float() / same.float().sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


@torch.no_grad()
def validate(
    step_mod: TrainStep, loader, accelerator, cfg: TrainConfig, feats: dict
) -> dict[str, float]:
    """Val loss and in-batch R@1 (audio->text, text->audio) at every trained size.

    Embeddings of the whole val split are gathered from all ranks, then scored in chunks of
    ``batch_size`` ("in-batch" retrieval, the same negatives a training batch sees). A retrieved
    item counts as correct when its caption equals the query's (duplicates are common)."""
    model = step_mod.model
    set_modes(model, cfg, training=False)
    aud, txt, cid = [], [], []
    for batch in loader:
        batch = _with_cache(batch, feats, "val")
        with accelerator.autocast():
            a, t = step_mod.embed(batch)
        a, t, ids = accelerator.gather_for_metrics((a.float(), t.float(), batch["caption_id"]))
        aud.append(a)
        txt.append(t)
        cid.append(ids)
    set_modes(model, cfg, training=True)
    if not aud:
        return {}
    aud, txt, cid = torch.cat(aud), torch.cat(txt), torch.cat(cid)
    scale, bias = model.scale().float(), model.logit_bias
    dims = model.config.matryoshka_dims if cfg.matryoshka else (model.config.embed_dim,)
    out: dict[str, float] = {"val_clips": len(aud)}
    losses = []
    for dim in dims:
        tot = {"loss": 0.0, "a2t": 0.0, "t2a": 0.0}
        n_chunks = 0
        for s in range(0, len(aud), cfg.batch_size):
            chunk = slice(s, s + cfg.batch_size)
            a, t, ids = truncate(aud[chunk], dim), truncate(txt[chunk], dim), cid[chunk]
            if len(a) < 2:
                continue
            n_chunks += 1
            tot["loss"] += float(_pair_loss(a, t, ids, scale, bias, cfg.loss, cfg.caption_groups))
            sim = a @ t.T
            tot["a2t"] += float((ids[sim.argmax(1)] == ids).float().mean())
            tot["t2a"] += float((ids[sim.argmax(0)] == ids).float().mean())
        n = max(n_chunks, 1)
        out[f"val_loss_at_{dim}"] = tot["loss"] / n
        out[f"val_r1_a2t_at_{dim}"] = tot["a2t"] / n
        out[f"val_r1_t2a_at_{dim}"] = tot["t2a"] / n
        losses.append(tot["loss"] / n)
    out["val_loss"] = sum(losses) / len(losses)
    return out


# ----------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------
def _with_cache(batch: dict, feats: dict, split: str) -> dict:
    if "text" in feats:
        batch["text_feat"] = feats["text"][batch["caption_id"]]
    if f"audio_{split}" in feats:
        batch["audio_feat"] = feats[f"audio_{split}"][batch["clip"]]
    return batch


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or resume) one stage; returns a summary (run dir, steps, wall time, final metrics)."""
    from accelerate.utils import send_to_device
    from torch.utils.data import DataLoader

    from ..checkpoint import audio_origin, save_pretrained

    t_start = time.time()
    accelerator, resuming = start_run(cfg, config_file=CONFIG_FILE, free=RESUME_FREE)
    main = accelerator.is_main_process
    run = cfg.run_dir

    # ---- model, regime, data ----
    model = build_model(cfg)
    init_info = model.training_info
    report = apply_regime(model, cfg)
    # Taken before any resume loads a half-trained state: the anchor is the starting checkpoint.
    start = StartingPoint(model, cfg.l2sp) if cfg.l2sp > 0 else None
    if main:
        log.info(report.line())
    model.to(accelerator.device)
    sources = parse_sources(cfg.data, cfg.data_weights, cfg.corpus)
    stream = S.make_stream(cfg, sources, accelerator)
    splits = S.stream_splits(cfg, sources) if stream else D.load_splits(cfg, sources)
    audio_frozen = not cfg.audio_weights_train and (
        model.audio.global_token is None or not cfg.train_global_token
    )
    # Streamed captions and clips are not known up front, so nothing can be cached for them.
    cache_text = cfg.feature_cache and not cfg.text_weights_train and stream is None
    cache_audio = cfg.feature_cache and audio_frozen and stream is None
    feats: dict[str, torch.Tensor] = {}
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else run / "cache"
    with accelerator.main_process_first():
        if cache_text:
            feats["text"] = D.text_features(
                model, splits.captions, cache_dir, progress=cfg.progress and main
            )
        if cache_audio:
            kw = dict(num_workers=cfg.num_workers, progress=cfg.progress and main)
            feats["audio_train"] = D.audio_features(
                model, splits.train, splits.corpus, cfg, cache_dir, **kw
            )
            feats["audio_val"] = D.audio_features(
                model, splits.val, splits.corpus, cfg, cache_dir, **kw
            )
    feats = {k: v.to(accelerator.device) for k, v in feats.items()}
    tokenizer = model.text.tokenizer
    collate = D.Collator(
        tokenizer,
        n_mels=model.config.audio.n_mels,
        max_tokens=model.config.text.max_tokens,
        with_audio=not cache_audio,
        with_text=not cache_text,
    )
    sampler = D.EpochSampler(
        splits.train,
        seed=cfg.seed,
        synthetic_weight=cfg.synthetic_weight,
        source_weights=tuple(s.weight for s in sources),
    )
    train_ds = D.ClipDataset(splits.train, splits, cfg, train=True, with_audio=not cache_audio)
    val_ds = D.ClipDataset(splits.val, splits, cfg, train=False, with_audio=not cache_audio)
    loader_kw = dict(
        collate_fn=collate, num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0
    )
    if stream is None:
        train_loader = DataLoader(
            train_ds,
            batch_size=cfg.batch_size,
            sampler=sampler,
            drop_last=True,
            generator=torch.Generator().manual_seed(cfg.seed),
            **loader_kw,
        )
    else:
        # The stream splits by rank and worker itself (shards.py), so its loader is not prepared
        # by Accelerate (which would split or dispatch it again); batches arrive whole. Workers
        # restart each epoch so that they see the position set before iterating.
        train_loader = DataLoader(
            stream, batch_size=None, collate_fn=collate, num_workers=cfg.num_workers
        )
    val_loader = DataLoader(
        val_ds,
        batch_size=cfg.batch_size,
        sampler=D.EpochSampler(splits.val, seed=cfg.seed, shuffle=False),
        **loader_kw,
    )

    # ---- optimisation ----
    loss_fn = make_loss(cfg, model)
    step_mod = TrainStep(model, loss_fn, cfg.caption_groups)
    optimizer = torch.optim.AdamW(
        param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=tuple(cfg.betas)
    )
    step_mod, optimizer, val_loader = accelerator.prepare(step_mod, optimizer, val_loader)
    if stream is None:
        train_loader = accelerator.prepare(train_loader)
    steps_per_epoch = len(train_loader) if stream is None else stream.batches_per_epoch
    if steps_per_epoch == 0:
        raise ConfigError(
            f"{len(splits.train)} training clips give no full batch of {cfg.batch_size} "
            f"per process x {accelerator.num_processes}; lower batch_size"
        )
    stage = Stage(
        cfg, accelerator, model, optimizer, steps_per_epoch, f"train {cfg.stage}", t_start
    )
    if stream is not None:
        stage.extra_state["streams"] = len(stream.slots)
    if resuming:
        extra = stage.resume()
        if stream is not None and extra.get("streams") != len(stream.slots):
            raise ConfigError(
                f"cannot resume {run}: it streamed shards through {extra.get('streams')} "
                f"streams (processes x workers), this launch has {len(stream.slots)}; "
                "resume with the same number of processes and num_workers"
            )
        if main:
            log.info("resumed %s at step %d of %d", run, stage.step, stage.total)

    sizes = splits.sizes()
    if stream is not None:
        # streamed clips are not probed up front: their hours are unknown, not 0
        sizes.update(train_clips=stream.samples, shards=len(stream.urls), train_hours=None)
    if main:
        log.info(
            "stage %s: %s; %d steps/epoch x %s = %d steps (warm-up %d), batch %d x %d processes",
            cfg.stage,
            sizes,
            steps_per_epoch,
            cfg.epochs if not cfg.max_steps else "-",
            stage.total,
            stage.warmup,
            cfg.batch_size,
            accelerator.num_processes,
        )
    set_modes(model, cfg, training=True)
    seen = S.SampleLog(run, accelerator.process_index, stage.step) if cfg.log_samples else None

    def epoch_batches(epoch: int, skip: int):
        if stream is not None:
            stream.set_position(epoch, skip)
            for batch in train_loader:
                yield epoch, send_to_device(batch, accelerator.device)
            return
        train_loader.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
        for batch in loader:
            yield epoch, batch

    def train_step(item):
        epoch, batch = item
        if seen is not None:
            seen.write(stage.step + 1, epoch, batch["keys"])
        batch = _with_cache(batch, feats, "train")
        with accelerator.autocast():
            out = step_mod(batch)
        loss = out["contrastive_loss"]
        if start is not None:
            out["l2sp_distance"] = start.distance(model)
            loss = loss + start.weight * out["l2sp_distance"]
        accelerator.backward(loss)
        if cfg.grad_clip > 0:
            accelerator.clip_grad_norm_(stage.trainable, cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        model.clamp_logit_scale()
        return out

    def describe(out) -> dict:
        row = {"loss": float(out["contrastive_loss"].detach())}
        row.update(
            {
                k: float(torch.as_tensor(v).detach())
                for k, v in out.items()
                if k.startswith(("loss_at_", "l2sp_"))
            }
        )
        row["logit_scale"] = float(model.scale().detach())
        return row

    def run_val() -> dict:
        if len(splits.val) == 0:
            return {}
        module = step_mod.module if hasattr(step_mod, "module") else step_mod
        return validate(module, val_loader, accelerator, cfg, feats)

    summary = stage.run_loop(epoch_batches, train_step, describe, run_val)
    summary.update(report.to_dict())
    if summary["halted"]:
        return summary
    step, wall, val_metrics = stage.step, stage.wall, stage.val_metrics
    if main:
        exported = export_model(model)
        exported.training_info = {
            "stage": cfg.stage,
            "steps": step,
            "epochs": cfg.epochs if not cfg.max_steps else step / steps_per_epoch,
            "data": {
                **sizes,
                "corpus": str(cfg.corpus),
                "sources": [dataclasses.asdict(s) for s in sources],
                "subsets": list(cfg.effective_subsets),
                "curated": cfg.curated,
                "synthetic_weight": cfg.synthetic_weight,
            },
            "regime": cfg.regime,
            "scope": cfg.scope,
            "train_global_token": cfg.train_global_token,
            "train_text_head": cfg.train_text_head,
            "l2sp": cfg.l2sp,
            "lora": {"rank": cfg.lora_rank, "alpha": cfg.lora_alpha, "merged": True}
            if cfg.regime == "lora"
            else None,
            "loss": cfg.loss,
            "matryoshka": list(loss_fn.dims),
            "lr": cfg.lr,
            "batch_size": cfg.batch_size,
            "global_batch": cfg.batch_size * accelerator.num_processes,
            "clip_seconds": cfg.clip_seconds,
            "feature_cache": {"audio": cache_audio, "text": cache_text},
            "trainable_params": report.trainable,
            "wall_time_s": round(wall, 1),
            "hardware": hardware(accelerator),
            "precision": accelerator.mixed_precision,
            "seed": cfg.seed,
            "val": {k: round(v, 4) for k, v in val_metrics.items()},
            "init_from": cfg.init_from,
            "previous": init_info,
            # which Whisper the audio tower started from (vanilla, or an adapted encoder's record)
            "audio_backbone_origin": audio_origin(model),
        }
        save_pretrained(exported, run / MODEL_DIR, delta=True, dtype=cfg.save_dtype)
        log.info("saved %s", run / MODEL_DIR)
    accelerator.wait_for_everyone()
    summary["model_dir"] = str(run / MODEL_DIR)
    summary["val"] = val_metrics
    return summary
