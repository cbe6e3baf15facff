"""Open-set evaluation: how often "no label fits" is said wrongly, with half the labels removed.

For each of ``halves`` random draws, half the classes stay candidates ("known") and the rest are
removed ("unknown"). A known clip flagged as fitting no label is a false reject; an unknown clip
not flagged (so one of the remaining labels is named for it) is a false accept. Zero-shot uses every
clip; few-shot draws ``shots`` examples per known class from the training part of the probe's
splits and scores the held-out clips. The thresholds are the model's own ``openset.json``
(fitted on the training corpus's validation split): nothing is fitted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..fewshot import DEFAULT_ALPHA, DEFAULT_BETA, FewShotClassifier
from ..matryoshka import truncate_np
from ..openset import OpenSetCalibration
from .datasets import Dataset
from .fewshot import draw_examples, task_setup

if TYPE_CHECKING:
    from ..model import WavLink


def rates(
    calibration: OpenSetCalibration,
    mode: str,
    dim: int,
    ranking: np.ndarray,
    evidence: np.ndarray,
    known: np.ndarray,
) -> dict[str, float]:
    """False-reject / false-accept counts of one candidate set.

    Args:
        ranking: (Q, K) scores over the K candidate labels (argmax = the named label).
        evidence: (Q, K) evidence cosines over the same labels.
        known: (Q,) True where the clip's class is among the candidates.
    """
    if str(dim) not in calibration.rules.get(mode, {}):
        raise ValueError(
            f"the open-set calibration has no {mode} rule for size {dim} (it has "
            f"{sorted(calibration.rules.get(mode, {}))}); fit it again for this model"
        )
    flagged = np.array(
        [
            calibration.verdict(mode, dim, evidence[i], int(ranking[i].argmax())).no_match
            for i in range(len(ranking))
        ]
    )
    return {
        "false_reject": int((flagged & known).sum()),
        "known": int(known.sum()),
        "false_accept": int((~flagged & ~known).sum()),
        "unknown": int((~known).sum()),
    }


def _summary(counts: list[dict[str, int]]) -> dict[str, float]:
    frr = [c["false_reject"] / c["known"] for c in counts if c["known"]]
    far = [c["false_accept"] / c["unknown"] for c in counts if c["unknown"]]
    return {
        "false_reject_rate": float(np.mean(frr)),
        "false_reject_std": float(np.std(frr)),
        "false_accept_rate": float(np.mean(far)),
        "false_accept_std": float(np.std(far)),
        "known_clips": int(np.mean([c["known"] for c in counts])),
        "unknown_clips": int(np.mean([c["unknown"] for c in counts])),
    }


def evaluate_openset(
    model: WavLink,
    dataset: Dataset,
    emb: np.ndarray,
    *,
    halves: int = 10,
    shots: int = 5,
    seed: int = 0,
    templates: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
) -> dict:
    """False-reject and false-accept rates (mean ± std over ``halves``) at every size."""
    calibration: OpenSetCalibration | None = getattr(model, "openset", None)
    if calibration is None:
        raise ValueError(
            "this model has no open-set calibration (openset.json beside its weights); fit one "
            "with python -m wavlink_core.calibration --write"
        )
    classes, y, splits, protocol, templates, text = task_setup(model, dataset, seed, templates)
    rng = np.random.default_rng(seed)
    kept = [
        np.sort(rng.choice(len(classes), len(classes) // 2, replace=False)) for _ in range(halves)
    ]
    levels = {}
    for d in model.matryoshka_dims:
        emb_d, text_d = truncate_np(emb, d), truncate_np(text, d)
        zs, fs = [], []
        shot_rng = np.random.default_rng([seed, shots])
        for keep in kept:
            known = np.isin(y, keep)
            cos = emb_d @ text_d[keep].T
            zs.append(rates(calibration, "zeroshot", d, cos, cos, known))
            total: dict[str, int] = {}
            for s in splits:
                train = s.train[np.isin(y[s.train], keep)]
                ex = draw_examples(train, y, shots, shot_rng)
                index = {c: i for i, c in enumerate(keep)}
                clf = FewShotClassifier(
                    model,
                    tuple(classes[c] for c in keep),
                    text[keep],
                    emb[ex],
                    np.array([index[c] for c in y[ex]]),
                    (),
                    templates,
                    d,
                    alpha,
                    beta,
                )
                logits, nearest, _ = clf.scores(emb[s.test])
                part = rates(calibration, "fewshot", d, logits, nearest, known[s.test])
                total = {k: total.get(k, 0) + v for k, v in part.items()}
            fs.append(total)
        levels[str(d)] = {
            "zeroshot": _summary(zs),
            "fewshot": _summary(fs),
            "rules": {m: calibration.rules.get(m, {}).get(str(d)) for m in ("zeroshot", "fewshot")},
        }
    return {
        "halves": halves,
        "kept_per_half": len(classes) // 2,
        "shots": shots,
        "seed": seed,
        "fewshot_protocol": protocol,
        "calibration": calibration.provenance,
        "levels": levels,
    }


def openset_markdown(o: dict) -> list[str]:
    """Lines of the open-set section of ``results.md``."""
    lines = [
        "",
        f'## Open set ("no label fits"; {o["kept_per_half"]} labels kept of each of '
        f"{o['halves']} random halves)",
        "",
        f"False reject = a clip of a kept label flagged as fitting none; false accept = a clip of a "
        f"removed label not flagged. Mean ± std over halves, %. Few-shot: {o['shots']} examples per "
        f"kept label ({o['fewshot_protocol']}), held-out clips. Thresholds from the model's "
        "openset.json, fitted on the training corpus's validation split.",
        "",
        "| dim | zero-shot rule | zero-shot false reject % | zero-shot false accept % "
        "| few-shot rule | few-shot false reject % | few-shot false accept % |",
        "|---|---|---|---|---|---|---|",
    ]
    for dim, v in o["levels"].items():
        cells = []
        for mode in ("zeroshot", "fewshot"):
            r, s = v["rules"][mode], v[mode]
            cells += [
                f"{r['score']} < {r['threshold']:.3f}" if r else "–",
                f"{100 * s['false_reject_rate']:.1f} ± {100 * s['false_reject_std']:.1f}",
                f"{100 * s['false_accept_rate']:.1f} ± {100 * s['false_accept_std']:.1f}",
            ]
        lines.append(f"| {dim} | " + " | ".join(cells) + " |")
    return lines
