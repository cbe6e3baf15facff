"""Standard benchmark layouts, as their publishers distribute them.

* ``esc50`` -- ``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take) +
  ``audio/``: 2,000 clips, 50 classes, 5 folds; group = ``src_file`` (the source recording).
  Protocol: zero-shot on every clip; the probe trains on folds 1-4 and tests on fold 5.
* ``urbansound8k`` -- ``metadata/UrbanSound8K.csv`` (slice_file_name, fsID, ..., fold, classID,
  class) + ``audio/fold1..10``: 8,732 clips, 10 classes. Protocol: zero-shot on every clip; the
  probe is 10-fold cross-validation over the official folds (as the dataset's authors ask).
* ``audiocaps`` -- AudioCaps' ``test.csv``/``val.csv`` (audiocap_id, youtube_id, start_time,
  caption; 5 lines per test clip), audio looked up as in training tables
  (:mod:`wavlink_core.data.tables`). Protocol: text<->audio retrieval over 5 captions per clip.
* ``clotho`` -- ``clotho_captions_evaluation.csv`` (file_name, caption_1..5) + ``evaluation/``
  (``captions.csv`` + ``audio/`` is read by :mod:`.datasets`). Protocol: retrieval.
* ``vggsound`` -- ``vggsound.csv`` (no header: youtube_id, start_seconds, label, split); the
  ``test`` rows, audio as ``{youtube_id}_{start:06d}.*`` (the release's names) or
  ``{youtube_id}_{start}.*`` in the folder, ``audio/``, ``video/`` or ``test/``. Protocol:
  zero-shot over the test clips.

Clips whose audio is missing (YouTube-derived sets always lose some) are skipped and counted in
the log; a set with none present is refused with the folders searched.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ..data.tables import AUDIOCAPS_COLUMNS, read_records, read_table
from .datasets import AUDIO_EXTS, Clip, normalise_label

log = logging.getLogger(__name__)

LAYOUTS = ("esc50", "urbansound8k", "audiocaps", "clotho", "vggsound")
ESC50_META = Path("meta") / "esc50.csv"
US8K_META = Path("metadata") / "UrbanSound8K.csv"
CLOTHO_FILES = ("clotho_captions_evaluation.csv",)  # captions.csv: datasets.py's clotho
AUDIOCAPS_FILES = ("test.csv", "val.csv")
VGGSOUND_FILES = ("vggsound.csv", "test.csv")
# The probe protocol of each layout: cross-validation over every official fold, or not.
PROBE_CV = {"urbansound8k": True}


def _header(path: Path) -> set[str]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return {c.strip().lower() for c in next(csv.reader(fh), [])}
    except (OSError, UnicodeDecodeError):
        return set()


def _is_vggsound(path: Path) -> bool:
    """vggsound.csv has no header: its first row is data (id, start, label, split)."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            row = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return False
    return len(row) == 4 and row[1].strip().isdigit() and row[3].strip() in ("train", "test")


def detect_layout(root: Path) -> tuple[str, Path] | None:
    """``(layout, its table)`` when ``root`` (a folder or a table) is a standard layout."""
    if root.is_file():
        head = _header(root)
        if AUDIOCAPS_COLUMNS <= head:
            return "audiocaps", root
        if "file_name" in head and "caption_1" in head:
            return "clotho", root
        if _is_vggsound(root):
            return "vggsound", root
        return None
    if (root / ESC50_META).is_file():
        return "esc50", root / ESC50_META
    if (root / US8K_META).is_file():
        return "urbansound8k", root / US8K_META
    for name in CLOTHO_FILES:
        if (root / name).is_file():
            return "clotho", root / name
    for name in AUDIOCAPS_FILES:
        if (root / name).is_file() and AUDIOCAPS_COLUMNS <= _header(root / name):
            return "audiocaps", root / name
    for name in VGGSOUND_FILES:
        if (root / name).is_file() and _is_vggsound(root / name):
            return "vggsound", root / name
    return None


def _present(clips: list[Clip], table: Path, total: int, where: list[Path]) -> list[Clip]:
    found = [c for c in clips if c.path.is_file()]
    if not found:
        raise ValueError(
            f"{table}: none of its {total} audio files was found (e.g. {clips[0].path.name if clips else '?'}) "
            f"in {[str(d) for d in where]}"
        )
    if len(found) < total:
        log.warning(
            "%s: %d of %d clips have no audio file; skipped", table, total - len(found), total
        )
    return found


def load_esc50(table: Path) -> list[Clip]:
    root = table.parent.parent
    rows = read_records(table)
    clips = [
        Clip(
            root / "audio" / r["filename"],
            normalise_label(r["category"]),
            int(r["fold"]),
            str(r.get("src_file") or "") or None,
        )
        for r in rows
    ]
    return _present(clips, table, len(rows), [root / "audio"])


def load_urbansound8k(table: Path) -> list[Clip]:
    root = table.parent.parent
    rows = read_records(table)
    clips = [
        Clip(
            root / "audio" / f"fold{int(r['fold'])}" / r["slice_file_name"],
            normalise_label(r["class"]),
            int(r["fold"]),
            str(r["fsid"]),
        )
        for r in rows
    ]
    return _present(clips, table, len(rows), [root / "audio"])


def load_caption_table(table: Path) -> list[Clip]:
    """AudioCaps or Clotho: one clip per audio file, all its captions (5 in the test sets)."""
    rows = read_table(table, None)
    return [Clip(Path(r["path"]), captions=tuple(r["captions"])) for r in rows]


def load_vggsound(table: Path) -> list[Clip]:
    base = table.parent
    dirs = [d for d in (base, base / "audio", base / "video", base / "test") if d.is_dir()]
    with table.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if len(r) == 4 and r[3].strip() == "test"]
    files = {p.stem: p for d in dirs for p in d.iterdir() if p.suffix.lower() in AUDIO_EXTS}
    clips = []
    for yid, start, label, _ in rows:
        names = (f"{yid}_{int(start):06d}", f"{yid}_{int(start)}", yid)
        path = next(
            (files[n] for n in names if n in files), dirs[0] / names[0] if dirs else Path(names[0])
        )
        # No fold: only the test rows are read (zero-shot is the protocol); a probe on them falls
        # back to a seeded stratified k-fold, which the report names.
        clips.append(Clip(path, normalise_label(label), None, yid))
    if not rows:
        raise ValueError(f"{table}: no rows with split 'test'")
    return _present(clips, table, len(rows), dirs)


LOADERS = {
    "esc50": load_esc50,
    "urbansound8k": load_urbansound8k,
    "audiocaps": load_caption_table,
    "clotho": load_caption_table,
    "vggsound": load_vggsound,
}


def layout_help(kind: str) -> str:
    """Where a layout's table is expected, for error messages."""
    return {
        "esc50": f"expected {ESC50_META} and audio/",
        "urbansound8k": f"expected {US8K_META} and audio/fold1..10",
        "audiocaps": f"expected a CSV with {sorted(AUDIOCAPS_COLUMNS)} or {list(AUDIOCAPS_FILES)}",
        "clotho": f"expected {CLOTHO_FILES[0]} or captions.csv, or a file_name,caption_1.. CSV",
        "vggsound": f"expected {VGGSOUND_FILES[0]} (youtube_id,start,label,split; no header)",
    }[kind]
