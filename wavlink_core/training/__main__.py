"""CLI: ``python -m wavlink_core.training --config run.json [--key=value ...]``.

Every TrainConfig field can be given in the JSON file or as ``--key=value`` (lists as
``a,b,c`` or JSON, ``null`` for none); ``--help`` lists the fields with their defaults.

Two stages = two invocations::

    python -m wavlink_core.training --config run.json --stage=stage1 --output_dir=runs/s1
    python -m wavlink_core.training --config run.json --stage=stage2 --output_dir=runs/s2 \\
        --init_from=runs/s1/model --curated=true

Several GPUs / nodes: ``accelerate launch --multi_gpu --num_processes N -m wavlink_core.training ...``.

Fine-tuning a trained model on CPU (``--init_from=DIR`` and no CUDA device): the keys you do not
set take CPU defaults (:data:`CPU_FINETUNE`): only the audio head trains, on audio features
computed once per clip, so a few hundred clips take minutes rather than hours; the text head stays
as shipped and an L2-SP penalty (``training/anchor.py``) holds the audio head near the shipped
one, so words outside the user's folder keep working (``docs/training_runs.md`` has the
measurements that chose these defaults).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

# Heads only (frozen towers and global token: both feature caches apply), more epochs at a
# higher rate because a step on cached features costs milliseconds. A user's dozen captions would
# pull both heads toward themselves and collapse every other word (ESC-10 zero-shot 49.8 -> 30.5
# with both heads free): the text head stays fixed and L2-SP keeps the audio head near its start,
# chosen on the corpus validation split and the user folder's held-out clips.
CPU_FINETUNE = {
    "regime": "projector",
    "train_global_token": False,
    "train_text_head": False,
    "l2sp": 0.1,
    "epochs": 20,
    "lr": 1e-3,
    "batch_size": 16,
}


def cpu_finetune_defaults(cfg, given: set[str]):
    """``cfg`` with :data:`CPU_FINETUNE` for the keys not ``given``, when it fine-tunes a
    checkpoint without CUDA; returns ``(cfg, applied)``."""
    import torch

    on_cpu = cfg.device == "cpu" or not torch.cuda.is_available()
    if not cfg.init_from or not on_cpu:
        return cfg, {}
    applied = {k: v for k, v in CPU_FINETUNE.items() if k not in given}
    return cfg.replace(**applied), applied


def usage() -> str:
    from .config import TrainConfig

    lines = [__doc__.strip(), "", "fields (default):"]
    for name, value in TrainConfig().to_dict().items():
        lines.append(f"  --{name}={json.dumps(value)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(usage())
        return 0
    from ..errors import WavLinkError
    from .config import TrainConfig

    config_path = None
    rest = []
    i = 0
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
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = TrainConfig.from_json(config_path, rest)
        given = {a[2:].split("=", 1)[0].replace("-", "_") for a in rest}
        if config_path:
            given |= set(json.loads(Path(config_path).read_text()))
        cfg, applied = cpu_finetune_defaults(cfg, given)
        if applied:
            heads = "both heads" if cfg.train_text_head else "the audio head (text head frozen)"
            print(
                f"fine-tuning {cfg.init_from} on CPU: regime {cfg.regime}, {heads}, "
                f"L2-SP {cfg.l2sp} toward the start; defaults "
                + " ".join(f"--{k}={json.dumps(v)}" for k, v in applied.items())
                + " (set any of them to override)",
                file=sys.stderr,
            )
        from .engine import train

        summary = train(cfg)
    except WavLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
