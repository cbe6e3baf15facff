"""A streamed training run over any mix of sources: shards, streamed Hugging Face datasets and
map-style rows (corpus, table, class folders, a dataset on disk) together, drawn by weight.

Every source is cut into the run's ``streams = processes x max(1, num_workers)`` disjoint parts
(rows: a seeded permutation dealt round-robin; shards: whole shards balanced by sample count;
``hf+stream:``: ``split_dataset_by_node``). A part holds ``L_i`` samples per pass (the smallest
part of source ``i`` decides, so every stream has the same length) and yields passes one after
another, each in its own seeded order. ``--data_weights`` keeps its meaning (expected passes over
a source per epoch): in an epoch a stream draws ``m_i = round(w_i x L_i)`` samples from source
``i``, interleaved by a seeded stratified draw (:meth:`MixStream.labels`), so a source's share of
every stretch of batches is ``m_i / sum(m)`` give or take one sample, and exactly that over the
epoch. With every weight <= 1 no sample is drawn twice in an epoch.

Positions are the shard stream's (:mod:`.shards`): batch ``b`` of a rank's epoch is batch
``b // W`` of its local stream ``b % W``, worker ``j`` serves batches ``start + j, start + j + W,
...``; resuming at batch ``k`` of a stream counts each source's draws in the first ``k`` batches
of the permutation and skips that many samples of its part (read, not decoded).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .shards import (
    PositionedStream,
    StreamSpec,
    balance,
    expand,
    fill_batch,
    make_item,
    sample_audio,
    sample_captions,
    sample_id,
    seed_of,
    shard_counts,
    slot_samples,
)
from .sources import read_wave


class RowsPart:
    """Map-style rows as ``streams`` parts: a ``(seed, source, epoch, pass)`` permutation dealt
    round-robin, ``len(rows) // streams`` rows per part and pass."""

    def __init__(self, rows: list[dict], root: Path, streams: int, index: int, name: str):
        self.rows, self.root, self.streams, self.index, self.name = rows, root, streams, index, name
        self.total, self.per_stream = len(rows), len(rows) // streams

    def entries(self, stream: int, epoch: int, pass_: int, start: int, seed: int):
        order = np.random.default_rng([seed, 19, self.index, epoch, pass_]).permutation(self.total)
        for i in order[stream :: self.streams][start : self.per_stream]:
            row = self.rows[int(i)]
            yield row["path"], row["captions"], functools.partial(read_wave, row, self.root)


class ShardsPart:
    """One shard source's shards dealt to ``streams`` parts, balanced by sample count."""

    def __init__(self, spec: str, streams: int, index: int, stream_spec: StreamSpec):
        self.urls = expand(spec)
        if len(self.urls) < streams:
            raise ConfigError(
                f"data source {spec}: {len(self.urls)} shards cannot feed {streams} streams "
                "(processes x data-loader workers); lower num_workers or re-shard smaller"
            )
        self.counts = shard_counts(self.urls)
        self.slots = balance(self.counts, streams)
        self.total = sum(self.counts)
        self.per_stream = min(sum(self.counts[i] for i in s) for s in self.slots)
        self.index, self.spec, self.name = index, stream_spec, spec

    def entries(self, stream: int, epoch: int, pass_: int, start: int, seed: int):
        urls = [self.urls[i] for i in self.slots[stream]]
        raw = slot_samples(urls, self.spec, (epoch, stream, self.index, pass_))
        got = 0
        for sample in islice(raw, start, self.per_stream):
            got += 1
            yield sample_id(sample), sample_captions(sample), sample_audio(sample)[1]
        if start + got < self.per_stream:
            raise ConfigError(
                f"shards {[u.rsplit('/', 1)[-1] for u in urls]} hold fewer samples with audio "
                f"than their count; fix or delete a stale index.json beside them"
            )


class HFPart:
    """A ``hf+stream:`` source (:class:`.hfstream.HFStream`) as parts."""

    def __init__(self, stream, index: int, buffer: int):
        self.stream, self.index, self.buffer, self.name = stream, index, buffer, stream.spec
        self.total, self.per_stream = stream.size, stream.per_stream

    def entries(self, stream: int, epoch: int, pass_: int, start: int, seed: int):
        key = seed_of(seed, "hf", self.index, epoch, pass_) & 0x7FFFFFFF
        yield from self.stream.take(stream, key, self.buffer, start)


def part_passes(part, stream: int, epoch: int, start: int, seed: int) -> Iterator[tuple]:
    """A part's entries from draw ``start`` of the epoch on: pass after pass, endless."""
    pass_, offset = divmod(start, part.per_stream)
    while True:
        yield from part.entries(stream, epoch, pass_, offset, seed)
        pass_, offset = pass_ + 1, 0


class MixStream(PositionedStream):
    """Batches (lists of items ``{clip, caption, caption_id, wave, key}``) for one rank, drawn
    from ``parts`` by weight; same interface as :class:`.shards.ShardStream`."""

    def __init__(
        self,
        parts: list,
        weights: list[float],
        spec: StreamSpec,
        *,
        rank: int,
        world: int,
        workers: int,
    ):
        super().__init__()
        self.parts, self.spec, self.rank = parts, spec, rank
        self.local = max(1, workers)
        self.slots = list(range(world * self.local))
        empty = [p.name for p in parts if p.per_stream == 0]
        if empty:
            raise ConfigError(
                f"data sources {empty} hold fewer samples than the {len(self.slots)} streams "
                f"({world} processes x {self.local} data-loader workers); lower num_workers"
            )
        self.draws = [int(round(w * p.per_stream)) for w, p in zip(weights, parts, strict=True)]
        self.per_slot = sum(self.draws) // spec.batch_size
        if self.per_slot == 0:
            raise ConfigError(
                f"each of {len(self.slots)} streams draws {sum(self.draws)} samples per epoch, "
                f"less than one batch of {spec.batch_size}; lower batch_size or num_workers"
            )
        self.samples = sum(p.total for p in parts)
        self.unused = (sum(self.draws) - self.per_slot * spec.batch_size) * len(self.slots)
        self.urls = [u for p in parts if isinstance(p, ShardsPart) for u in p.urls]

    def labels(self, slot: int, epoch: int) -> np.ndarray:
        """The source of each draw of one stream's epoch: a seeded, stratified interleaving
        (draw ``j`` of source ``i`` lands at ``(j + u) / m_i`` of the epoch, ``u`` uniform), so
        every stretch of batches holds each source at its share, give or take one sample."""
        rng = np.random.default_rng([self.spec.seed, 23, epoch, slot])
        where = np.concatenate([(np.arange(m) + rng.random(m)) / max(m, 1) for m in self.draws])
        labels = np.repeat(np.arange(len(self.parts)), self.draws)
        return labels[np.argsort(where, kind="stable")]

    def __iter__(self):
        if (where := self._first()) is None:
            return
        first, slot = where
        bs, epoch = self.spec.batch_size, self.epoch
        labels = self.labels(slot, epoch)
        done = (first // self.local) * bs
        counts = np.bincount(labels[:done], minlength=len(self.parts))
        its: list[Iterator | None] = [None] * len(self.parts)
        for b in range(first // self.local, self.per_slot):
            entries = []
            for src in labels[b * bs : (b + 1) * bs]:
                if its[src] is None:
                    its[src] = part_passes(
                        self.parts[src], slot, epoch, int(counts[src]), self.spec.seed
                    )
                entries.append(next(its[src]))
            items = [make_item(i, c, a, self.spec, epoch) for i, c, a in entries]
            yield fill_batch(items, [e[0] for e in entries])


def build_parts(sources: list, cfg: Any, streams: int, spec: StreamSpec) -> list:
    """A part per source (see the module docstring); map-style sources give their train rows."""
    from ..training.data import select, source_rows
    from .hfstream import open_stream

    parts: list = []
    for i, src in enumerate(sources):
        if src.kind == "shards":
            parts.append(ShardsPart(src.spec, streams, i, spec))
        elif src.kind == "hfstream":
            parts.append(HFPart(open_stream(src.spec, cfg, streams), i, spec.shuffle_buffer))
        else:
            root, rows = source_rows(cfg, [src])
            parts.append(RowsPart(select(rows, cfg, "train"), root, streams, i, src.spec))
    return parts
