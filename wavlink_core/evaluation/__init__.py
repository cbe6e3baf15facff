"""Evaluation of a WavLink model: zero-shot classification, retrieval and linear probes.

``python -m wavlink_core.evaluate --model tiny --data DIR --task all --out results/``

Every audio clip goes through the encoder once per run (:class:`FeatureCache`); one forward pass
gives both the WavLink embedding (global token → projection) and the mean of the final Whisper
encoder states over the clip's valid frames (the Whisper-AuT probe feature). Every metric is
computed at every trained Matryoshka size, by truncating and re-normalising the full embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..audio import load_audio
from ..audio_tower import mean_pool
from ..features import batch_log_mel
from ..inference import embed_text, windows
from ..matryoshka import truncate_np
from ..prompts import ensemble_prompts, label_embeddings
from . import metrics, probe
from .datasets import Clip, Dataset, load_dataset

if TYPE_CHECKING:
    from ..model import WavLink

TASKS = ("zeroshot", "retrieval", "probe")  # what --task all runs
EXTRA_TASKS = ("fewshot", "openset")  # run only when named: draws and halves take longer
MEAN_FEATURE = "whisper-mean"

__all__ = ["EXTRA_TASKS", "TASKS", "FeatureCache", "evaluate", "extract_features", "load_dataset"]


class FeatureCache:
    """In-memory (model key, file, padding) → (embedding, mean-pooled states) for one run."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str, bool], tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.store)


@torch.inference_mode()
def extract_features(
    model: WavLink,
    paths: Sequence[str],
    *,
    model_key: str = "",
    batch_size: int = 16,
    pad_to_30s: bool | None = None,
    cache: FeatureCache | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-size unit-norm embeddings (N, D) and mean-pooled encoder states (N, W) of audio files.

    The embedding equals :func:`wavlink_core.embed_audio`'s (same windows, batching rules and
    duration weighting). The mean feature averages the final (post layer norm) encoder states over
    the positions the clip covers, excluding padding and the global token; clips longer than 30 s
    average their windows weighted by duration.
    """
    pad = model.config.audio.pad_to_30s if pad_to_30s is None else pad_to_30s
    cache = cache if cache is not None else FeatureCache()
    todo = [p for p in dict.fromkeys(map(str, paths)) if (model_key, p, pad) not in cache.store]
    chunks: list[np.ndarray] = []
    owner: list[int] = []
    for i, p in enumerate(
        tqdm(todo, desc="loading audio", unit="clip", disable=not progress or not todo)
    ):
        for w in windows(load_audio(p)):
            chunks.append(w)
            owner.append(i)
    d, width = model.config.embed_dim, model.audio.width
    w_emb = np.zeros((len(chunks), d), dtype=np.float32)
    w_mean = np.zeros((len(chunks), width), dtype=np.float32)
    order = sorted(range(len(chunks)), key=lambda j: len(chunks[j]))
    model.eval()
    bar = tqdm(
        total=len(chunks), desc="encoding audio", unit="window", disable=not progress or not chunks
    )
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        mel, frames = batch_log_mel([chunks[j] for j in idx], model.config.audio.n_mels, pad)
        frames_t = torch.as_tensor(frames, device=model.device)
        hidden, valid = model.audio.forward_hidden(mel.to(model.device), None if pad else frames_t)
        if model.audio.global_token is not None:
            pooled = hidden[:, -1]
            hidden, valid = hidden[:, :-1], valid[:, :-1]
        else:
            pooled = None
        # With 30-s padding nothing is masked in the encoder, but the mean still covers only the
        # positions the clip itself fills (conv2 has stride 2: ceil(frames / 2) positions).
        n_pos = (frames_t + 1) // 2
        clip_pos = torch.arange(hidden.shape[1], device=hidden.device)[None, :] < n_pos[:, None]
        mean = mean_pool(hidden, valid & clip_pos)
        pooled = mean_pool(hidden, valid) if pooled is None else pooled
        emb = F.normalize(model.audio_proj(pooled), dim=-1)
        w_emb[idx] = emb.float().cpu().numpy()
        w_mean[idx] = mean.float().cpu().numpy()
        bar.update(len(idx))
    bar.close()
    if todo:
        weights = np.array([len(c) for c in chunks], dtype=np.float32)[:, None]
        owners = np.array(owner)
        emb_sum = np.zeros((len(todo), d), dtype=np.float32)
        mean_sum = np.zeros((len(todo), width), dtype=np.float32)
        np.add.at(emb_sum, owners, w_emb * weights)
        np.add.at(mean_sum, owners, w_mean * weights)
        totals = np.zeros(len(todo), dtype=np.float32)
        np.add.at(totals, owners, weights[:, 0])
        emb_full = truncate_np(emb_sum, d)
        mean_full = mean_sum / totals[:, None]
        for i, p in enumerate(todo):
            cache.store[(model_key, p, pad)] = (emb_full[i], mean_full[i])
    rows = [cache.store[(model_key, str(p), pad)] for p in paths]
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


def levels(model: WavLink, emb: np.ndarray) -> dict[int, np.ndarray]:
    """Embeddings truncated and re-normalised to every trained Matryoshka size."""
    return {d: truncate_np(emb, d) for d in model.matryoshka_dims}


def evaluate_zeroshot(
    model: WavLink, dataset: Dataset, emb: np.ndarray, templates: Sequence[str] | None = None
) -> dict:
    """``templates`` (several) replaces the set's template with a prompt ensemble."""
    classes = dataset.classes
    templates = tuple(templates) if templates else (dataset.template,)
    prompts = [" | ".join(row) for row in ensemble_prompts(classes, templates)]
    text = label_embeddings(model, classes, templates)
    targets = dataset.targets()
    out = {}
    for d, a in levels(model, emb).items():
        out[str(d)] = metrics.zero_shot_metrics(a @ truncate_np(text, d).T, targets, classes)
    return {
        "levels": out,
        "classes": classes,
        "prompts": prompts,
        "chance_top1": metrics.chance_top1(len(classes)),
    }


def evaluate_retrieval(model: WavLink, dataset: Dataset, emb: np.ndarray) -> dict:
    captions = [cap for c in dataset.clips for cap in c.captions]
    owner = [i for i, c in enumerate(dataset.clips) for _ in c.captions]
    text = embed_text(model, captions)
    out = {}
    for d, a in levels(model, emb).items():
        out[str(d)] = metrics.retrieval_metrics(a @ truncate_np(text, d).T, owner)
    return {"levels": out, "clips": len(dataset.clips), "captions": len(captions)}


def evaluate_probe(
    model: WavLink,
    dataset: Dataset,
    emb: np.ndarray,
    mean: np.ndarray,
    *,
    features: str = "both",
    cv: bool = False,
    n_splits: int = 5,
    seed: int = 0,
    grouped: bool = True,
    epochs: int = probe.EPOCHS,
    lr: float = probe.LR,
    batch_size: int = probe.BATCH_SIZE,
    progress: bool = True,
) -> dict:
    clips = dataset.clips
    targets = dataset.targets()
    splits, protocol = probe.probe_splits(
        [c.fold for c in clips],
        targets,
        [c.group for c in clips],
        cv=cv,
        n_splits=n_splits,
        seed=seed,
        grouped=grouped,
    )
    feats: dict[str, np.ndarray] = {}
    if features in ("both", "embedding"):
        feats.update({f"embedding@{d}": a for d, a in levels(model, emb).items()})
    if features in ("both", "mean"):
        feats[MEAN_FEATURE] = mean
    kwargs = dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    results = {}
    for name, x in tqdm(feats.items(), desc="linear probes", unit="feature", disable=not progress):
        results[name] = probe.run_probe(x, targets, splits, len(dataset.classes), **kwargs)
    return {
        "protocol": protocol,
        "splits": [{"name": s.name, "train": len(s.train), "test": len(s.test)} for s in splits],
        "classes": len(dataset.classes),
        "settings": {**kwargs, "standardise": "train-split mean/std", "head": "nn.Linear"},
        "features": results,
    }


def evaluate(
    model: WavLink,
    dataset: Dataset,
    tasks: Sequence[str] = TASKS,
    *,
    model_key: str = "",
    batch_size: int = 16,
    pad_to_30s: bool | None = None,
    cache: FeatureCache | None = None,
    progress: bool = True,
    probe_options: dict | None = None,
    templates: Sequence[str] | None = None,
    fewshot_options: dict | None = None,
    openset_options: dict | None = None,
) -> dict:
    """Run ``tasks`` on ``dataset``; tasks the data cannot support are listed under ``skipped``.

    ``templates`` (several) makes zero-shot, few-shot and open-set use a prompt ensemble.
    """
    t0 = time.perf_counter()
    skipped = {}
    tasks = list(dict.fromkeys(tasks))
    if not dataset.has_labels:
        skipped.update(
            {
                t: "the set has no class labels"
                for t in ("zeroshot", "probe", *EXTRA_TASKS)
                if t in tasks
            }
        )
    if "openset" in tasks and getattr(model, "openset", None) is None:
        skipped["openset"] = (
            "the model has no open-set calibration (openset.json beside its weights; fit one "
            "with python -m wavlink_core.calibration --write)"
        )
    if not dataset.has_captions and "retrieval" in tasks:
        skipped["retrieval"] = "the set has no captions"
    run = [t for t in tasks if t not in skipped]
    pad = model.config.audio.pad_to_30s if pad_to_30s is None else pad_to_30s
    emb = mean = None
    if run:
        emb, mean = extract_features(
            model,
            [str(c.path) for c in dataset.clips],
            model_key=model_key,
            batch_size=batch_size,
            pad_to_30s=pad,
            cache=cache,
            progress=progress,
        )
    t_feat = time.perf_counter() - t0
    out: dict = {"skipped": skipped}
    if "zeroshot" in run:
        out["zeroshot"] = evaluate_zeroshot(model, dataset, emb, templates)
    if "retrieval" in run:
        out["retrieval"] = evaluate_retrieval(model, dataset, emb)
    if "probe" in run:
        out["probe"] = evaluate_probe(
            model, dataset, emb, mean, progress=progress, **(probe_options or {})
        )
    if "fewshot" in run:
        from .fewshot import evaluate_fewshot

        out["fewshot"] = evaluate_fewshot(
            model, dataset, emb, templates=templates, **(fewshot_options or {})
        )
    if "openset" in run:
        from .openset import evaluate_openset

        out["openset"] = evaluate_openset(
            model, dataset, emb, templates=templates, **(openset_options or {})
        )
    out["timing_s"] = {"features": round(t_feat, 2), "total": round(time.perf_counter() - t0, 2)}
    out["pad_to_30s"] = pad
    return out


def clip_counts(clips: Sequence[Clip]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in clips:
        if c.label is not None:
            counts[c.label] = counts.get(c.label, 0) + 1
    return dict(sorted(counts.items()))
