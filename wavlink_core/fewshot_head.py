"""A linear head on a user's examples, started from the label prompts (few-shot, when there are enough).

CLIP's linear probe with its zero-shot weights as the starting point (Radford et al. 2021, §3.2;
LP++, Huang et al., CVPR 2024, arXiv 2404.02285; CLAP, Silva-Rodriguez et al., CVPR 2024, arXiv
2312.12730): one weight row per label, ``W_c``, starts at the label's prompt embedding, so before
any fit the head scores exactly the text cosine that zero-shot uses. It is fitted by class-balanced
cross-entropy on the example embeddings with an L2 penalty that pulls ``W`` back toward the prompt
embeddings (weight decay toward the text prior, not toward zero)::

    min_{W, b}  mean_c mean_{e in c} CE(scale * (e W^T + b), c) + l2 * (||W - T||^2 + ||b||^2)

With few examples the prior wins (a large ``l2`` keeps the head at the text); with more, the
examples move it. In :class:`wavlink_core.fewshot.FewShotClassifier` the head's score replaces the
text cosine inside the Tip-Adapter blend (``scale * (head + alpha * affinity)``), so the
training-free cache evidence is kept. One head is fitted per Matryoshka size (each on the
truncated, renormalised embeddings), so a fit still works at every size.

The defaults, ``l2`` and the example count from which ``head="auto"`` uses the head, are the best
on few-shot episodes of the training corpus's validation split (``python -m
wavlink_core.calibration``), never on the evaluation sets; see ``docs/evaluation.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .matryoshka import truncate_np

HEADS = ("auto", "none", "linear")
# Chosen on corpus validation episodes (python -m wavlink_core.calibration); see the docstring.
DEFAULT_HEAD_L2 = 0.1
DEFAULT_HEAD_MIN_SHOTS = 1
MAX_ITER = 200


@dataclass(frozen=True)
class LinearHead:
    """Per Matryoshka size, weights (C, d) and biases (C,) of a head fitted on examples."""

    weights: dict[int, np.ndarray]
    bias: dict[int, np.ndarray]
    l2: float

    def score(self, query: np.ndarray, dim: int) -> np.ndarray:
        """The head's (Q, C) scores of unit-norm ``query`` embeddings at size ``dim``.

        Raises:
            KeyError: no head was fitted at ``dim``.
        """
        return truncate_np(query, dim) @ self.weights[dim].T + self.bias[dim]

    def tensors(self) -> dict[str, np.ndarray]:
        """The arrays to save (``head_w_<dim>``, ``head_b_<dim>``)."""
        out = {}
        for d in sorted(self.weights):
            out[f"head_w_{d}"] = np.ascontiguousarray(self.weights[d], dtype=np.float32)
            out[f"head_b_{d}"] = np.ascontiguousarray(self.bias[d], dtype=np.float32)
        return out

    @classmethod
    def from_tensors(cls, arrays: dict[str, np.ndarray], l2: float) -> LinearHead | None:
        """The head saved by :meth:`tensors` in ``arrays``, or None when there is none."""
        dims = sorted(int(k[len("head_w_") :]) for k in arrays if k.startswith("head_w_"))
        if not dims:
            return None
        return cls(
            {d: arrays[f"head_w_{d}"] for d in dims},
            {d: arrays[f"head_b_{d}"] for d in dims},
            float(l2),
        )


def check_head(head: str) -> str:
    if head not in HEADS:
        raise ValueError(f"head={head!r} is not valid; choose one of {list(HEADS)}")
    return head


def wants_head(head: str, example_label: np.ndarray, min_shots: int) -> bool:
    """Whether ``head`` ("auto", "none", "linear") fits a head on these examples: "auto" does
    when every label has at least ``min_shots`` examples."""
    if check_head(head) != "auto":
        return head == "linear"
    return int(np.bincount(example_label).min()) >= min_shots


def fit_head_at(
    examples: np.ndarray, example_label: np.ndarray, text: np.ndarray, scale: float, l2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (C, d) and biases (C,) of the head on unit-norm ``examples`` (N, d).

    A pure function of its inputs (L-BFGS from the text prior, so deterministic).

    Args:
        examples: (N, d) unit-norm example embeddings at one size.
        example_label: (N,) class index of each example, in ``range(C)``.
        text: (C, d) unit-norm label prompt embeddings at the same size (the starting point and
            the centre of the penalty).
        scale: the model's logit scale (the temperature zero-shot uses).
        l2: weight of the penalty toward ``text``; must be > 0 (it keeps the fit well posed).
    """
    from scipy.optimize import minimize

    if not l2 > 0:
        raise ValueError(f"l2={l2} must be > 0")
    n_classes, n = len(text), len(examples)
    x, t = examples.astype(np.float64), text.astype(np.float64)
    # The penalty is on W - T and the loss sees W only through x W^T, so the optimum has
    # W = T + A x (representer theorem): solve for A (C, N) instead of W (C, d), a far smaller
    # problem whenever there are fewer examples than dimensions (always, for few-shot).
    gram, prior = x @ x.T, x @ t.T
    onehot = np.eye(n_classes)[example_label]
    # Class-balanced: each label weighs the same however many examples it has.
    counts = np.maximum(onehot.sum(axis=0), 1)
    sample_w = (onehot / counts).sum(axis=1) / np.count_nonzero(onehot.sum(axis=0))

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta[: n_classes * n].reshape(n_classes, n), theta[n_classes * n :]
        logits = scale * (prior + gram @ a.T + b)
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        ce = -(sample_w * (log_p * onehot).sum(axis=1)).sum()
        g = scale * (np.exp(log_p) - onehot) * sample_w[:, None]  # d loss / d score
        ak = a @ gram
        ga = (g.T + 2 * l2 * a) @ gram
        gb = g.sum(axis=0) + 2 * l2 * b
        loss = ce + l2 * ((ak * a).sum() + (b**2).sum())
        return float(loss), np.concatenate([ga.ravel(), gb])

    theta0 = np.zeros(n_classes * n + n_classes)
    res = minimize(loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": MAX_ITER})
    a, b = res.x[: n_classes * n].reshape(n_classes, n), res.x[n_classes * n :]
    return (t + a @ x).astype(np.float32), b.astype(np.float32)


def fit_linear_head(
    examples: np.ndarray,
    example_label: np.ndarray,
    text: np.ndarray,
    scale: float,
    dims: Iterable[int],
    l2: float = DEFAULT_HEAD_L2,
) -> LinearHead:
    """A head per size in ``dims`` from full-size ``examples`` (N, D) and ``text`` (C, D)."""
    weights, bias = {}, {}
    for d in dims:
        weights[d], bias[d] = fit_head_at(
            truncate_np(examples, d), example_label, truncate_np(text, d), scale, l2
        )
    return LinearHead(weights, bias, float(l2))
