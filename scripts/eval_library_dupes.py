"""Precision and recall of ``dupes`` on real clips: copies made here versus distinct recordings.

From a folder of real clips (sorted by path), ``--n`` evenly spaced clips are the sources; for
each, ffmpeg makes a renamed byte copy, a 16-bit wav, a 128 kb/s mp3, a q2 ogg and a trim that
keeps the middle 90 %, next to the original (6 versions). The ``--negatives`` clips that follow
each source in path order go in unchanged: in ESC-10, FSDD and the corpus these are other takes
of the same class, speaker or package, the hardest distinct recordings to tell apart.

Everything is indexed with the model, candidate pairs are scored once (embedding cosine, aligned
log-mel correlation, duration ratio) and grouped as ``duplicates()`` does for each rule. Counted
over pairs of files put in one group: precision (both versions of one source) and recall (of the
15 version pairs per source), re-encode recall (each wav/mp3/ogg/renamed copy grouped with its
original), and the distinct clips wrongly put in a group.

    python scripts/eval_library_dupes.py --clips /work/corpus_v2/clips --n 40
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import soundfile as sf

from bench_library_dupes import ffmpeg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (cosine threshold, min signal, min duration ratio); the first one is the default.
RULES = (
    (0.75, 0.85, 0.0),
    (0.75, 0.9, 0.0),
    (0.75, 0.95, 0.0),
    (0.8, 0.9, 0.0),
    (0.75, 0.85, 0.75),
    (0.75, 0.9, 0.75),
)
REENCODES = ("renamed", "wav", "mp3", "q2")


def pick(folder: Path, n: int, negatives: int, max_seconds: float) -> list[tuple[Path, list[Path]]]:
    """``n`` evenly spaced sources, each with the distinct clips that follow it in path order."""
    from wavlink_core.audio import AUDIO_EXTENSIONS

    files = [
        p
        for p in sorted(folder.rglob("*"))
        if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
    ]
    stride = max(1, len(files) // n)
    chosen = []
    for i in range(0, len(files), stride):
        group = [p for p in files[i : i + 1 + negatives] if _seconds(p) <= max_seconds]
        if len(group) == 1 + negatives:
            chosen.append((group[0], group[1:]))
        if len(chosen) == n:
            break
    return chosen


def _seconds(path: Path) -> float:
    try:
        return sf.info(str(path)).duration
    except RuntimeError:
        return float("inf")


def make_versions(src: Path, out: Path, tag: str) -> dict[str, Path]:
    """The 6 versions of ``src`` in ``out``, named by ``tag`` (unique per source)."""
    ext = src.suffix.lower()
    v = {"original": out / f"{tag}{ext}", "renamed": out / f"copy_{tag}{ext}"}
    shutil.copy(src, v["original"])
    shutil.copy(src, v["renamed"])
    v["wav"] = out / f"{tag}_16bit.wav"
    ffmpeg(src, v["wav"], "-c:a", "pcm_s16le")
    v["mp3"] = out / f"{tag}.mp3"
    ffmpeg(src, v["mp3"], "-c:a", "libmp3lame", "-b:a", "128k")
    v["q2"] = out / f"{tag}_q2.ogg"
    ffmpeg(src, v["q2"], "-c:a", "libvorbis", "-q:a", "2")
    duration = _seconds(src)
    v["trim"] = out / f"{tag}_trim.wav"
    trim = ("-ss", f"{0.05 * duration:.3f}", "-t", f"{0.9 * duration:.3f}")
    ffmpeg(src, v["trim"], *trim, "-c:a", "pcm_s16le")
    return {k: p.resolve() for k, p in v.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clips", type=Path, required=True, help="folder of real clips")
    p.add_argument("--n", type=int, default=40, help="source clips to make copies of")
    p.add_argument("--negatives", type=int, default=3, help="distinct clips after each source")
    p.add_argument("--max-seconds", type=float, default=10.0, help="longest clip used")
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    from wavlink_core.library import Library
    from wavlink_core.library.dupes import candidate_pairs, group

    chosen = pick(args.clips, args.n, args.negatives, args.max_seconds)
    with tempfile.TemporaryDirectory(prefix="eval_dupes_") as tmp:
        folder = Path(tmp) / "sounds"
        folder.mkdir()
        owner: dict[str, str] = {}  # path -> source tag ("neg:" for distinct clips)
        versions: dict[str, dict[str, str]] = {}
        for i, (src, negs) in enumerate(chosen):
            tag = f"s{i:03d}"
            made = make_versions(src, folder, tag)
            versions[tag] = {k: str(v) for k, v in made.items()}
            owner.update({str(v): tag for v in made.values()})
            for j, neg in enumerate(negs):
                dst = folder / f"n{i:03d}_{j}{neg.suffix.lower()}"
                shutil.copy(neg, dst)
                owner[str(dst.resolve())] = f"neg:{i}:{j}"
        with Library(Path(tmp) / "lib.db", args.model) as lib:
            report = lib.add([folder])
            pairs = candidate_pairs(lib.store, min(r[0] for r in RULES), lib.config.max_seconds)
            same = lib.store.sha256_groups()
        seconds = {path: _seconds(Path(path)) for path in owner}
        print(
            f"{args.clips}: {len(chosen)} sources x 6 versions + {len(chosen) * args.negatives} "
            f"distinct clips = {report.added} files indexed, {len(report.bad)} bad; "
            f"{len(pairs)} candidate pairs"
        )
        positives = {
            frozenset(pair)
            for vs in versions.values()
            for pair in itertools.combinations(vs.values(), 2)
        }
        print(
            "| cosine | min signal | min duration ratio | pair precision | pair recall "
            "| re-encodes with their original | trims with their original | distinct clips grouped |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for threshold, min_signal, ratio in RULES:
            links = [
                (q.a, q.b)
                for q in pairs
                if q.cosine >= threshold
                and q.signal >= min_signal
                and min(seconds[q.a], seconds[q.b]) >= ratio * max(seconds[q.a], seconds[q.b])
            ]
            links += [(g[0], o) for g in same for o in g[1:]]
            groups = group(links)
            predicted = {frozenset(pair) for g in groups for pair in itertools.combinations(g, 2)}
            hit = len(predicted & positives)
            where = {path: k for k, g in enumerate(groups) for path in g}

            def together(a: str, b: str) -> bool:
                return a in where and where.get(a) == where.get(b)

            reenc = sum(
                together(vs["original"], vs[k]) for vs in versions.values() for k in REENCODES
            )
            trims = sum(together(vs["original"], vs["trim"]) for vs in versions.values())
            wrong = sum(1 for path, tag in owner.items() if tag.startswith("neg:") and path in where)
            print(
                f"| {threshold} | {min_signal} | {ratio} | "
                f"{hit / len(predicted) if predicted else 1.0:.3f} ({hit}/{len(predicted)}) | "
                f"{hit / len(positives):.3f} ({hit}/{len(positives)}) | "
                f"{reenc}/{len(REENCODES) * len(versions)} | {trims}/{len(versions)} | "
                f"{wrong}/{len(chosen) * args.negatives} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
