"""Training data sources: what ``--data=SOURCE[,SOURCE...]`` names, detected from what it is.

Kinds (:data:`KINDS`):

* ``corpus`` -- the corpus builder's output folder (``manifest.jsonl`` inside); ``--corpus`` is
  an alias of ``--data`` with one such folder.
* ``table``  -- a CSV/TSV/JSONL file of audio paths (relative to the table) and captions: the
  AudioCaps (``audiocap_id,youtube_id,start_time,caption``) and Clotho (``file_name,
  caption_1..5``) layouts, a generic ``file,caption`` table, or a Hugging Face *audiofolder*
  (a folder with ``metadata.csv``/``metadata.jsonl``; read as the table it is).
* ``folder`` -- class subfolders of audio files; the caption is the folder name put into
  ``folder_template`` by :func:`wavlink_core.templates.fill_template`.
* ``hf``     -- a Hugging Face ``datasets`` dataset written by ``save_to_disk``, with an ``Audio``
  column (its encoded bytes are decoded by :func:`wavlink_core.audio.load_audio`, so no
  ``torchcodec`` is needed).
* ``hfstream`` -- ``hf+stream:WHERE``: a Hugging Face dataset (saved to disk, an audiofolder, a
  folder of data files, or a Hub id) read in streaming mode (:mod:`wavlink_core.data.hfstream`).
* ``shards`` -- WebDataset tar shards: a ``.tar`` file, a brace pattern
  (``shards-{000000..000099}.tar``), a folder of ``*.tar`` or any fsspec URL (``s3://...``).

Map-style kinds become rows (``path``, ``captions``, ``split``, ``source`` ...) that the training
sampler draws from; shards stream (:mod:`wavlink_core.data.shards`); a mix that holds a streamed
kind streams every source (:mod:`wavlink_core.data.mix`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

log = logging.getLogger(__name__)

KINDS = ("corpus", "table", "folder", "hf", "hfstream", "shards")
STREAM_KINDS = ("hfstream", "shards")
MAP_KINDS = ("corpus", "table", "folder", "hf")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
AUDIOFOLDER_META = ("metadata.csv", "metadata.jsonl")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
KIND_HELP = (
    "a corpus folder (manifest.jsonl), a CSV/TSV/JSONL table, an audiofolder (metadata.csv), "
    "a folder of class subfolders with audio, a Hugging Face dataset saved with save_to_disk, "
    "hf+stream:WHERE (a Hugging Face dataset read in streaming mode), "
    "or WebDataset shards (.tar, a {000..009} pattern, a folder of .tar, or an fsspec URL)"
)


@dataclass(frozen=True)
class Source:
    """One ``--data`` entry: where it is, what kind it is and its mixing weight (expected passes
    over it per epoch)."""

    spec: str
    kind: str
    weight: float = 1.0

    @property
    def name(self) -> str:
        return self.spec.rstrip("/").rsplit("/", 1)[-1] or self.spec


def is_url(spec: str) -> bool:
    return bool(_URL.match(spec)) and not spec.startswith("file://")


def detect_kind(spec: str) -> str:
    """The kind of ``spec`` (see the module docstring), judged from what it is; raises a
    :class:`ConfigError` naming the path and the accepted kinds when it is none of them."""
    from .hfstream import is_saved_dataset, is_stream_spec

    if is_stream_spec(spec):
        return "hfstream"
    if is_url(spec) or "{" in spec or spec.endswith(".tar"):
        return "shards"
    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"data source {spec}: no such file or folder (accepted: {KIND_HELP})")
    if path.is_file():
        if path.suffix.lower() in TABLE_SUFFIXES:
            return "table"
        raise ConfigError(
            f"data source {spec}: a {path.suffix or 'suffix-less'} file is not a table "
            f"({', '.join(TABLE_SUFFIXES)}) or a .tar shard (accepted: {KIND_HELP})"
        )
    if (path / "manifest.jsonl").is_file():
        return "corpus"
    if is_saved_dataset(path):
        return "hf"
    if any((path / n).is_file() for n in AUDIOFOLDER_META):
        return "table"
    if any(path.glob("*.tar")):
        return "shards"
    from ..evaluation.datasets import _class_dirs

    if _class_dirs(path):
        return "folder"
    raise ConfigError(f"data source {spec}: cannot tell what it is; expected {KIND_HELP}")


def parse_sources(
    data: tuple[str, ...], weights: tuple[float, ...], corpus: str = ""
) -> list[Source]:
    """``--data`` (plus the ``--corpus`` alias) and ``--data_weights`` -> sources."""
    specs = ([corpus] if corpus else []) + [d for d in data if d]
    if not specs:
        raise ConfigError(
            "no training data: pass --data=SOURCE[,SOURCE...] (or --corpus=DIR); a source is "
            + KIND_HELP
        )
    if weights and len(weights) != len(specs):
        raise ConfigError(
            f"data_weights has {len(weights)} values for {len(specs)} sources {specs}; "
            "give one weight per source"
        )
    bad = [w for w in weights if not w > 0]
    if bad:
        raise ConfigError(f"data_weights must be > 0, got {list(weights)}")
    ws = weights or (1.0,) * len(specs)
    return [Source(s, detect_kind(s), float(w)) for s, w in zip(specs, ws, strict=True)]


def holdout(rows: list[dict], fraction: float, seed: int) -> list[dict]:
    """Mark a seeded ``fraction`` of ``rows`` (rows without a split of their own) as ``val``."""
    todo = [r for r in rows if not r.get("split")]
    n_val = int(round(fraction * len(todo))) if len(todo) >= 10 else 0
    val = set(np.random.default_rng([seed, 11]).permutation(len(todo))[:n_val].tolist())
    for i, row in enumerate(todo):
        row["split"] = "val" if i in val else "train"
    return rows


def load_rows(source: Source, index: int, cfg: Any) -> list[dict]:
    """The rows of a map-style source; every row carries ``source`` (its position in --data)."""
    from . import hf, tables

    if source.kind == "corpus":
        from ..training.data import read_manifest

        root, rows = read_manifest(cfg.replace(corpus=source.spec))
        if index:  # only the first source's paths stay relative to Splits.corpus
            for row in rows:
                row["path"] = str((root / row["path"]).resolve())
    elif source.kind == "table":
        rows = tables.read_table(Path(source.spec), cfg)
    elif source.kind == "folder":
        rows = tables.read_class_folders(Path(source.spec), cfg.folder_template)
    elif source.kind == "hf":
        rows = hf.read_hf(Path(source.spec), cfg)
    else:
        raise ConfigError(f"{source.spec}: {source.kind} is not a map-style source")
    for row in rows:
        row["source"] = index
    return rows


def read_wave(row: dict, root: Path):
    """Decode one row's audio (a file, or the bytes of a Hugging Face dataset row)."""
    from ..audio import load_audio

    if "hf_dir" in row:
        from .hf import row_audio

        data, name = row_audio(row)
        return load_audio(data, name=name, max_seconds=None)
    return load_audio(str(root / row["path"]), max_seconds=None)
