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
from .backends import log_path
from .config import QUANTIZATIONS, LibraryConfig

RAY_LOCAL = "local"  # `--ray` without an address: start a cluster on this machine for the run


def _library(args: argparse.Namespace, readonly: bool, config: LibraryConfig | None = None):
    """The library at --db, with --model, or else the model it was built with."""
    from ..checkpoint import load_pretrained
    from .backends import open_store, store_exists
    from .library import Library

    model = args.model
    if not args.model_given and store_exists(args.db):
        store = open_store(args.db, readonly=True)
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
    ray = _ray_options(args)
    with _library(args, readonly=False, config=config) as lib:
        report = lib.add(args.dirs, progress=not args.json, ray=ray, runtime=args.runtime)
    if args.json:
        print(
            json.dumps({**vars(report), "bad": [{"path": p, "reason": r} for p, r in report.bad]})
        )
    else:
        print(report.summary())
        print(f"log: {log_path(lib.path)}")
    return 0


def _ray_options(args: argparse.Namespace):
    """``--ray [ADDRESS]`` and its worker flags as RayOptions, or None for a local run."""
    if args.ray is None:
        flags = {"--workers": args.workers, "--ray-gpus-per-worker": args.ray_gpus_per_worker}
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} only apply with --ray [ADDRESS]")
        return None
    from .distributed import RayOptions

    return RayOptions(
        address=None if args.ray == RAY_LOCAL else args.ray,
        workers=args.workers or RayOptions.workers,
        gpus_per_worker=args.ray_gpus_per_worker or 0.0,
    )


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
    if stats["ann"]:
        ann = stats["ann"]
        print(
            f"  ANN index: {ann['index_type']} on size {ann['dim']} ({ann['rows']} rows when "
            f"built; {ann['nprobes']} of {ann['partitions']} partitions probed, shortlist "
            f"{ann['factor']} x k)"
        )
    for path, reason in bad:
        print(f"  bad: {path}: {reason}")
    if "recall_at_10" in stats:
        print(f"  recall@10 vs exact full-size search ({stats['recall_rows']} rows):")
        print(f"  {'size':>6} {'quantisation':>13} {'bytes':>6} {'recall':>7}")
        for r in stats["recall_at_10"]:
            print(f"  {r['dim']:>6} {r['quantization']:>13} {r['bytes']:>6} {r['recall']:>7.3f}")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    with _library(args, readonly=False) as lib:
        settings = lib.optimize(dim=args.dim, force=args.force)
    if args.json:
        print(json.dumps(settings))
        return 0
    if settings["action"] == "skipped":
        print(
            f"no ANN index built: {settings['rows']} rows, and below {settings['min_rows']} a flat "
            "search is as fast (table compacted; --force builds one anyway)"
        )
        return 0
    print(
        f"ANN index {settings['action']}: {settings['index_type']} on the {settings['dim']}-d "
        f"prefix of {settings['rows']} rows, {settings['partitions']} partitions, "
        f"{settings['nprobes']} probed, shortlist {settings['factor']} x k re-ranked at full size; "
        f"use it with `search --dim {settings['dim']}`"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``index``, ``search``, ``dupes`` and ``library`` to the main parser's subcommands."""

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--db",
            required=True,
            help="library: a sqlite-vec file (sounds.db), or LanceDB: a folder ending in .lance "
            "or a URI (s3://bucket/sounds.lance, gs://..., az://..., db://...)",
        )
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
        "--ray",
        nargs="?",
        const=RAY_LOCAL,
        default=None,
        metavar="ADDRESS",
        help="embed on a Ray cluster: 'auto' joins the one this machine is in (ray start), "
        "'ray://HOST:10001' connects to a remote one; without ADDRESS a local cluster is started",
    )
    i.add_argument(
        "--workers", type=positive_int, default=None, help="model actors with --ray (default 2)"
    )
    i.add_argument(
        "--ray-gpus-per-worker",
        type=float,
        default=None,
        help="GPUs per model actor with --ray (1, or 0.5 to share one); actors then embed on cuda",
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
    op = actions.add_parser(
        "optimize", help="build or refresh the ANN index of a LanceDB library (--db X.lance/URI)"
    )
    common(op)
    op.add_argument(
        "--dim",
        type=int,
        default=None,
        help="shortlist size to index (default: the largest, 128 for wavlink-tiny; measured)",
    )
    op.add_argument(
        "--force",
        action="store_true",
        help="build even below 50,000 rows; retrain even if the library has not doubled",
    )
    op.set_defaults(func=cmd_optimize)
