"""A training run over streamed shards: the rank's shard stream, the val rows beside it, and the
per-rank log of the samples every step saw."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import ConfigError
from .config import TrainConfig
from .data import Splits, select, source_rows

log = logging.getLogger(__name__)


def stream_splits(cfg: TrainConfig) -> Splits:
    """Splits of a streamed (shard) run: no train rows (the stream brings them), val rows from
    ``val_data`` when given."""
    from ..data.sources import parse_sources

    val: list[dict] = []
    if cfg.val_data:
        val = select(source_rows(cfg, parse_sources(cfg.val_data, (), ""), val=True)[1], cfg, "val")
    captions = sorted({c for r in val for c in r["captions"]})
    return Splits(Path("/"), [], val, captions, {c: i for i, c in enumerate(captions)})


def shard_stream(cfg: TrainConfig, sources: list, accelerator):
    """The rank's :class:`~wavlink_core.data.shards.ShardStream` when the sources are shards,
    else None; shards mixed with map-style sources are refused with the conversion command."""
    kinds = {s.kind for s in sources}
    if "shards" not in kinds:
        return None
    if kinds != {"shards"}:
        other = [s.spec for s in sources if s.kind != "shards"]
        raise ConfigError(
            f"shards cannot be mixed with {other} in one run; convert those first with "
            "python -m wavlink_core.data shard SOURCE --out DIR, then pass every source as shards"
        )
    from ..data.shards import ShardStream, StreamSpec

    spec = StreamSpec(
        cfg.batch_size, cfg.clip_seconds, cfg.random_crop, cfg.seed, cfg.shuffle_buffer
    )
    stream = ShardStream(
        sources,
        spec,
        rank=accelerator.process_index,
        world=accelerator.num_processes,
        workers=cfg.num_workers,
    )
    if accelerator.is_main_process:
        log.info(
            "shards: %d files, %d samples, %d streams x %d batches of %d per epoch (%d left over)",
            len(stream.urls),
            stream.samples,
            len(stream.slots),
            stream.per_slot,
            cfg.batch_size,
            stream.unused,
        )
    return stream


class SampleLog:
    """``<run>/samples/rank<r>.jsonl``: the sample ids of every step on this rank (audits which
    rank saw what; the multi-process test checks the ranks are disjoint)."""

    def __init__(self, run: Path, rank: int):
        self.path = run / "samples" / f"rank{rank}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, step: int, epoch: int, keys: list[str]) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps({"step": step, "epoch": epoch, "keys": list(keys)}) + "\n")
