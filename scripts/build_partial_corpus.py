"""The project's corpus builder on a named subset of its sfx packages (a smaller, quicker corpus).

Used when the full build (``python -m wavlink_core.corpus build``) cannot finish in time: the
packages named here go through the same fetch, unpack, label, decode, dedupe and group-hash split
code, so their validation clips are the ones the full build assigns to ``val``.

    python scripts/build_partial_corpus.py --out /work/corpus_partial --work /work/corpus_work \\
        0ad-data megaglest-data ...
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from wavlink_core.corpus.build import build
from wavlink_core.corpus.sources import source_by_name


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("packages", nargs="+", help="sfx package names from wavlink_core.corpus.sources")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO)
    sources = [source_by_name(name) for name in args.packages]
    summary = build(args.out, args.work, ["sfx"], jobs=args.jobs, sources=sources, scenes=0)
    print(f"{summary.get('clips', '?')} clips in {args.out}")


if __name__ == "__main__":
    main()
