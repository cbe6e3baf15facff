"""A streamed training run (shards, ``hf+stream:`` datasets, or a mix holding either): the rank's
stream, the val rows beside it, and the per-rank log of the samples every step saw."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .config import TrainConfig
from .data import Splits, select, source_rows

log = logging.getLogger(__name__)


def stream_splits(cfg: TrainConfig, sources: list) -> Splits:
    """Splits of a streamed run: no train rows (the stream brings them); val rows from
    ``val_data`` when given, else the val rows of the map-style sources of the mix."""
    from ..data.sources import MAP_KINDS, parse_sources

    if cfg.val_data:
        val = select(source_rows(cfg, parse_sources(cfg.val_data, (), ""), val=True)[1], cfg, "val")
    else:
        # paths are made absolute: the splits' root is "/" while a corpus keeps relative paths
        val = []
        for src in (s for s in sources if s.kind in MAP_KINDS):
            root, rows = source_rows(cfg, [src])
            val += [{**r, "path": str(root / r["path"])} for r in select(rows, cfg, "val")]
    captions = sorted({c for r in val for c in r["captions"]})
    return Splits(Path("/"), [], val, captions, {c: i for i, c in enumerate(captions)})


def make_stream(cfg: TrainConfig, sources: list, accelerator):
    """The rank's training stream when a source streams, else None (map-style sampling):
    shards only -> :class:`~wavlink_core.data.shards.ShardStream` (weights pick whole shards);
    any other mix holding shards or ``hf+stream:`` -> :class:`~wavlink_core.data.mix.MixStream`
    (every source cut by rank and worker, drawn sample by sample by weight)."""
    from ..data.sources import STREAM_KINDS

    kinds = {s.kind for s in sources}
    if not kinds & set(STREAM_KINDS):
        return None
    from ..data.mix import MixStream, build_parts
    from ..data.shards import ShardStream, StreamSpec

    spec = StreamSpec(
        cfg.batch_size, cfg.clip_seconds, cfg.random_crop, cfg.seed, cfg.shuffle_buffer
    )
    where = dict(rank=accelerator.process_index, world=accelerator.num_processes)
    if kinds == {"shards"}:
        stream = ShardStream(sources, spec, workers=cfg.num_workers, **where)
    else:
        streams = accelerator.num_processes * max(1, cfg.num_workers)
        parts = build_parts(sources, cfg, streams, spec)
        weights = [s.weight for s in sources]
        stream = MixStream(parts, weights, spec, workers=cfg.num_workers, **where)
    if accelerator.is_main_process:
        log.info(
            "streamed: %d samples (%d shard files), %d streams x %d batches of %d per epoch "
            "(%d left over)",
            stream.samples,
            len(stream.urls),
            len(stream.slots),
            stream.per_slot,
            cfg.batch_size,
            stream.unused,
        )
    return stream


class SampleLog:
    """``<run>/samples/rank<r>.jsonl``: the sample ids of every step on this rank (audits which
    rank saw what; the multi-process test checks the ranks are disjoint). Rows after
    ``from_step`` (steps a killed run took after its last checkpoint) are dropped."""

    def __init__(self, run: Path, rank: int, from_step: int = 0):
        from .run_state import keep_rows_until

        self.path = run / "samples" / f"rank{rank}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keep_rows_until(self.path, from_step)

    def write(self, step: int, epoch: int, keys: list[str]) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps({"step": step, "epoch": epoch, "keys": list(keys)}) + "\n")
