"""Few-shot evaluation: K examples per class drawn from the training part, scored on held-out clips.

Splits are the linear probe's (:func:`probe.probe_splits`): ESC-10 trains on folds 1-4 and tests on
fold 5; a set without folds (the US8K subset) uses a stratified 5-fold CV grouped by source
recording, so no example shares a recording with a test clip. Each draw picks K examples per class
at random from every training part; a draw's accuracy pools every split's test predictions. The
table gives the mean and standard deviation over draws at every Matryoshka size, beside zero-shot
and the class mean of the examples (no text) on the same test clips. With ``head`` other than
"none", each draw is also scored with the linear head (:mod:`wavlink_core.fewshot_head`) fitted on
the same examples at the same size ("auto": only from ``head_min_shots`` examples per class), so
both columns compare like for like.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..fewshot import DEFAULT_ALPHA, DEFAULT_BETA, FewShotClassifier
from ..fewshot_head import (
    DEFAULT_HEAD_L2,
    DEFAULT_HEAD_MIN_SHOTS,
    check_head,
    fit_linear_head,
    wants_head,
)
from ..matryoshka import truncate_np
from ..prompts import label_embeddings
from . import probe
from .datasets import Dataset

if TYPE_CHECKING:
    from ..model import WavLink


def draw_examples(
    train: np.ndarray, targets: np.ndarray, shots: int, rng: np.random.Generator
) -> np.ndarray:
    """``shots`` indices per class from ``train`` (fewer when a class has fewer clips there)."""
    picked = []
    for c in np.unique(targets[train]):
        pool = train[targets[train] == c]
        picked.append(rng.choice(pool, size=min(shots, len(pool)), replace=False))
    return np.concatenate(picked)


def prototype_logits(
    query: np.ndarray, examples: np.ndarray, labels: np.ndarray, n: int
) -> np.ndarray:
    """Cosine of each clip to each class's mean example (the text-free reference); a class with
    no example scores -2, below any cosine."""
    out = np.full((len(query), n), -2.0, dtype=np.float32)
    for c in np.unique(labels):
        mean = examples[labels == c].mean(axis=0, keepdims=True)
        out[:, c] = (query @ truncate_np(mean, mean.shape[1]).T)[:, 0]
    return out


def head_right(
    clf: FewShotClassifier,
    test_emb: np.ndarray,
    test_y: np.ndarray,
    scale: float,
    head: str,
    l2: float,
    min_shots: int,
) -> int:
    """Test clips ``clf`` names right once ``head`` is fitted on its examples at its size (a
    class without examples in the fold keeps its text prior); "auto" below ``min_shots`` stays
    training-free, as :func:`wavlink_core.fewshot.fit_examples` does."""
    from dataclasses import replace

    present = np.unique(clf.example_label)
    if wants_head(head, np.searchsorted(present, clf.example_label), min_shots):
        fitted = fit_linear_head(
            clf.example_emb,
            np.searchsorted(present, clf.example_label),
            clf.text_emb[present],
            scale,
            (clf.dim,),
            l2,
        )
        # Only the classes with examples get a fitted row; the others keep their prompt.
        w = truncate_np(clf.text_emb, clf.dim).copy()
        b = np.zeros(len(clf.labels), dtype=np.float32)
        w[present], b[present] = fitted.weights[clf.dim], fitted.bias[clf.dim]
        clf = replace(clf, head=replace(fitted, weights={clf.dim: w}, bias={clf.dim: b}))
    return int((clf.scores(test_emb)[0].argmax(axis=1) == test_y).sum())


def task_setup(
    model: WavLink, dataset: Dataset, seed: int, templates: Sequence[str] | None
) -> tuple[list[str], np.ndarray, list[probe.Split], str, tuple[str, ...], np.ndarray]:
    """Classes, targets, the probe's splits and protocol, the templates and the label embeddings."""
    y = np.asarray(dataset.targets())
    clips = dataset.clips
    splits, protocol = probe.probe_splits(
        [c.fold for c in clips], y, [c.group for c in clips], seed=seed
    )
    templates = tuple(templates) if templates else (dataset.template,)
    return (
        dataset.classes,
        y,
        splits,
        protocol,
        templates,
        label_embeddings(model, dataset.classes, templates),
    )


def evaluate_fewshot(
    model: WavLink,
    dataset: Dataset,
    emb: np.ndarray,
    *,
    shots: Sequence[int] = (1, 2, 5),
    draws: int = 10,
    seed: int = 0,
    templates: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    head: str = "none",
    head_l2: float = DEFAULT_HEAD_L2,
    head_min_shots: int = DEFAULT_HEAD_MIN_SHOTS,
) -> dict:
    """Few-shot accuracy (mean ± std over ``draws``) at every size and shot count; see module doc."""
    check_head(head)
    classes, y, splits, protocol, templates, text = task_setup(model, dataset, seed, templates)
    scale = float(model.scale().detach().item())
    head_opts = (head, head_l2, head_min_shots)
    test_all = np.concatenate([s.test for s in splits])
    # Grouped folds can leave a class without any training clip: no example can be drawn for it,
    # so its test clips in that fold cannot be named from examples (the probe has the same limit).
    unreachable = sum(int((~np.isin(y[s.test], y[s.train])).sum()) for s in splits)
    levels: dict[str, dict] = {}
    for d in model.matryoshka_dims:
        text_d, emb_d = truncate_np(text, d), truncate_np(emb, d)
        zs = float((np.argmax(emb_d[test_all] @ text_d.T, axis=1) == y[test_all]).mean())
        row: dict = {"zeroshot": zs, "shots": {}}
        for k in shots:
            rng = np.random.default_rng([seed, k])
            acc, proto, with_head = [], [], []
            for _ in range(draws):
                right = right_proto = right_head = 0
                for s in splits:
                    ex = draw_examples(s.train, y, k, rng)
                    clf = FewShotClassifier(
                        model, tuple(classes), text, emb[ex], y[ex], (), templates, d, alpha, beta
                    )
                    logits = clf.scores(emb[s.test])[0]
                    right += int((logits.argmax(axis=1) == y[s.test]).sum())
                    if head != "none":
                        right_head += head_right(clf, emb[s.test], y[s.test], scale, *head_opts)
                    p = prototype_logits(emb_d[s.test], emb_d[ex], y[ex], len(classes))
                    right_proto += int((p.argmax(axis=1) == y[s.test]).sum())
                acc.append(right / len(test_all))
                proto.append(right_proto / len(test_all))
                with_head.append(right_head / len(test_all))
            row["shots"][str(k)] = {
                "mean": float(np.mean(acc)),
                "std": float(np.std(acc)),
                "draws": [float(a) for a in acc],
                "prototype_mean": float(np.mean(proto)),
                "prototype_std": float(np.std(proto)),
                **(
                    {"head_mean": float(np.mean(with_head)), "head_std": float(np.std(with_head))}
                    if head != "none"
                    else {}
                ),
            }
        levels[str(d)] = row
    return {
        "protocol": protocol,
        "splits": [{"name": s.name, "train": len(s.train), "test": len(s.test)} for s in splits],
        "test_clips": int(len(test_all)),
        "test_clips_without_examples": unreachable,
        "classes": classes,
        "draws": draws,
        "seed": seed,
        "templates": list(templates),
        "alpha": alpha,
        "beta": beta,
        "head": None
        if head == "none"
        else {"kind": head, "l2": head_l2, "min_shots": head_min_shots},
        "levels": levels,
    }


def fewshot_markdown(f: dict) -> list[str]:
    """Lines of the few-shot section of ``results.md``."""
    shots = list(next(iter(f["levels"].values()))["shots"])
    head = f.get("head")
    head_note = ""
    if head:
        auto = head["kind"] == "auto"
        head_note = (
            f" `+ head` = the same draws with the linear head ({head['kind']}, l2 {head['l2']}"
            + (f", only from {head['min_shots']} examples per class" if auto else "")
            + ")."
        )
    lines = [
        "",
        f"## Few-shot classification ({f['protocol']}; {f['test_clips']} test clips, "
        f"{len(f['classes'])} classes)",
        "",
        f"Examples drawn at random from each training part, {f['draws']} draws (seed {f['seed']}); "
        f"mean ± std over draws, %. Blend alpha {f['alpha']}, beta {f['beta']}; "
        f"{len(f['templates'])} template(s). `class mean` = cosine to the mean example, no text."
        + head_note
        + (
            f" {f['test_clips_without_examples']} test clips belong to a class with no training "
            "clip in their fold (grouped folds), so no example of their class can be drawn."
            if f.get("test_clips_without_examples")
            else ""
        ),
        "",
        "| dim | zero-shot % | "
        + " | ".join(f"{k}-shot %" for k in shots)
        + " | "
        + (" | ".join(f"{k}-shot + head %" for k in shots) + " | " if head else "")
        + " | ".join(f"{k}-shot class mean %" for k in shots)
        + " |",
        "|" + "---|" * (2 + (3 if head else 2) * len(shots)),
    ]
    for dim, v in f["levels"].items():
        cells = [
            f"{100 * v['shots'][k]['mean']:.1f} ± {100 * v['shots'][k]['std']:.1f}" for k in shots
        ]
        if head:
            cells += [
                f"{100 * r['head_mean']:.1f} ± {100 * r['head_std']:.1f}"
                for r in (v["shots"][k] for k in shots)
            ]
        cells += [
            f"{100 * v['shots'][k]['prototype_mean']:.1f} ± {100 * v['shots'][k]['prototype_std']:.1f}"
            for k in shots
        ]
        lines.append(f"| {dim} | {100 * v['zeroshot']:.1f} | " + " | ".join(cells) + " |")
    return lines
