"""CLI: ``python -m wavlink_core.adapt [train] --config run.json [--key=value ...]`` or
``python -m wavlink_core.adapt compare --vanilla tiny.en --adapted RUN/backbone ...``.

Training: every AdaptConfig field can be given in the JSON file or as ``--key=value`` (lists as
``a,b,c`` or JSON, ``null`` for none); ``--help`` lists them with their defaults. Several GPUs:
``accelerate launch --multi_gpu --num_processes N -m wavlink_core.adapt --config run.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys


def usage() -> str:
    from .config import AdaptConfig

    lines = [__doc__.strip(), "", "training fields (default):"]
    lines += [f"  --{k}={json.dumps(v)}" for k, v in AdaptConfig().to_dict().items()]
    lines += ["", "compare: python -m wavlink_core.adapt compare --help"]
    return "\n".join(lines)


def train_main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(usage())
        return 0
    from ..errors import WavLinkError
    from .config import AdaptConfig

    config_path, rest, i = None, [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--config" and i + 1 < len(argv):
            config_path, i = argv[i + 1], i + 2
            continue
        if a.startswith("--config="):
            config_path = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    try:
        cfg = AdaptConfig.from_json(config_path, rest)
        from .engine import train

        summary = train(cfg)
    except WavLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    return 0


def compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m wavlink_core.adapt compare",
        description="Linear probes (Whisper-AuT protocol, mean-pooled final encoder states) of "
        "a vanilla and an adapted Whisper encoder, plus WER on held-out corpus speech.",
    )
    p.add_argument("--vanilla", default="tiny.en", help="base Whisper source (default tiny.en)")
    p.add_argument("--adapted", default=None, help="adapted backbone folder (<run>/backbone)")
    p.add_argument("--data-esc10", default=None, help="ESC-10 folder (folds 1-4 -> 5)")
    p.add_argument(
        "--data-us8k", default=None, help="UrbanSound8K subset folder (grouped 5-fold CV)"
    )
    p.add_argument("--data-fsdd", default=None, help="FSDD folder (official split)")
    p.add_argument("--speech-corpus", default=None, help="corpus dir for the WER check")
    p.add_argument("--speech-manifest", default="manifest.jsonl")
    p.add_argument("--speech-split", default="test", choices=("test", "val"))
    p.add_argument("--speech-languages", default="en", help="comma-separated codes (default en)")
    p.add_argument("--speech-max-clips", type=int, default=None)
    p.add_argument(
        "--wer-dynamic", action="store_true", help="decode at dynamic length, not 30-s windows"
    )
    p.add_argument("--pad-to-30s", action="store_true", help="probe features from 30-s windows")
    p.add_argument("--out", default=None, help="folder for compare.json and compare.md")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cv",
        action="store_true",
        help="ESC-10: leave-one-fold-out over all 5 folds (each clip tested once) instead of "
        "the paper's folds 1-4 -> 5; more test clips, so smaller differences are readable",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def compare_main(argv: list[str]) -> int:
    args = compare_parser().parse_args(argv)
    import torch

    from ..errors import WavLinkError
    from .compare import compare, to_markdown, write_report

    if args.threads:
        torch.set_num_threads(args.threads)
    backbones = {"vanilla": args.vanilla}
    if args.adapted:
        backbones["adapted"] = args.adapted
    datasets = {
        name: path
        for name, path in (
            ("esc10", args.data_esc10),
            ("us8k", args.data_us8k),
            ("fsdd", args.data_fsdd),
        )
        if path
    }
    if not datasets and not args.speech_corpus:
        print(
            "error: give at least one of --data-esc10/--data-us8k/--data-fsdd/--speech-corpus",
            file=sys.stderr,
        )
        return 2
    speech = {
        "split": args.speech_split,
        "languages": tuple(x.strip() for x in args.speech_languages.split(",") if x.strip()),
        "manifest": args.speech_manifest,
        "max_clips": args.speech_max_clips,
        "pad_to_30s": not args.wer_dynamic,
        "batch_size": min(args.batch_size, 8),
    }
    try:
        res = compare(
            backbones,
            datasets,
            speech_corpus=args.speech_corpus,
            speech=speech,
            device=args.device,
            batch_size=args.batch_size,
            pad_to_30s=args.pad_to_30s,
            seed=args.seed,
            cv=args.cv,
            progress=not args.quiet,
        )
    except (WavLinkError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(res))
    if args.out:
        js, md = write_report(res, args.out)
        print(f"wrote {js} and {md}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if argv and argv[0] == "compare":
        return compare_main(argv[1:])
    if argv and argv[0] == "train":
        argv = argv[1:]
    return train_main(argv)


if __name__ == "__main__":
    sys.exit(main())
