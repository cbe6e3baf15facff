"""``python -m wavlink_core classify FILE --examples DIR``: few-shot classification from the shell.

DIR is either a folder with one subfolder of example clips per label, or a classifier saved by
``FewShotClassifier.save`` (``fewshot.json`` + ``fewshot.safetensors``). ``--save DIR2`` keeps a fit
so the examples are not embedded again next time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .fewshot import JSON_NAME, FewShotClassifier, fit_examples
from .openset import OpenSetVerdict


def open_set_line(verdict: OpenSetVerdict | None) -> str:
    """One line saying whether the top label fits (empty when the model has no calibration)."""
    if verdict is None:
        return ""
    if verdict.no_match:
        return (
            f"open set: NO LABEL FITS ({verdict.score_kind} {verdict.score:.3f} < threshold "
            f"{verdict.threshold:.3f})"
        )
    return f"open set: the top label fits ({verdict.score_kind} {verdict.score:.3f} >= {verdict.threshold:.3f})"


def classify_with_examples(args: argparse.Namespace, model) -> int:
    """Fit (or load) a few-shot classifier from ``args.examples`` and rank ``args.file``."""
    folder = Path(args.examples)
    if (folder / JSON_NAME).is_file():
        clf = FewShotClassifier.load(folder, model)
        clf = clf if args.dim is None else clf.with_dim(args.dim)
    else:
        clf = fit_examples(model, folder, dim=args.dim, template=args.template, head=args.head)
        for name, why in clf.skipped:
            print(f"skipped example {name}: {why}", file=sys.stderr)
    if args.save:
        print(f"saved the few-shot classifier to {clf.save(args.save)}", file=sys.stderr)
    result = clf.classify(str(args.file))
    counts = {label: int((clf.example_label == i).sum()) for i, label in enumerate(clf.labels)}
    print(
        f"{args.file}  (few-shot, dim {result.dim}, "
        + ", ".join(f"{label}: {n}" for label, n in counts.items())
        + " examples; "
        + ("training-free" if clf.head is None else f"linear head, l2 {clf.head.l2}")
        + ")"
    )
    print(f"{'label':<30} {'prob':>8} {'nearest':>8} {'text':>8}")
    for label, prob, near, text in list(
        zip(result.labels, result.probs, result.cosine, result.text_cosine)
    )[: args.top_k]:
        print(f"{label:<30} {prob:>8.3f} {near:>8.3f} {text:>8.3f}")
    line = open_set_line(result.open_set)
    if line:
        print(line)
    return 0
