"""``python -m wavlink_core.evaluate --model DIR_OR_PRESET --data DIR --task {zeroshot,retrieval,probe,all}``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..cli import positive_int

DESCRIPTION = """Evaluate a WavLink model on one dataset folder (or manifest), at every trained
Matryoshka size: zero-shot classification, text<->audio retrieval (LAION-CLAP R@K), and
linear probes (Whisper-AuT protocol) on the WavLink embedding and on mean-pooled Whisper
encoder states. Layouts are detected from the folder (class folders, ESC-10, US8K, FSDD
recordings/, Clotho captions.csv, manifest.csv/json/jsonl) and the publishers' layouts of
ESC-50, UrbanSound8K, AudioCaps, Clotho and VGGSound, each with its standard protocol."""


def build_parser() -> argparse.ArgumentParser:
    from ..fewshot_head import HEADS
    from .datasets import DATASET_TYPES

    p = argparse.ArgumentParser(prog="python -m wavlink_core.evaluate", description=DESCRIPTION)
    p.add_argument(
        "--model", required=True, help="checkpoint folder or preset (tiny, base, small, test)"
    )
    p.add_argument("--data", required=True, help="dataset folder or manifest file")
    p.add_argument(
        "--task",
        default="all",
        help="zeroshot, retrieval, probe, fewshot, openset, all (= the first three), or several "
        "joined by commas",
    )
    p.add_argument(
        "--dataset-type", default="auto", choices=DATASET_TYPES, help="override layout detection"
    )
    p.add_argument(
        "--template",
        default=None,
        help="zero-shot prompt with {} for the label (default: 'This is a sound of {}.'; "
        "FSDD: 'a person saying the number {}.')",
    )
    p.add_argument(
        "--ensemble",
        action="store_true",
        help="prompt ensemble: average wavlink_core.prompts.DEFAULT_TEMPLATES per label "
        "(zero-shot, few-shot and open-set) instead of one template",
    )
    p.add_argument("--out", default=None, help="folder for results.json and results.md")
    p.add_argument(
        "--batch-size", type=positive_int, default=16, help="audio windows per forward pass"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--pad-to-30s", action="store_true", help="encode every clip as a 30-s window")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    g = p.add_argument_group("linear probe")
    g.add_argument(
        "--probe-features",
        default="both",
        choices=("both", "embedding", "mean"),
        help="WavLink embedding at each size, mean-pooled encoder states, or both",
    )
    g.add_argument(
        "--cv",
        action="store_true",
        help="leave-one-fold-out CV over official folds (ESC) instead of train 1-4 / test 5",
    )
    g.add_argument(
        "--folds", type=positive_int, default=5, help="k for sets without folds (stratified k-fold)"
    )
    g.add_argument(
        "--no-groups",
        action="store_true",
        help="CV: shuffle clips independently even when source recordings are known",
    )
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--epochs", type=positive_int, default=50)
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--probe-batch-size", type=positive_int, default=64)
    f = p.add_argument_group("few-shot and open set")
    f.add_argument("--shots", default="1,2,5", help="examples per class, comma-separated")
    f.add_argument(
        "--draws", type=positive_int, default=10, help="random example draws per shot count"
    )
    f.add_argument("--alpha", type=float, default=None, help="few-shot blend weight of examples")
    f.add_argument("--beta", type=float, default=None, help="few-shot affinity sharpness")
    f.add_argument(
        "--fewshot-head",
        default="none",
        choices=HEADS,
        help="few-shot: also score each draw with a linear head on the examples (auto: only "
        "from the default number of examples per class); none: the training-free blend only",
    )
    f.add_argument("--head-l2", type=float, default=None, help="linear head pull to the prompts")
    f.add_argument(
        "--halves", type=positive_int, default=10, help="open set: random halves of the labels"
    )
    f.add_argument(
        "--openset-shots", type=positive_int, default=5, help="open set: examples per label"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def parse_tasks(text: str) -> tuple[str, ...] | None:
    """``all`` or comma-separated task names → the tasks in order; None if a name is unknown."""
    from . import EXTRA_TASKS, TASKS

    if text.strip() == "all":
        return TASKS
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    return names if names and all(t in TASKS + EXTRA_TASKS for t in names) else None


def model_info(model, source: str) -> dict:
    cfg = model.config
    info = model.training_info if isinstance(model.training_info, dict) else None
    return {
        "source": source,
        "name": cfg.name,
        "trained": model.is_trained,
        "training": info,
        "audio_backbone": cfg.audio.backbone,
        "text_backbone": cfg.text.backbone,
        "pooling": cfg.audio.pooling,
        "embed_dim": cfg.embed_dim,
        "matryoshka_dims": list(cfg.matryoshka_dims),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    from ..checkpoint import load_pretrained
    from ..errors import WavLinkError
    from ..prompts import DEFAULT_TEMPLATES
    from . import EXTRA_TASKS, TASKS, FeatureCache, clip_counts, evaluate
    from .datasets import load_dataset
    from .report import to_markdown, write_report

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        dataset = load_dataset(args.data, args.dataset_type, args.template)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        model = load_pretrained(args.model, device=args.device).eval()
    except WavLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tasks = parse_tasks(args.task)
    if tasks is None:
        print(
            f"error: --task {args.task!r}: choose from {', '.join(TASKS + EXTRA_TASKS)} or all",
            file=sys.stderr,
        )
        return 2
    try:
        shots = tuple(int(k) for k in args.shots.split(",") if k.strip())
        if not shots or min(shots) < 1:
            raise ValueError
    except ValueError:
        print(f"error: --shots {args.shots!r}: give positive integers, e.g. 1,2,5", file=sys.stderr)
        return 2
    # Unset: the defaults of wavlink_core.fewshot (chosen on the corpus validation split).
    shared_opts = {"seed": args.seed}
    shared_opts.update(
        {k: v for k, v in (("alpha", args.alpha), ("beta", args.beta)) if v is not None}
    )
    fewshot_options = {
        "shots": shots,
        "draws": args.draws,
        "head": args.fewshot_head,
        **shared_opts,
    }
    if args.head_l2 is not None:
        fewshot_options["head_l2"] = args.head_l2
    openset_options = {"halves": args.halves, "shots": args.openset_shots, **shared_opts}
    probe_options = {
        "features": args.probe_features,
        "cv": args.cv or dataset.probe_cv,
        "n_splits": args.folds,
        "seed": args.seed,
        "grouped": not args.no_groups,
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.probe_batch_size,
    }
    res = evaluate(
        model,
        dataset,
        tasks,
        model_key=args.model,
        batch_size=args.batch_size,
        pad_to_30s=True if args.pad_to_30s else None,
        cache=FeatureCache(),
        progress=not args.quiet,
        probe_options=probe_options,
        templates=DEFAULT_TEMPLATES if args.ensemble else None,
        fewshot_options=fewshot_options,
        openset_options=openset_options,
    )
    captions = sum(len(c.captions) for c in dataset.clips)
    res = {
        "model": model_info(model, args.model),
        "data": {
            "name": dataset.name,
            "type": dataset.kind,
            "path": dataset.root,
            "clips": len(dataset.clips),
            "classes": len(dataset.classes),
            "captions": captions,
            "clips_per_class": clip_counts(dataset.clips),
        },
        "template": dataset.template,
        "templates": list(DEFAULT_TEMPLATES) if args.ensemble else [dataset.template],
        "tasks": list(tasks),
        **res,
    }
    if args.task != "all" and res["skipped"]:
        print(
            f"error: {'; '.join(f'{k}: {v}' for k, v in res['skipped'].items())}", file=sys.stderr
        )
        return 2
    print(to_markdown(res))
    if args.out:
        js, md = write_report(res, args.out)
        print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
