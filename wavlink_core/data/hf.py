"""A Hugging Face ``datasets`` dataset written by ``save_to_disk`` as training rows.

The audio column (a ``datasets.Audio`` feature, or the one named by ``audio_column``) is read
with ``decode=False``: its encoded bytes (or its file path) go to
:func:`wavlink_core.audio.load_audio`, so decoding needs neither ``torchcodec`` nor FFmpeg's
libraries, which ``datasets`` 5 asks for when it decodes itself. A ``DatasetDict`` gives its
``train`` split as training rows and ``validation``/``valid``/``val`` as validation rows.
Captions come from ``caption_column`` or the first of ``caption``/``captions``/``text``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .tables import CAPTION_COLUMNS

VAL_SPLITS = ("validation", "valid", "val")


@lru_cache(maxsize=8)
def _open(folder: str, split: str | None):
    """The dataset (one split of a DatasetDict), audio left encoded; opened once per process."""
    import datasets

    ds = datasets.load_from_disk(folder)
    if split is not None:
        ds = ds[split]
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Audio):
            ds = ds.cast_column(name, datasets.Audio(decode=False))
    return ds


def columns(ds, folder: Path, cfg: Any) -> tuple[str, str]:
    import datasets

    names = list(ds.features)
    audio = getattr(cfg, "audio_column", None) or next(
        (n for n, f in ds.features.items() if isinstance(f, datasets.Audio)), None
    )
    caption = getattr(cfg, "caption_column", None) or next(
        (n for n in names if n.lower() in CAPTION_COLUMNS), None
    )
    if audio not in names:
        raise ConfigError(
            f"{folder}: no audio column (a datasets.Audio feature); columns are {names}; "
            "name it with --audio_column=NAME"
        )
    if caption not in names:
        raise ConfigError(
            f"{folder}: no caption column among {list(CAPTION_COLUMNS)}; columns are {names}; "
            "name it with --caption_column=NAME"
        )
    return audio, caption


def read_hf(folder: Path, cfg: Any) -> list[dict]:
    """Rows ``{path (an id), hf_dir, hf_split, hf_index, hf_audio, captions, split}``."""
    import datasets

    try:
        top = datasets.load_from_disk(str(folder))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"cannot open Hugging Face dataset {folder}: {exc}") from exc
    if isinstance(top, datasets.DatasetDict):
        if "train" not in top:
            raise ConfigError(f"{folder}: a DatasetDict without a 'train' split ({list(top)})")
        parts = [("train", "train")] + [(s, "val") for s in VAL_SPLITS if s in top][:1]
    else:
        parts = [(None, None)]
    rows = []
    for split, role in parts:
        ds = _open(str(folder.resolve()), split)
        audio, caption = columns(ds, folder, cfg)
        for i, value in enumerate(ds.select_columns([caption])[caption]):
            caps = captions_of(value)
            if not caps:
                continue
            row = {
                "path": f"{folder.resolve()}#{split or ''}#{i}",
                "hf_dir": str(folder.resolve()),
                "hf_split": split,
                "hf_index": i,
                "hf_audio": audio,
                "captions": caps,
            }
            if role:
                row["split"] = role
            rows.append(row)
    if not rows:
        raise ConfigError(f"{folder}: no rows with a caption")
    return rows


def captions_of(value) -> list[str]:
    """The non-empty captions of one caption cell (a string or a list of them)."""
    caps = value if isinstance(value, list) else [value]
    return [str(c).strip() for c in caps if c is not None and str(c).strip()]


def audio_value(value, base: str, name: str, column: str) -> bytes | str:
    """The encoded audio of one ``Audio(decode=False)`` cell: its bytes, or its file path
    (relative paths are taken from ``base``)."""
    if isinstance(value, dict) and value.get("bytes"):
        return value["bytes"]
    if isinstance(value, dict) and value.get("path"):
        path = Path(value["path"])
        return str(path if path.is_absolute() or not base else Path(base) / path)
    if isinstance(value, str):
        return value
    raise ConfigError(f"{name}: the audio column {column!r} holds neither bytes nor a path")


def row_audio(row: dict) -> tuple[bytes | str, str]:
    """The encoded audio of one row (bytes, or a file path) and a name for error messages."""
    ds = _open(row["hf_dir"], row["hf_split"])
    value = ds[int(row["hf_index"])][row["hf_audio"]]
    name = f"{row['hf_dir']}[{row['hf_index']}]"
    return audio_value(value, row["hf_dir"], name, row["hf_audio"]), name
