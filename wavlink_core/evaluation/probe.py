"""Linear probe on frozen features, the Whisper-AuT protocol (arXiv 2604.10438 §2.6).

One ``nn.Linear(F, C)`` trained with cross-entropy, Adam lr 1e-3, 50 epochs, mini-batch 64, and
the last epoch's test accuracy reported (no validation, no early stopping). Features are
standardised with the *training* split's per-channel mean and standard deviation (the paper does
not say; without it the probe on raw Whisper states trains poorly in 50 epochs). Initialisation and
shuffling are seeded, so a run is repeatable.

Splits (:func:`probe_splits`): an official train/test split when the clips carry one (FSDD),
official folds when they carry folds (ESC: train 1-4, test 5, or leave-one-fold-out with ``cv``),
otherwise a stratified k-fold cross-validation with a fixed seed, keeping each group (source
recording) inside one fold when groups are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

EPOCHS = 50
LR = 1e-3
BATCH_SIZE = 64


@dataclass(frozen=True)
class Split:
    name: str  # e.g. "fold 5", "official test"
    train: np.ndarray  # indices
    test: np.ndarray


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both sets by the training mean and std (channels with zero spread are left centred)."""
    mean = train.mean(axis=0, keepdims=True)
    std = train.std(axis=0, keepdims=True)
    std[std < 1e-8] = 1.0
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def train_linear_probe(
    x_train: np.ndarray,
    y_train: Sequence[int] | np.ndarray,
    x_test: np.ndarray,
    y_test: Sequence[int] | np.ndarray,
    n_classes: int | None = None,
    *,
    epochs: int = EPOCHS,
    lr: float = LR,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    normalise: bool = True,
) -> dict[str, float | int]:
    """Train one linear layer on ``x_train`` and score it on ``x_test``.

    Returns:
        ``{"accuracy", "correct", "test_clips", "train_clips", "train_accuracy"}``.
    """
    y_train = np.asarray(y_train, dtype=np.int64)
    y_test = np.asarray(y_test, dtype=np.int64)
    x_train = np.asarray(x_train, dtype=np.float32)
    x_test = np.asarray(x_test, dtype=np.float32)
    if normalise:
        x_train, x_test = standardise(x_train, x_test)
    n_classes = n_classes or int(max(y_train.max(), y_test.max() if y_test.size else 0)) + 1
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(xt.shape[1], n_classes)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(head.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        for _ in range(epochs):
            order = torch.randperm(len(yt), generator=gen)
            for start in range(0, len(yt), batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad()
                loss_fn(head(xt[idx]), yt[idx]).backward()
                opt.step()
    with torch.no_grad():
        pred_test = head(torch.from_numpy(x_test)).argmax(-1).numpy()
        pred_train = head(xt).argmax(-1).numpy()
    correct = int((pred_test == y_test).sum())
    return {
        "accuracy": correct / len(y_test) if len(y_test) else float("nan"),
        "correct": correct,
        "test_clips": int(len(y_test)),
        "train_clips": int(len(y_train)),
        "train_accuracy": float((pred_train == y_train).mean()),
    }


def probe_splits(
    folds: Sequence[int | str | None],
    targets: Sequence[int],
    groups: Sequence[str | None] | None = None,
    *,
    cv: bool = False,
    test_fold: int | None = None,
    n_splits: int = 5,
    seed: int = 0,
    grouped: bool = True,
) -> tuple[list[Split], str]:
    """Train/test index splits for a set of clips, and a one-line description of the protocol."""
    folds = list(folds)
    n = len(folds)
    idx = np.arange(n)
    if n and all(f in ("train", "test") for f in folds):
        is_test = np.array([f == "test" for f in folds])
        return [Split("official test", idx[~is_test], idx[is_test])], "official train/test split"
    if n and all(isinstance(f, int) for f in folds):
        values = sorted(set(folds))
        arr = np.array(folds)
        if cv:
            splits = [Split(f"fold {v}", idx[arr != v], idx[arr == v]) for v in values]
            return splits, f"{len(values)}-fold cross-validation over the official folds"
        test = values[-1] if test_fold is None else test_fold
        if test not in values:
            raise ValueError(f"test fold {test} not among the folds {values}")
        train = [v for v in values if v != test]
        desc = f"official folds: train {','.join(map(str, train))} → test {test}"
        return [Split(f"fold {test}", idx[arr != test], idx[arr == test])], desc
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(targets)
    use_groups = grouped and groups is not None and all(g is not None for g in groups)
    if use_groups:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        parts = splitter.split(idx, y, groups=list(groups))
        how = "grouped by source recording"
    else:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        parts = splitter.split(idx, y)
        how = "clips shuffled independently"
    splits = [Split(f"cv {k + 1}", tr, te) for k, (tr, te) in enumerate(parts)]
    return splits, f"stratified {n_splits}-fold CV (seed {seed}, {how}; the set has no folds)"


def run_probe(
    features: np.ndarray,
    targets: Sequence[int],
    splits: list[Split],
    n_classes: int,
    **kwargs,
) -> dict[str, object]:
    """Probe every split; pooled accuracy = all test predictions together (each clip once in CV)."""
    y = np.asarray(targets)
    per_split = []
    for s in splits:
        r = train_linear_probe(
            features[s.train], y[s.train], features[s.test], y[s.test], n_classes, **kwargs
        )
        per_split.append({"split": s.name, **r})
    correct = sum(r["correct"] for r in per_split)
    total = sum(r["test_clips"] for r in per_split)
    accs = [r["accuracy"] for r in per_split]
    return {
        "accuracy": correct / total if total else float("nan"),
        "correct": correct,
        "test_clips": total,
        "mean_split_accuracy": float(np.mean(accs)),
        "std_split_accuracy": float(np.std(accs)),
        "splits": per_split,
    }
