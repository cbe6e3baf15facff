"""The library's command-line verbs: ``index``, ``search``, ``dupes``, ``library stats``.

Registered on ``python -m wavlink_core`` by :func:`add_commands`; errors are printed by the main
CLI (``error: ...``, exit status 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import positive_int
from ..runtime import RUNTIMES
from .config import QUANTIZATIONS, LibraryConfig


def _library(args: argparse.Namespace, readonly: bool, config: LibraryConfig | None = None):
    """The library at --db, with --model, or else the model it was built with."""
    from ..checkpoint import load_pretrained
    from .library import Library
    from .store import Store

    model = args.model
    if not args.model_given and args.db.is_file():
        store = Store(args.db, readonly=True)
        model = store.meta["model"].get("source") or model
        store.close()
    loaded = load_pretrained(model, device=args.device)
    return Library(args.db, loaded, config, readonly=readonly, source=model)


def cmd_index(args: argparse.Namespace) -> int:
    config = LibraryConfig(
        segment_s=args.segment_s,
        hop_s=args.hop_s,
        max_seconds=args.max_seconds,
        batch_files=args.batch_files,
        shortlist_quantization=args.quantization,
    )
    with _library(args, readonly=False, config=config) as lib:
        report = lib.add(args.dirs, progress=not args.json, runtime=args.runtime)
    if args.json:
        print(
            json.dumps({**vars(report), "bad": [{"path": p, "reason": r} for p, r in report.bad]})
        )
    else:
        print(report.summary())
        print(f"log: {lib.path.with_name(lib.path.name + '.log')}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.like is None):
        raise ValueError('give either a text query ("a door creaks open") or --like FILE, not both')
    with _library(args, readonly=True) as lib:
        query = args.query if args.like is None else args.like
        hits = lib.search(query, k=args.k, dim=args.dim)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits]))
        return 0
    print(f"{'score':>6} {'start':>8} {'end':>8}  path")
    for h in hits:
        print(f"{h.score:>6.3f} {h.start:>8.1f} {h.end:>8.1f}  {h.path}")
    return 0


def cmd_dupes(args: argparse.Namespace) -> int:
    with _library(args, readonly=True) as lib:
        groups = lib.duplicates(args.threshold, args.min_signal)
    if args.json:
        print(json.dumps(groups))
        return 0
    for i, group in enumerate(groups, 1):
        print(f"group {i} ({len(group)} files)")
        for path in group:
            print(f"  {path}")
    print(f"{len(groups)} groups of near-duplicates")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _library(args, readonly=True) as lib:
        stats = lib.stats(recall=args.recall)
        bad = lib.store.bad_files()
    if args.json:
        print(json.dumps(stats))
        return 0
    model = stats["model"]
    print(f"library {args.db}: built with {model['name']} (fingerprint {model['fingerprint']})")
    print(
        f"  {stats['files']} files ({stats['hours']:.2f} h), {stats['bad_files']} bad, "
        f"{stats['rows']} rows ({stats['segment_rows']} segments)"
    )
    print(
        f"  on disk: {stats['disk_bytes'] / 2**20:.1f} MiB, {stats['disk_bytes_per_row']:.0f} "
        f"bytes per row (vectors: {stats['vector_bytes']} bytes)"
    )
    for path, reason in bad:
        print(f"  bad: {path}: {reason}")
    if "recall_at_10" in stats:
        print(f"  recall@10 vs exact full-size search ({stats['recall_rows']} rows):")
        print(f"  {'size':>6} {'quantisation':>13} {'bytes':>6} {'recall':>7}")
        for r in stats["recall_at_10"]:
            print(f"  {r['dim']:>6} {r['quantization']:>13} {r['bytes']:>6} {r['recall']:>7.3f}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``index``, ``search``, ``dupes`` and ``library`` to the main parser's subcommands."""

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", required=True, type=Path, help="library database file")
        sp.add_argument("--model", default=None, help="checkpoint folder or preset name")
        sp.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
        sp.add_argument("--json", action="store_true", help="print JSON for scripts")

    defaults = LibraryConfig()
    i = sub.add_parser("index", help="index audio folders into a library (incremental)")
    common(i)
    i.add_argument("dirs", nargs="+", type=Path, help="folders (recursive) or files")
    i.add_argument("--segment-s", type=float, default=defaults.segment_s, help="segment length")
    i.add_argument("--hop-s", type=float, default=defaults.hop_s, help="step between segments")
    i.add_argument(
        "--max-seconds", type=float, default=defaults.max_seconds, help="longer files are skipped"
    )
    i.add_argument(
        "--batch-files",
        type=positive_int,
        default=defaults.batch_files,
        help="files per committed batch",
    )
    i.add_argument(
        "--quantization",
        default=defaults.shortlist_quantization,
        choices=QUANTIZATIONS,
        help="how small sizes are stored for the shortlist",
    )
    i.add_argument(
        "--runtime",
        default="torch",
        choices=RUNTIMES,
        help="what runs the audio encoder: torch (float32), torch-bf16 (bfloat16 autocast, ~2x "
        "faster on CPUs with AMX) or onnx (ONNX Runtime); vectors agree to cosine >= 0.999",
    )
    i.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="search a library by text or by an example file")
    common(s)
    s.add_argument("query", nargs="?", default=None, help="text, e.g. 'a door creaks open'")
    s.add_argument("--like", type=Path, default=None, help="an example audio file instead of text")
    s.add_argument("--k", type=positive_int, default=10, help="number of results")
    s.add_argument(
        "--dim",
        type=int,
        default=None,
        help="shortlist size (any trained size), re-ranked at full size",
    )
    s.set_defaults(func=cmd_search)

    d = sub.add_parser("dupes", help="groups of near-duplicate files in a library")
    common(d)
    d.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="embedding cosine that makes two files candidates",
    )
    d.add_argument(
        "--min-signal",
        type=float,
        default=None,
        help="aligned log-mel correlation that confirms a pair (0: embeddings only)",
    )
    d.set_defaults(func=cmd_dupes)

    lib = sub.add_parser("library", help="library maintenance")
    actions = lib.add_subparsers(dest="action", required=True)
    st = actions.add_parser("stats", help="files, hours, bytes, model, recall per size")
    common(st)
    st.add_argument(
        "--recall",
        action="store_true",
        help="measure recall@10 of every shortlist size on this library",
    )
    st.set_defaults(func=cmd_stats)
