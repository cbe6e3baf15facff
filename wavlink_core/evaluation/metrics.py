"""Evaluation metrics on similarity matrices (pure numpy).

Ranks are 0-based and pessimistic on ties: an item's rank is the number of *other* candidates
scoring at least as high as it does. A model that scores everything alike therefore gets no credit
(an argsort would credit whichever candidate happens to come first).

Retrieval follows the LAION-CLAP reference evaluator (``evaluate_clotho_audiocaps``):

* text→audio: every caption is a query over the N clips; R@K = fraction of captions whose clip
  ranks < K (equal to averaging over the 5 caption sets);
* audio→text: every clip is a query over all captions; its rank is the best (smallest) rank among
  its own captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RECALL_KS = (1, 5, 10)


def ranks_of_targets(sim: np.ndarray, targets: Sequence[int] | np.ndarray) -> np.ndarray:
    """0-based rank of ``targets[i]`` among the candidates of query ``i``.

    Args:
        sim: (Q, C) similarity, queries in rows, candidates in columns; higher is better.
        targets: (Q,) index of the correct candidate of each query.

    Returns:
        (Q,) int ranks: how many other candidates score >= the target (0 = ranked first).
    """
    sim = np.asarray(sim, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if sim.ndim != 2 or targets.shape != (sim.shape[0],):
        raise ValueError(
            f"sim must be (Q, C) and targets (Q,); got {sim.shape} and {targets.shape}"
        )
    if targets.size and (targets.min() < 0 or targets.max() >= sim.shape[1]):
        raise ValueError(f"targets must lie in 0..{sim.shape[1] - 1}")
    true = sim[np.arange(sim.shape[0]), targets][:, None]  # (Q, 1)
    return (sim >= true).sum(axis=1) - 1  # minus the target itself


def topk_accuracy(sim: np.ndarray, targets: Sequence[int] | np.ndarray, k: int = 1) -> float:
    """Fraction of rows (clips) whose correct column (class) ranks in the top ``k``."""
    ranks = ranks_of_targets(sim, targets)
    return float((ranks < k).mean()) if ranks.size else float("nan")


def recall_at(ranks: np.ndarray, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """``{"R@1": ..., "R@5": ..., "R@10": ...}`` from 0-based ranks."""
    ranks = np.asarray(ranks)
    return {f"R@{k}": float((ranks < k).mean()) for k in ks}


def text_to_audio_ranks(sim: np.ndarray, caption_owner: Sequence[int] | np.ndarray) -> np.ndarray:
    """Rank of each caption's own clip among the N clips.

    Args:
        sim: (N, M) similarity of N clips (rows) to M captions (columns).
        caption_owner: (M,) index of the clip each caption describes.

    Returns:
        (M,) 0-based ranks.
    """
    return ranks_of_targets(np.asarray(sim).T, caption_owner)


def audio_to_text_ranks(sim: np.ndarray, caption_owner: Sequence[int] | np.ndarray) -> np.ndarray:
    """Best rank among a clip's own captions, each clip querying all M captions.

    Args:
        sim: (N, M) similarity of N clips to M captions.
        caption_owner: (M,) index of the clip each caption describes; every clip needs >= 1.

    Returns:
        (N,) 0-based ranks.
    """
    sim = np.asarray(sim, dtype=np.float64)
    owner = np.asarray(caption_owner, dtype=np.int64)
    n, m = sim.shape
    if owner.shape != (m,):
        raise ValueError(f"caption_owner must have shape ({m},), got {owner.shape}")
    missing = sorted(set(range(n)) - set(owner.tolist()))
    if missing:
        raise ValueError(f"clips {missing[:10]} have no caption")
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        own = np.flatnonzero(owner == i)
        row = sim[i]
        # rank of each own caption = other captions scoring >= it; the clip keeps the best one.
        out[i] = min(int((row >= row[j]).sum()) - 1 for j in own)
    return out


def retrieval_metrics(
    sim: np.ndarray, caption_owner: Sequence[int] | np.ndarray, ks: Sequence[int] = RECALL_KS
) -> dict[str, float | int]:
    """R@K both ways, mean/median ranks (1-based) and the query counts, as a flat dict."""
    t2a = text_to_audio_ranks(sim, caption_owner)
    a2t = audio_to_text_ranks(sim, caption_owner)
    out: dict[str, float | int] = {}
    for name, ranks in (("t2a", t2a), ("a2t", a2t)):
        for key, value in recall_at(ranks, ks).items():
            out[f"{name}_{key}"] = value
        out[f"{name}_medR"] = float(np.median(ranks) + 1)
        out[f"{name}_queries"] = int(ranks.size)
    return out


def zero_shot_metrics(
    sim: np.ndarray, targets: Sequence[int] | np.ndarray, classes: Sequence[str] | None = None
) -> dict:
    """Top-1 accuracy (top-5 too when there are at least 5 classes), the clip count and, given
    ``classes``, each class's top-1 accuracy (``per_class``) and most frequent wrong answer
    (``confused_with``): what a model card needs to say what the model is bad at."""
    sim = np.asarray(sim)
    targets = np.asarray(targets)
    out: dict = {"top1": topk_accuracy(sim, targets, 1)}
    if sim.shape[1] >= 5:
        out["top5"] = topk_accuracy(sim, targets, 5)
    out["clips"] = int(sim.shape[0])
    out["correct"] = int(round(out["top1"] * sim.shape[0]))
    if classes is not None:
        pred = sim.argmax(axis=1)
        out["per_class"], out["confused_with"] = {}, {}
        for i, name in enumerate(classes):
            mine = targets == i
            if not mine.any():
                continue
            out["per_class"][name] = float((pred[mine] == i).mean())
            wrong = pred[mine & (pred != i)]
            if wrong.size:
                out["confused_with"][name] = classes[int(np.bincount(wrong).argmax())]
    return out


def chance_top1(n_classes: int) -> float:
    return 1.0 / n_classes if n_classes else float("nan")
