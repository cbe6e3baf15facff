"""Command line: ``python -m wavlink_core.corpus build --out DIR [--work DIR] [--subsets ...]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from wavlink_core.corpus.sources import SUBSETS


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the build; prints the summary table."""
    parser = argparse.ArgumentParser(prog="python -m wavlink_core.corpus")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="download, extract, label and decode the audio-caption corpus")
    b.add_argument(
        "--out", type=Path, required=True, help="corpus directory (outside the repository)"
    )
    b.add_argument(
        "--work",
        "--cache",
        dest="work",
        type=Path,
        default=None,
        help="download/extraction cache (default: OUT/../corpus_work)",
    )
    b.add_argument(
        "--subsets",
        default="sfx,instruments,speech,gm",
        help=f"comma-separated, from {','.join(SUBSETS)}",
    )
    b.add_argument("--max-per-category", type=int, default=None)
    b.add_argument("--jobs", type=int, default=2)
    b.add_argument("--speech-cap", type=float, default=0.4, help="max fraction of speech clips")
    b.add_argument(
        "--speech-keep",
        default="",
        help="comma-separated languages kept whole under --speech-cap before the others share it "
        "(e.g. en, for Whisper-AuT on an English-only backbone)",
    )
    b.add_argument("--rendered-cap", type=float, default=0.1, help="max fraction of rendered clips")
    b.add_argument(
        "--max-grooves",
        type=int,
        default=None,
        help="grooves subset: render at most N mma grooves, spread over the styles (default: all)",
    )
    b.add_argument(
        "--scenes",
        type=int,
        default=2000,
        help="synthesised scenes (sequences, mixtures, distant events) to add; 0 = none",
    )
    b.add_argument("-v", "--verbose", action="store_true")
    c = sub.add_parser(
        "check-overlap", help="fingerprint-match a built corpus against another audio folder"
    )
    c.add_argument(
        "--corpus", type=Path, required=True, help="a built corpus directory (with manifest.jsonl)"
    )
    c.add_argument(
        "--against", type=Path, required=True, help="folder of audio that must not be in the corpus"
    )
    c.add_argument("--min-hits", type=int, default=15)
    c.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "check-overlap":
        return _check_overlap(args.corpus, args.against, args.min_hits)
    from wavlink_core.corpus.build import build
    from wavlink_core.corpus.render import render_gm

    subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    work = args.work or args.out.resolve().parent / "corpus_work"
    extra = render_gm(work) if "gm" in subsets else []
    if "grooves" in subsets:
        from wavlink_core.corpus.grooves import render_grooves

        extra += render_grooves(work, max_grooves=args.max_grooves, jobs=args.jobs)
    summary = build(
        args.out,
        work,
        subsets,
        max_per_category=args.max_per_category,
        jobs=args.jobs,
        speech_cap=args.speech_cap,
        speech_keep=tuple(x.strip() for x in args.speech_keep.split(",") if x.strip()),
        rendered_cap=args.rendered_cap,
        extra=extra,
        scenes=args.scenes,
    )
    print((args.out / "summary.md").read_text())
    print(
        f"wall time {summary['wall_s']:.0f} s, decoded now: {summary['decoded_now']}, "
        f"duplicates removed: {summary['duplicates']}, errors: {summary['errors']}"
    )
    return 0


def _check_overlap(corpus: Path, against: Path, min_hits: int) -> int:
    import json

    import soundfile as sf

    from wavlink_core.corpus.overlap import find_overlaps, load_dir

    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    clips = {
        r["path"]: sf.read(corpus / r["path"], dtype="float32")[0]
        for r in rows
        if not r["synthetic"]
    }
    other = load_dir(against)
    hits = find_overlaps(clips, other, min_hits=min_hits)
    (corpus / "overlap.json").write_text(
        json.dumps(
            {
                "against_files": len(other),
                "corpus_clips": len(clips),
                "min_hits": min_hits,
                "matches": hits,
            },
            indent=1,
        )
    )
    print(
        f"{len(clips)} corpus clips vs {len(other)} files: {len(hits)} matches (>= {min_hits} aligned landmarks)"
    )
    for c, o, n in hits[:50]:
        print(f"{n:5d}  {c}  <->  {o}")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
