"""Does ``dupes`` group real re-encodes, trimmed and renamed copies, and nothing else?

From the first ``--n`` gallery clips (assets/gallery, real recordings) ffmpeg makes, per clip: a
renamed byte-identical copy, a 16-bit wav, a 128 kb/s mp3, a lower-quality ogg (q 2) and a copy
trimmed by 10 % at each end. The other gallery clips go in unchanged as distractors. Everything is
indexed with the shipped model, then ``duplicates(threshold)`` is run at several thresholds.

Candidate pairs (embedding cosine >= the lowest threshold) are scored on the signal once; each
(threshold, min_signal) setting is then grouped as ``duplicates()`` does. Reported: clips whose 6
versions all land in one group, versions found (of 5 per clip), and wrong groups (holding versions
of two different clips, or distractors).

    python scripts/bench_library_dupes.py --n 20
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
MIN_SIGNALS = (0.0, 0.8, 0.85, 0.9)  # 0: embeddings alone


def ffmpeg(src: Path, dst: Path, *extra: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *extra, str(dst)], check=True)


def make_versions(src: Path, out: Path) -> list[Path]:
    stem = src.stem
    shutil.copy(src, out / f"renamed_{stem}.ogg")
    ffmpeg(src, out / f"{stem}.wav", "-c:a", "pcm_s16le")
    ffmpeg(src, out / f"{stem}.mp3", "-c:a", "libmp3lame", "-b:a", "128k")
    ffmpeg(src, out / f"{stem}_q2.ogg", "-c:a", "libvorbis", "-q:a", "2")
    duration = sf.info(str(src)).duration
    ffmpeg(
        src,
        out / f"{stem}_trim.wav",
        "-ss",
        f"{0.1 * duration:.3f}",
        "-t",
        f"{0.8 * duration:.3f}",
        "-c:a",
        "pcm_s16le",
    )
    shutil.copy(src, out / src.name)
    return sorted(out.glob(f"*{stem}*"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="gallery clips to make versions of")
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    from wavlink_core.library import Library
    from wavlink_core.library.dupes import candidate_pairs, group

    gallery = sorted((ROOT / "assets" / "gallery").glob("*.ogg"))
    with tempfile.TemporaryDirectory(prefix="bench_dupes_") as tmp:
        folder = Path(tmp) / "sounds"
        folder.mkdir()
        owner: dict[str, str] = {}
        for src in gallery[: args.n]:
            for v in make_versions(src, folder):
                owner[str(v.resolve())] = src.stem
        for src in gallery[args.n :]:
            shutil.copy(src, folder / src.name)
            owner[str((folder / src.name).resolve())] = "distractor:" + src.stem
        with Library(Path(tmp) / "lib.db", args.model) as lib:
            report = lib.add([folder])
            print(
                f"{report.added} files indexed ({args.n} clips x 6 versions, "
                f"{len(gallery) - args.n} distractors), bad {len(report.bad)}"
            )
            pairs = candidate_pairs(lib.store, min(THRESHOLDS), lib.config.max_seconds)
            same = lib.store.sha256_groups()
        print(
            "| cosine threshold | min signal | clips with all 6 versions grouped | versions found | wrong groups |"
        )
        print("|---|---|---|---|---|")
        for threshold in THRESHOLDS:
            for min_signal in MIN_SIGNALS:
                links = [
                    (p.a, p.b) for p in pairs if p.cosine >= threshold and p.signal >= min_signal
                ]
                links += [(g[0], o) for g in same for o in g[1:]]
                whole, found, wrong = 0, 0, 0
                for members in group(links):
                    clips = {owner[p] for p in members}
                    if len(clips) > 1:
                        wrong += 1
                    elif not next(iter(clips)).startswith("distractor:"):
                        found += len(members) - 1
                        whole += len(members) == 6
                print(
                    f"| {threshold} | {min_signal} | {whole} / {args.n} | {found} / {5 * args.n} | {wrong} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
