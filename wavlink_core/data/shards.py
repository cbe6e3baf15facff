"""WebDataset tar shards: listing, sample counts, the rank- and worker-split training stream.

A shard holds one audio member (``.flac``/``.wav``/``.mp3``/...) plus a ``.json`` (``text``,
``caption`` or ``captions``: a string or a list, as in LAION-Audio-630K) or ``.txt`` caption
per key. Reading uses the ``webdataset`` library's tar iterators; remote shards open through
``fsspec`` (``s3://``, ``gs://``, ``https://`` ...).

Splitting. The shards of an epoch are dealt to ``slots = world_size x max(1, num_workers)``
streams, balanced by sample count (longest-first); each slot reads its own shards, so no sample
is read twice in an epoch. Every slot yields the same number ``K`` of full batches (the smallest
slot decides; the few samples beyond are left for that epoch and logged), so every rank takes
the same number of steps and DDP never waits on a rank that ran dry. Batch ``b`` of a rank's
epoch is batch ``b // W`` of its local slot ``b % W``; data-loader worker ``j`` serves batches
``start + j, start + j + W, ...``, so torch's round-robin over workers returns them in order and
a run resumed at batch ``start`` of an epoch sees exactly the batches the uninterrupted run saw.
Order within a slot: its shards in a ``(seed, epoch, slot)`` permutation, then a seeded
``webdataset`` shuffle buffer; slots rotate over ranks every epoch.

Sample counts come from ``index.json`` beside the shards (written by ``python -m
wavlink_core.data shard``), else from one pass over the tar headers.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import AudioError, ConfigError
from .sources import Source, is_url

log = logging.getLogger(__name__)

INDEX_FILE = "index.json"
AUDIO_SUFFIXES = ("flac", "wav", "mp3", "ogg", "opus", "oga", "aiff", "aif", "m4a", "webm")
CAPTION_KEYS = ("captions", "caption", "text")


def expand(spec: str) -> list[str]:
    """Shard URLs/paths of one source: brace pattern, fsspec glob, folder of .tar, or one file."""
    import braceexpand

    if "{" in spec:
        urls = list(braceexpand.braceexpand(spec))
    elif is_url(spec) and (any(c in spec for c in "*?[") or not spec.endswith(".tar")):
        import fsspec

        # a URL without a pattern that is not a .tar is a folder (prefix) of shards
        pattern = spec if any(c in spec for c in "*?[") else spec.rstrip("/") + "/*.tar"
        fs, _, paths = fsspec.get_fs_token_paths(pattern)
        urls = [fs.unstrip_protocol(p) for p in sorted(paths)]
    elif not is_url(spec) and Path(spec).is_dir():
        urls = [str(p) for p in sorted(Path(spec).glob("*.tar"))]
    else:
        urls = [spec]
    if not urls:
        raise ConfigError(f"data source {spec}: no .tar shards there")
    missing = [u for u in urls if not is_url(u) and not Path(u).is_file()]
    if missing:
        raise ConfigError(
            f"data source {spec}: {len(missing)} of {len(urls)} shards do not exist, "
            f"e.g. {missing[0]}"
        )
    return urls


def open_shard(url: str):
    if is_url(url):
        import fsspec

        return fsspec.open(url, "rb").open()
    return open(url, "rb")


def _index_of(url: str) -> dict[str, int]:
    """``index.json`` beside ``url`` (name -> sample count), or {} when there is none."""
    base = url.rsplit("/", 1)[0] if "/" in url else "."
    try:
        with open_shard(f"{base}/{INDEX_FILE}") as fh:
            return {k: int(v) for k, v in json.loads(fh.read())["shards"].items()}
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return {}


def key_and_suffix(name: str) -> tuple[str, str]:
    from webdataset.tariterators import base_plus_ext

    key, suffix = base_plus_ext(name)
    return key or "", (suffix or "").lower()


def count_samples(url: str) -> int:
    """Keys with an audio member in one shard (one pass over the tar headers)."""
    keys = set()
    with open_shard(url) as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
        for info in tar:
            key, suffix = key_and_suffix(info.name)
            if info.isreg() and suffix in AUDIO_SUFFIXES:
                keys.add(key)
    return len(keys)


def shard_counts(urls: list[str]) -> list[int]:
    indexes: dict[str, dict[str, int]] = {}
    counts = []
    for url in urls:
        base = url.rsplit("/", 1)[0] if "/" in url else "."
        if base not in indexes:
            indexes[base] = _index_of(url)
        name = url.rsplit("/", 1)[-1]
        counts.append(indexes[base][name] if name in indexes[base] else count_samples(url))
    return counts


def iter_samples(url: str):
    """Raw samples ``{__key__, __url__, <suffix>: bytes}`` of one shard, via webdataset."""
    from webdataset.tariterators import group_by_keys, tar_file_expander

    with open_shard(url) as fh:
        yield from group_by_keys(tar_file_expander([{"url": url, "stream": fh}]))


def sample_audio(sample: dict) -> tuple[str, bytes] | None:
    return next(((s, sample[s]) for s in AUDIO_SUFFIXES if s in sample), None)


def sample_captions(sample: dict) -> list[str]:
    """Captions of one raw sample: its ``.json`` (text/caption/captions) or its ``.txt``."""
    if "json" in sample:
        try:
            meta = json.loads(sample["json"])
        except (ValueError, UnicodeDecodeError):
            meta = {}
        for k in CAPTION_KEYS:
            value = meta.get(k) if isinstance(meta, dict) else None
            if value:
                values = value if isinstance(value, list) else [value]
                return [str(v).strip() for v in values if str(v).strip()]
    if "txt" in sample:
        text = sample["txt"].decode("utf-8", "replace")
        return [line.strip() for line in text.splitlines() if line.strip()]
    return []


def sample_id(sample: dict) -> str:
    return f"{sample['__url__'].rsplit('/', 1)[-1]}/{sample['__key__']}"


def seed_of(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "little")


def balance(counts: list[int], n_slots: int) -> list[list[int]]:
    """Shard indices per slot, longest-first onto the lightest slot (ties by index)."""
    slots: list[list[int]] = [[] for _ in range(n_slots)]
    totals = [0] * n_slots
    for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i)):
        s = min(range(n_slots), key=lambda s: (totals[s], s))
        slots[s].append(i)
        totals[s] += counts[i]
    return slots


@dataclass(frozen=True)
class StreamSpec:
    """What the stream needs from the training config (picklable for data-loader workers)."""

    batch_size: int
    clip_seconds: float
    random_crop: bool
    seed: int
    shuffle_buffer: int


def slot_samples(urls: list[str], spec: StreamSpec, key: tuple) -> Iterator[dict]:
    """Raw samples with audio of ``urls`` in a ``(seed, *key)`` shard permutation, through a
    seeded webdataset shuffle buffer (``key`` is e.g. ``(epoch, slot)``)."""
    from webdataset.filters import _shuffle

    order = np.random.default_rng([spec.seed, 17, *key]).permutation(len(urls))
    stream = (s for k in order for s in iter_samples(urls[k]))
    stream = (s for s in stream if sample_audio(s) is not None)
    if spec.shuffle_buffer > 1:
        rng = random.Random(seed_of(spec.seed, "buffer", *key))
        stream = _shuffle(stream, spec.shuffle_buffer, spec.shuffle_buffer, rng=rng)
    return stream


def make_item(
    ident: str, captions: list[str], audio: Any, spec: StreamSpec, epoch: int
) -> dict | None:
    """A streamed training item ``{clip, caption, caption_id, wave, key}``: a caption and a crop
    seeded by ``(seed, epoch, ident)``; None (logged) when it has no caption or no audio.
    ``audio`` is encoded bytes, a file path, or a function returning the decoded wave."""
    from ..audio import SAMPLE_RATE, load_audio
    from ..training.data import caption_hash

    if not captions:
        log.warning("%s: no caption (.json text/caption/captions or .txt); skipped", ident)
        return None
    try:
        wave = audio() if callable(audio) else load_audio(audio, name=ident, max_seconds=None)
    except AudioError as exc:
        log.warning("%s; skipped", exc)
        return None
    rng = np.random.default_rng([spec.seed, 2, epoch, caption_hash(ident) & 0xFFFFFFFF])
    caption = captions[int(rng.integers(len(captions)))]
    crop = int(round(spec.clip_seconds * SAMPLE_RATE))
    if wave.shape[0] > crop:
        start = int(rng.integers(wave.shape[0] - crop + 1)) if spec.random_crop else 0
        wave = wave[start : start + crop]
    return {"clip": -1, "caption": caption, "caption_id": -1, "wave": wave, "key": ident}


def fill_batch(items: list[dict | None], idents: list[str]) -> list[dict]:
    """A batch with each unusable item replaced by a good one of the same batch: the batch
    keeps its size and the position arithmetic (raw samples per batch) stays exact."""
    good = [it for it in items if it is not None]
    if not good:
        raise ConfigError(f"a whole batch of {len(items)} samples was unusable, e.g. {idents[0]}")
    return [it if it is not None else good[k % len(good)] for k, it in enumerate(items)]


class PositionedStream(torch.utils.data.IterableDataset):
    """What the shard stream and the mixed stream (:mod:`.mix`) share: ``local`` streams per
    rank (one per data-loader worker), ``per_slot`` batches per stream and epoch, and the
    position (epoch, first batch) the next iteration starts at."""

    rank: int
    local: int
    per_slot: int
    slots: list
    epoch: int = 0
    start: int = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.per_slot * self.local

    def set_position(self, epoch: int, start: int = 0) -> None:
        """Start the next iteration at batch ``start`` of ``epoch`` (resume mid-epoch)."""
        self.epoch, self.start = int(epoch), int(start)

    def _slot_id(self, local: int) -> int:
        # Slots rotate over ranks each epoch, so a rank does not see the same shards every epoch.
        return (self.rank * self.local + local + self.epoch * self.local) % len(self.slots)

    def _first(self) -> tuple[int, int] | None:
        """This worker's first batch of the epoch and the slot it reads, or None when the
        epoch holds no batch for it any more."""
        info = torch.utils.data.get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        if n_workers != self.local:
            raise ConfigError(
                f"the stream was planned for {self.local} data-loader workers but runs in "
                f"{n_workers}"
            )
        first = self.start + worker
        if first >= self.batches_per_epoch:
            return None
        return first, self._slot_id(first % self.local)


class ShardStream(PositionedStream):
    """Batches (lists of items ``{clip, caption, caption_id, wave, key}``) for one rank.

    Call :meth:`set_position` before iterating; every epoch holds :attr:`batches_per_epoch`
    batches on every rank.
    """

    def __init__(
        self, sources: list[Source], spec: StreamSpec, *, rank: int, world: int, workers: int
    ):
        super().__init__()
        self.spec, self.rank, self.world = spec, rank, world
        self.local = max(1, workers)
        urls: list[str] = []
        for i, src in enumerate(sources):
            found = expand(src.spec)
            reps = int(src.weight)
            frac = src.weight - reps
            pick = np.random.default_rng([spec.seed, 13, i]).permutation(len(found))
            urls += found * reps + [found[k] for k in sorted(pick[: round(frac * len(found))])]
        self.urls = urls
        self.counts = shard_counts(urls)
        n_slots = world * self.local
        if len(urls) < n_slots:
            raise ConfigError(
                f"{len(urls)} shards cannot feed {n_slots} streams ({world} processes x "
                f"{self.local} data-loader workers); lower num_workers or re-shard with a "
                "smaller --shard-size"
            )
        self.slots = balance(self.counts, n_slots)
        totals = [sum(self.counts[i] for i in s) for s in self.slots]
        self.per_slot = min(totals) // spec.batch_size
        if self.per_slot == 0:
            raise ConfigError(
                f"the smallest of {n_slots} shard streams holds {min(totals)} samples, less than "
                f"one batch of {spec.batch_size}; lower batch_size or num_workers"
            )
        self.samples = sum(self.counts)
        self.unused = sum(totals) - self.per_slot * spec.batch_size * n_slots

    def _raw(self, slot: int):
        """The slot's raw samples of this epoch: shard order permuted, then a shuffle buffer."""
        urls = [self.urls[i] for i in self.slots[slot]]
        return slot_samples(urls, self.spec, (self.epoch, slot))

    def decode(self, sample: dict) -> dict | None:
        """One raw sample -> a training item, or None (logged) when it cannot be used."""
        audio = sample_audio(sample)
        ident, captions = sample_id(sample), sample_captions(sample)
        return make_item(ident, captions, audio[1], self.spec, self.epoch)

    def __iter__(self):
        if (where := self._first()) is None:
            return
        first, slot = where
        bs, total = self.spec.batch_size, self.batches_per_epoch
        raw = self._raw(slot)

        def take(n: int) -> list[dict]:
            out = [s for _, s in zip(range(n), raw)]
            if len(out) < n:
                names = [self.urls[i].rsplit("/", 1)[-1] for i in self.slots[slot]]
                raise ConfigError(
                    f"shards {names} hold fewer samples with audio than their count "
                    f"({sum(self.counts[i] for i in self.slots[slot])}); fix or delete a stale "
                    f"{INDEX_FILE} beside them"
                )
            return out

        take((first // self.local) * bs)  # resume: skip what this stream already gave
        for _ in range(first, total, self.local):
            samples = take(bs)
            yield fill_batch([self.decode(s) for s in samples], [sample_id(s) for s in samples])

def encode_flac(wave: np.ndarray) -> bytes:
    """16-kHz float waveform -> FLAC (16-bit) bytes."""
    import soundfile as sf

    from ..audio import SAMPLE_RATE

    buf = io.BytesIO()
    sf.write(buf, np.clip(wave, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buf.getvalue()
