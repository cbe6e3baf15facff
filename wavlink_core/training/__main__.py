"""CLI: ``python -m wavlink_core.training --config run.json [--key=value ...]``.

Every TrainConfig field can be given in the JSON file or as ``--key=value`` (lists as
``a,b,c`` or JSON, ``null`` for none); ``--help`` lists the fields with their defaults.

Two stages = two invocations::

    python -m wavlink_core.training --config run.json --stage=stage1 --output_dir=runs/s1
    python -m wavlink_core.training --config run.json --stage=stage2 --output_dir=runs/s2 \\
        --init_from=runs/s1/model --curated=true

Several GPUs / nodes: ``accelerate launch --multi_gpu --num_processes N -m wavlink_core.training ...``.
"""

from __future__ import annotations

import json
import logging
import os
import sys


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
        from .engine import train

        summary = train(cfg)
    except WavLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
