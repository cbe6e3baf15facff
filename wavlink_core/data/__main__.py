"""``python -m wavlink_core.data shard SOURCE [SOURCE ...] --out DIR --shard-size N``.

Converts any training source (corpus folder, CSV/JSONL table, audiofolder, class folders, Hugging
Face dataset saved to disk, other shards) into WebDataset shards of 16-kHz FLAC + JSON captions,
ready to copy to shared or object storage and to train from with ``--data=DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from .convert import SPLITS

    p = argparse.ArgumentParser(prog="python -m wavlink_core.data", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("shard", help="convert sources into WebDataset tar shards")
    s.add_argument("sources", nargs="+", help="data sources (any kind --data accepts)")
    s.add_argument(
        "--out", required=True, help="output folder or fsspec URL such as s3://bucket/prefix"
    )
    s.add_argument("--shard-size", type=int, default=1000, help="samples per shard")
    s.add_argument(
        "--split", default="train", choices=SPLITS, help="rows of this split (sources with splits)"
    )
    s.add_argument("--caption-column", default=None, help="table / HF caption column")
    s.add_argument("--audio-column", default=None, help="table / HF audio column")
    s.add_argument("--audio-dir", default=None, help="where a table's audio files are")
    s.add_argument(
        "--template", default="This is a sound of {}.", help="class folder -> caption ({})"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ..errors import WavLinkError
    from ..training.config import TrainConfig
    from .convert import write_shards
    from .sources import parse_sources

    try:
        cfg = TrainConfig(
            caption_column=args.caption_column,
            audio_column=args.audio_column,
            audio_dir=args.audio_dir,
            folder_template=args.template,
        )
        sources = parse_sources(tuple(args.sources), (), "")
        summary = write_shards(sources, args.out, args.shard_size, cfg, args.split)
    except WavLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {k: v for k, v in summary.items() if k != "shards"} | {"files": len(summary["shards"])}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
