""" "None of these labels fits": a calibrated threshold that lets a result say no label matches.

A classifier always ranks its labels; this module says whether the best one fits at all. The
evidence for a label is a cosine: clip to label prompt (zero-shot) or clip to that label's nearest
example (few-shot). Two scores are compared against a threshold:

* ``cosine`` -- the evidence of the top-ranked label;
* ``margin`` -- that evidence minus the best evidence among the other labels.

Thresholds are fitted per mode (``zeroshot``, ``fewshot``) and per Matryoshka size, by
:mod:`wavlink_core.calibration` on the training corpus's validation split, and stored beside the
weights as ``openset.json`` with their provenance. Nothing here reads evaluation data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CheckpointError

OPENSET_NAME = "openset.json"
SCORE_KINDS = ("cosine", "margin")
MODES = ("zeroshot", "fewshot")


@dataclass(frozen=True)
class OpenSetVerdict:
    """Whether the top label fits: ``no_match`` is True when ``score < threshold``."""

    no_match: bool
    score: float
    threshold: float
    score_kind: str  # "cosine" or "margin", see the module docstring


def open_set_score(kind: str, evidence: Sequence[float] | np.ndarray, top: int) -> float:
    """The ``kind`` score of label ``top`` given every label's evidence cosine."""
    evidence = np.asarray(evidence, dtype=np.float64)
    if kind == "cosine":
        return float(evidence[top])
    if kind == "margin":
        others = np.delete(evidence, top)
        # One candidate has no rival; its margin is its evidence, so a single label can still fail.
        return float(evidence[top] - (others.max() if others.size else 0.0))
    raise ValueError(f"open-set score kind {kind!r}; choose one of {SCORE_KINDS}")


@dataclass(frozen=True)
class OpenSetCalibration:
    """Fitted thresholds: ``rules[mode][str(dim)] = {"score": kind, "threshold": t, ...}``."""

    rules: dict
    provenance: dict = field(default_factory=dict)

    def verdict(
        self, mode: str, dim: int, evidence: Sequence[float] | np.ndarray, top: int
    ) -> OpenSetVerdict | None:
        """The verdict for the ranked label ``top``, or None when this mode/size was not fitted."""
        rule = self.rules.get(mode, {}).get(str(dim))
        if rule is None:
            return None
        score = open_set_score(rule["score"], evidence, top)
        return OpenSetVerdict(
            score < rule["threshold"], score, float(rule["threshold"]), rule["score"]
        )


def read_openset(directory: str | Path) -> OpenSetCalibration | None:
    """The calibration stored in a checkpoint folder, or None when it has none."""
    path = Path(directory) / OPENSET_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        rules = data["rules"]
        for mode, per_dim in rules.items():
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r} (valid: {MODES})")
            for dim, rule in per_dim.items():
                if rule["score"] not in SCORE_KINDS or not np.isfinite(float(rule["threshold"])):
                    raise ValueError(f"{mode}/{dim}: bad rule {rule!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a valid open-set calibration: {exc}") from exc
    return OpenSetCalibration(rules, data.get("provenance", {}))


def write_openset(calibration: OpenSetCalibration, directory: str | Path) -> Path:
    """Write ``openset.json`` into ``directory``; returns its path."""
    path = Path(directory) / OPENSET_NAME
    body = {"rules": calibration.rules, "provenance": calibration.provenance}
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path
