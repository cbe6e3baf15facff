"""Tables of (audio file, captions) and class folders as training rows.

Layouts, told apart by their columns:

* AudioCaps: ``audiocap_id,youtube_id,start_time,caption`` -- one caption per line; the lines of
  one clip are merged. The audio is looked up as ``{youtube_id}_{start_time}.*``,
  ``Y{youtube_id}.*``, ``{youtube_id}.*`` or ``{audiocap_id}.*`` (the names the common download
  scripts write); clips whose file is missing (many YouTube videos are gone) are skipped and
  counted in the log.
* Clotho: ``file_name,caption_1..caption_5``.
* generic / audiofolder: a path column (``path``, ``file``, ``file_name``, ``filename``,
  ``audio``) and caption column(s) (``caption``, ``captions`` as a list, ``text``,
  ``caption_N``), or the column named by ``caption_column``; an optional ``split`` column.

Files are looked up relative to the table, then in ``audio/`` beside it and, for a table named
like ``clotho_captions_development.csv``, in ``development/`` beside it (Clotho's own layout).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..evaluation.datasets import AUDIO_EXTS, _audio_files, _caption_columns, _class_dirs
from ..evaluation.datasets import normalise_label as _label
from ..templates import fill_template

log = logging.getLogger(__name__)

PATH_COLUMNS = ("path", "file", "file_name", "filename", "audio", "audio_path")
CAPTION_COLUMNS = ("caption", "captions", "text")
AUDIOCAPS_COLUMNS = {"audiocap_id", "youtube_id", "start_time", "caption"}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a CSV/TSV/JSON/JSONL file, keys stripped and lower-cased."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ","))
        elif suffix == ".jsonl":
            rows = [
                json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()
            ]
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data.get("data", data.get("clips", [])) if isinstance(data, dict) else data
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read table {path}: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: expected one record per line / a list of objects")
    return [{str(k).strip().lower(): v for k, v in r.items() if k is not None} for r in rows]


def _search_dirs(table: Path, audio_dir: str | None) -> list[Path]:
    base = table.parent
    dirs = [Path(audio_dir)] if audio_dir else []
    dirs += [base, base / "audio"]
    tail = table.stem.rsplit("_", 1)[-1]
    if tail != table.stem:
        dirs.append(base / tail)
    return [d for d in dirs if d.is_dir()]


def _find(dirs: list[Path], names: list[str]) -> Path | None:
    for d in dirs:
        for name in names:
            p = d / name
            if p.suffix.lower() in AUDIO_EXTS and p.is_file():
                return p
            for ext in () if p.suffix.lower() in AUDIO_EXTS else sorted(AUDIO_EXTS):
                q = d / (name + ext)
                if q.is_file():
                    return q
    return None


def _captions(row: dict, column: str | None, where: str) -> list[str]:
    if column:
        if column.lower() not in row:
            raise ConfigError(f"{where}: no column {column!r}; columns are {sorted(row)}")
        value = row[column.lower()]
        return [str(c).strip() for c in (value if isinstance(value, list) else [value]) if c]
    for name in CAPTION_COLUMNS:
        value = row.get(name)
        if isinstance(value, list):
            return [str(c).strip() for c in value if str(c).strip()]
        if value not in (None, ""):
            return [str(value).strip()]
    return [str(row[c]).strip() for c in _caption_columns(list(row)) if str(row[c] or "").strip()]


def read_table(path: Path, cfg: Any) -> list[dict]:
    """Rows ``{path (absolute), captions, split?}`` of one table (or audiofolder), clips merged
    by file; missing files are skipped and counted, a table with none present is refused."""
    if path.is_dir():
        path = next(path / n for n in ("metadata.csv", "metadata.jsonl") if (path / n).is_file())
    records = read_records(path)
    if not records:
        raise ConfigError(f"{path}: the table is empty")
    dirs = _search_dirs(path, getattr(cfg, "audio_dir", None))
    audiocaps = AUDIOCAPS_COLUMNS <= set(records[0])
    by_file: dict[Path, dict] = {}
    missing: list[str] = []
    for n, rec in enumerate(records, 1):
        where = f"{path}:{n}"
        if audiocaps:
            yid, start = str(rec["youtube_id"]).strip(), str(rec["start_time"]).strip()
            names = [
                f"{yid}_{start}",
                f"{yid}_{start}.000",
                f"Y{yid}",
                yid,
                str(rec["audiocap_id"]),
            ]
        else:
            col = getattr(cfg, "audio_column", None)
            keys = [col.lower()] if col else [c for c in PATH_COLUMNS if rec.get(c)]
            if not keys or not rec.get(keys[0]):
                raise ConfigError(
                    f"{where}: no audio path column; expected one of {list(PATH_COLUMNS)} "
                    f"(or --audio_column=NAME); columns are {sorted(rec)}"
                )
            names = [str(rec[keys[0]]).strip()]
        caps = _captions(rec, getattr(cfg, "caption_column", None), where)
        if not caps:
            raise ConfigError(
                f"{where}: no caption; expected a column among {list(CAPTION_COLUMNS)} or "
                f"caption_1..caption_N (or --caption_column=NAME); columns are {sorted(rec)}"
            )
        file = Path(names[0]) if Path(names[0]).is_absolute() else _find(dirs, names)
        if file is None or not file.is_file():
            missing.append(names[0])
            continue
        row = by_file.setdefault(file, {"path": str(file.resolve()), "captions": []})
        row["captions"] += [c for c in caps if c not in row["captions"]]
        split = str(rec.get("split") or "").strip().lower()
        if split:
            row["split"] = {"validation": "val", "valid": "val", "dev": "train"}.get(split, split)
    if missing:
        log.warning(
            "%s: %d of %d records have no audio file (e.g. %s in %s); skipped",
            path,
            len(missing),
            len(records),
            missing[0],
            [str(d) for d in dirs],
        )
    if not by_file:
        raise ConfigError(
            f"{path}: none of its {len(records)} audio files was found (e.g. {missing[0]!r}) "
            f"in {[str(d) for d in dirs]}; pass --audio_dir=DIR where the audio lives"
        )
    return list(by_file.values())


def read_class_folders(root: Path, template: str) -> list[dict]:
    """One row per audio file under ``root/<class>/``; caption = ``template`` filled with the
    normalised folder name (``001 - Dog_bark`` -> ``dog bark``)."""
    rows = []
    for d in _class_dirs(root):
        caption = fill_template(template, _label(d.name))
        rows += [{"path": str(p.resolve()), "captions": [caption]} for p in _audio_files(d)]
    if not rows:
        raise ConfigError(f"{root}: no class subfolders with audio files ({sorted(AUDIO_EXTS)})")
    return rows
