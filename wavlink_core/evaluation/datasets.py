"""Evaluation sets: labelled or captioned clips read from a folder or a manifest.

A set is a list of :class:`Clip` (audio path, label, fold/split, group, captions). Layouts:

* ``folder``  -- class subfolders; label = folder name, normalised (``001 - Dog bark`` → ``dog bark``).
* ``esc10``   -- class folders of ``{fold}-{source}-{take}.ogg``; fold = first character (1..5).
* ``us8k``    -- class folders of ``{fsID}-{classID}-{occurrence}-{slice}.wav``; group = fsID
  (the source recording, so cross-validation can keep a recording's slices together).
* ``fsdd``    -- ``recordings/{digit}_{speaker}_{index}.wav``; label = the digit as a word,
  split = ``test`` for index 0..4 (the official split), else ``train``; group = speaker.
* ``clotho``  -- ``captions.csv`` (file_name, caption_1..caption_5) with the audio in ``audio/``.
* ``manifest`` -- a CSV / JSON / JSONL file with ``path`` and ``label`` [, ``fold``, ``group``] or
  ``caption_1..caption_K`` columns; relative paths are relative to the manifest.
* ``esc50``, ``urbansound8k``, ``audiocaps``, ``clotho`` (official evaluation CSV), ``vggsound``
  -- the publishers' own layouts and protocols, in :mod:`.layouts`.

:func:`load_dataset` detects the layout from the folder's structure unless told.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..audio import AUDIO_EXTENSIONS as AUDIO_EXTS
from ..templates import check_template

DATASET_TYPES = (
    "auto",
    "folder",
    "esc10",
    "us8k",
    "fsdd",
    "clotho",
    "manifest",
    "esc50",
    "urbansound8k",
    "audiocaps",
    "vggsound",
)
SOUND_TEMPLATE = "This is a sound of {}."
DEFAULT_TEMPLATES = {"fsdd": "a person saying the number {}."}
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl", "manifest.json")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

_ESC_FILE = re.compile(r"^(\d)-(\d+)-[A-Za-z]+\.\w+$")
_US8K_FILE = re.compile(r"^(\d+)-(\d+)-(\d+)-(\d+)\.\w+$")
_FSDD_FILE = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
_LEADING_NUMBER = re.compile(r"^\s*\d+\s*-\s*")


@dataclass(frozen=True)
class Clip:
    """One evaluation clip. ``fold`` is an int fold, ``"train"``/``"test"``, or None."""

    path: Path
    label: str | None = None
    fold: int | str | None = None
    group: str | None = None
    captions: tuple[str, ...] = ()


@dataclass
class Dataset:
    name: str
    kind: str
    clips: list[Clip]
    template: str = SOUND_TEMPLATE
    root: str = ""
    probe_cv: bool = False  # the layout's probe protocol is cross-validation over all folds

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels (empty for caption-only sets)."""
        return sorted({c.label for c in self.clips if c.label is not None})

    @property
    def has_labels(self) -> bool:
        return bool(self.clips) and all(c.label is not None for c in self.clips)

    @property
    def has_captions(self) -> bool:
        return bool(self.clips) and all(c.captions for c in self.clips)

    def targets(self) -> list[int]:
        index = {name: i for i, name in enumerate(self.classes)}
        return [index[c.label] for c in self.clips]


def normalise_label(name: str) -> str:
    """``001 - Dog bark`` → ``dog bark``; ``car_horn`` → ``car horn``."""
    name = _LEADING_NUMBER.sub("", name)
    name = re.sub(r"[_\-]+", " ", name.lower())
    return re.sub(r"\s+", " ", name).strip()


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTS)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and _audio_files(d))


def load_class_folders(root: Path, kind: str = "folder") -> list[Clip]:
    """Clips from class subfolders; ``kind`` esc10/us8k also reads fold/group from file names."""
    clips = []
    for d in _class_dirs(root):
        label = normalise_label(d.name)
        for p in _audio_files(d):
            fold = group = None
            if kind == "esc10":
                m = _ESC_FILE.match(p.name)
                if not m:
                    raise ValueError(
                        f"{p}: not an ESC file name ({{fold}}-{{source}}-{{take}}.ext)"
                    )
                fold, group = int(m.group(1)), m.group(2)
            elif kind == "us8k":
                m = _US8K_FILE.match(p.name)
                group = m.group(1) if m else None
            clips.append(Clip(p, label, fold, group))
    if not clips:
        raise ValueError(f"{root}: no class subfolders with audio files")
    return clips


def load_fsdd(root: Path) -> list[Clip]:
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    clips = []
    for p in sorted(folder.glob("*.wav")):
        m = _FSDD_FILE.match(p.name)
        if m:
            digit, speaker, index = int(m.group(1)), m.group(2), int(m.group(3))
            clips.append(Clip(p, DIGITS[digit], "test" if index <= 4 else "train", speaker))
    if not clips:
        raise ValueError(f"{folder}: no FSDD files ({{digit}}_{{speaker}}_{{index}}.wav)")
    return clips


def _caption_columns(columns: list[str]) -> list[str]:
    caps = [c for c in columns if re.fullmatch(r"caption(_\d+)?", c.strip().lower())]
    return sorted(caps, key=lambda c: int(c.rsplit("_", 1)[1]) if "_" in c else 0)


def _rows_to_clips(rows: list[dict], base: Path, where: str) -> list[Clip]:
    clips = []
    for n, row in enumerate(rows, 1):
        row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        rel = next((row[k] for k in ("path", "file_name", "filename", "file") if row.get(k)), None)
        if rel is None:
            raise ValueError(f"{where}: row {n} has no path/file_name column")
        path = Path(str(rel))
        path = path if path.is_absolute() else base / path
        captions = row.get("captions")
        if isinstance(captions, list):
            caps = tuple(str(c).strip() for c in captions if str(c).strip())
        else:
            caps = tuple(
                str(row[c]).strip()
                for c in _caption_columns(list(row))
                if str(row[c] or "").strip()
            )
        label = row.get("label")
        label = normalise_label(str(label)) if label not in (None, "") else None
        fold = row.get("fold", row.get("split"))
        if fold in ("", None):
            fold = None
        elif str(fold).strip().lstrip("-").isdigit():
            fold = int(fold)
        else:
            fold = str(fold).strip().lower()
        group = row.get("group")
        clips.append(Clip(path, label, fold, str(group) if group not in (None, "") else None, caps))
    if not clips:
        raise ValueError(f"{where}: no rows")
    missing = [c.path for c in clips if not c.path.is_file()]
    if missing:
        raise ValueError(f"{where}: {len(missing)} listed files do not exist, e.g. {missing[0]}")
    return clips


def load_manifest(path: Path, audio_dir: Path | None = None) -> list[Clip]:
    """Clips listed in a CSV, JSON (a list, or ``{"clips": [...]}``) or JSONL manifest."""
    base = audio_dir or path.parent
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    elif suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    elif suffix == ".json":
        data = json.loads(path.read_text())
        rows = data["clips"] if isinstance(data, dict) else data
    else:
        raise ValueError(f"{path}: a manifest must be .csv, .json or .jsonl")
    return _rows_to_clips(rows, base, str(path))


def detect_type(root: Path) -> str:
    """The layout of ``root`` (see the module docstring), judged by structure alone."""
    from .layouts import detect_layout

    if (root / "captions.csv").is_file():
        return "clotho"
    found = detect_layout(root)
    if found is not None:
        return found[0]
    if root.is_file():
        return "manifest"
    if any((root / n).is_file() for n in MANIFEST_NAMES):
        return "manifest"
    rec = root / "recordings" if (root / "recordings").is_dir() else root
    wavs = list(rec.glob("*.wav"))
    if wavs and all(_FSDD_FILE.match(p.name) for p in wavs):
        return "fsdd"
    dirs = _class_dirs(root)
    if not dirs:
        raise ValueError(
            f"{root}: cannot tell the layout: expected class subfolders, recordings/ (FSDD), "
            f"captions.csv (Clotho) or a manifest ({', '.join(MANIFEST_NAMES)})"
        )
    names = [p.name for d in dirs for p in _audio_files(d)]
    if all(_ESC_FILE.match(n) for n in names):
        return "esc10"
    if all(_US8K_FILE.match(n) for n in names):
        return "us8k"
    return "folder"


def load_dataset(
    path: str | Path, dataset_type: str = "auto", template: str | None = None
) -> Dataset:
    """Read an evaluation set; ``template`` (with ``{}``) overrides the layout's default prompt."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such dataset folder or manifest")
    if dataset_type not in DATASET_TYPES:
        raise ValueError(f"dataset_type={dataset_type!r}; choose one of {DATASET_TYPES}")
    from .layouts import LOADERS, PROBE_CV, detect_layout, layout_help

    kind = detect_type(root) if dataset_type == "auto" else dataset_type
    if kind in ("folder", "esc10", "us8k"):
        clips = load_class_folders(root, kind)
    elif kind == "fsdd":
        clips = load_fsdd(root)
    elif kind == "clotho" and (root / "captions.csv").is_file():
        audio = root / "audio" if (root / "audio").is_dir() else root
        clips = load_manifest(root / "captions.csv", audio)
    elif kind in LOADERS:
        found = detect_layout(root)
        if found is None or found[0] != kind:
            raise ValueError(f"{root}: not the {kind} layout ({layout_help(kind)})")
        clips = LOADERS[kind](found[1])
    elif kind == "manifest":
        file = (
            root
            if root.is_file()
            else next(root / n for n in MANIFEST_NAMES if (root / n).is_file())
        )
        clips = load_manifest(file)
    else:  # pragma: no cover - guarded above
        raise ValueError(kind)
    template = template or DEFAULT_TEMPLATES.get(kind, SOUND_TEMPLATE)
    check_template(template)
    name = (root.stem if root.is_file() else root.resolve().name) or kind
    return Dataset(name, kind, clips, template, str(root), PROBE_CV.get(kind, False))
