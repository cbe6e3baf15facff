"""A Hugging Face ``datasets`` dataset read in streaming mode: ``--data=hf+stream:WHERE``.

``WHERE`` is a dataset written by ``save_to_disk`` (read through ``to_iterable_dataset``), an
audiofolder or a folder of data files (``datasets.load_dataset(WHERE, streaming=True)``), or,
only when it is not a local path, a Hub id such as ``org/name`` (the Hub is contacted only then;
``HF_HUB_OFFLINE=1`` keeps it from being contacted at all). The split is ``train``, or
``WHERE@split``. The audio column is read with ``decode=False`` and decoded by
:func:`wavlink_core.audio.load_audio`, as for a dataset on disk.

Splitting: each of the run's ``processes x workers`` streams reads its own part through
``datasets.distributed.split_dataset_by_node(rank=stream, world_size=streams)`` (whole shards
when their number divides evenly, else every n-th sample), and iterates it with
``IterableDataset.iter`` so that ``datasets`` does not split it again by data-loader worker.
A saved dataset is cut into exactly one contiguous shard per stream, so every stream holds at
least ``len // streams`` samples.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .hf import audio_value, captions_of, columns
from .sources import AUDIOFOLDER_META

log = logging.getLogger(__name__)

PREFIX = "hf+stream:"
INDEX_COLUMN = "__wavlink_index__"


def is_stream_spec(spec: str) -> bool:
    return spec.startswith(PREFIX)


def _where(spec: str) -> tuple[str, str]:
    """``hf+stream:WHERE[@split]`` -> (WHERE, split)."""
    where = spec[len(PREFIX) :]
    if not where:
        raise ConfigError(f"data source {spec!r}: name a dataset after {PREFIX}")
    base, _, split = where.rpartition("@")
    return (base, split) if base and "/" not in split else (where, "train")


def is_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder ``datasets``' ``save_to_disk`` wrote."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "dataset_info.json").is_file() and (path / "state.json").is_file()
    )


@dataclass
class HFStream:
    """One streamed dataset, cut for ``streams`` streams; :meth:`entries` reads one of them."""

    spec: str
    ds: Any  # datasets.IterableDataset, audio column left encoded
    size: int
    audio: str
    caption: str
    base: str  # folder relative audio paths are joined to ("" for the Hub)
    streams: int

    @property
    def per_stream(self) -> int:
        return self.size // self.streams

    def entries(self, stream: int, seed: int, buffer: int) -> Iterator[tuple[str, list, Any]]:
        """``(id, captions, encoded audio)`` of stream ``stream``, shuffled by ``seed`` (the
        shard order and a buffer of ``buffer`` samples, both ``datasets``' own)."""
        from datasets.distributed import split_dataset_by_node

        ds = self.ds
        if buffer > 1:
            ds = ds.shuffle(seed=seed, buffer_size=buffer)
        part = split_dataset_by_node(ds, rank=stream, world_size=self.streams)
        for batch in part.iter(batch_size=1):
            ex = {k: v[0] for k, v in batch.items()}
            if INDEX_COLUMN in ex:
                ident = f"{self.spec}#{ex[INDEX_COLUMN]}"
            else:
                value = ex[self.audio]
                key = value if isinstance(value, str) else None
                key = key or (value.get("path") if isinstance(value, dict) else None)
                key = key or hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()
                ident = f"{self.spec}#{key}"
            audio = audio_value(ex[self.audio], self.base, ident, self.audio)
            yield ident, captions_of(ex[self.caption]), audio

    def take(self, stream: int, seed: int, buffer: int, start: int) -> Iterator[tuple]:
        """Entries ``start..per_stream`` of one pass; a part shorter than ``per_stream`` (uneven
        shards) is read again from its start, so every pass has the same length."""
        n = self.per_stream
        got = 0
        while got < n:
            before = got
            for entry in self.entries(stream, seed, buffer):
                if got >= n:
                    return
                if got >= start:
                    yield entry
                got += 1
            if got == before:
                raise ConfigError(f"{self.spec}: stream {stream} of {self.streams} is empty")
            if got < n:
                log.warning(
                    "%s: stream %d holds fewer than %d samples; repeating", self.spec, stream, n
                )


def open_stream(spec: str, cfg: Any, streams: int) -> HFStream:
    """Open ``hf+stream:WHERE`` for ``streams`` streams (see the module docstring)."""
    import datasets

    where, split = _where(spec)
    path = Path(where)
    try:
        if path.is_dir() and is_saved_dataset(path):
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise ConfigError(f"{spec}: no split {split!r}; splits are {list(ds)}")
                ds = ds[split]
            audio, caption = columns(ds, path, cfg)
            ds = ds.cast_column(audio, datasets.Audio(decode=False))
            ds = ds.add_column(INDEX_COLUMN, list(range(len(ds))))
            size = len(ds)
            if size < streams:
                raise ConfigError(f"{spec}: {size} rows cannot feed {streams} streams")
            stream = ds.to_iterable_dataset(num_shards=streams)
            base = str(path.resolve())
        else:
            if not path.exists() and (where.startswith((".", "/")) or where.count("/") != 1):
                raise ConfigError(
                    f"data source {spec}: {where} is no local folder and not a Hub id "
                    "(org/name); expected a save_to_disk dataset, an audiofolder, a folder of "
                    "data files or a Hub id"
                )
            stream = datasets.load_dataset(where, split=split, streaming=True)
            audio, caption = columns(stream, path, cfg)
            # An audiofolder yields file paths, which datasets 5 would only encode as Audio with
            # torchcodec installed; as plain strings they reach load_audio untouched.
            folder = path.is_dir() and any((path / n).is_file() for n in AUDIOFOLDER_META)
            kind = datasets.Value("string") if folder else datasets.Audio(decode=False)
            stream = stream.cast_column(audio, kind)
            size = _size(stream, split, caption)
            base = str(path.resolve()) if path.is_dir() else ""
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"cannot stream Hugging Face dataset {spec}: {exc}") from exc
    return HFStream(spec, stream, size, audio, caption, base, streams)


def _size(ds, split: str, caption: str) -> int:
    """Samples in a streamed split: from its info when recorded, else one pass over the
    captions (the audio is not read)."""
    info = (ds.info.splits or {}).get(split) if ds.info else None
    if info is not None and info.num_examples:
        return int(info.num_examples)
    return sum(len(b[caption]) for b in ds.select_columns([caption]).iter(batch_size=1000))

