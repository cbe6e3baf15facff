"""Streamed training data beyond shards: Hugging Face datasets read with ``hf+stream:`` and
mixes of any kinds (shards + table + class folders), split by rank and worker, drawn by weight
and resumable mid-epoch (offline fixtures)."""

from __future__ import annotations

import pytest
from data_fixtures import (
    keys_of,
    make_audiofolder,
    make_class_folders,
    make_clotho,
    make_hf,
    make_parquet,
    make_shards,
)

from wavlink_core.data.mix import MixStream, build_parts
from wavlink_core.data.shards import StreamSpec
from wavlink_core.data.sources import parse_sources
from wavlink_core.errors import ConfigError
from wavlink_core.training import TrainConfig

SPEC = StreamSpec(batch_size=2, clip_seconds=1.0, random_crop=False, seed=0, shuffle_buffer=4)
CFG = TrainConfig(model="test", min_clips=4, val_fraction=0.0)


def flat(batches: list[list[str]]) -> list[str]:
    return [k for b in batches for k in b]


@pytest.mark.parametrize("layout", ["saved", "audiofolder", "parquet"])
@pytest.mark.parametrize("workers", [0, 2])
def test_hf_stream_splits_by_rank_and_worker_and_resumes(tmp_path, layout, workers):
    where = {
        "saved": lambda: make_hf(tmp_path, 12),  # one contiguous shard per stream
        "audiofolder": lambda: make_audiofolder(tmp_path / "af", 12),
        "parquet": lambda: make_parquet(tmp_path, 12),  # 1 file: every n-th sample per stream
    }[layout]()
    sources = parse_sources((f"hf+stream:{where}",), ())
    assert sources[0].kind == "hfstream"
    parts = build_parts(sources, CFG, 2 * max(1, workers), SPEC)
    seen: list[str] = []
    for rank in (0, 1):
        stream = MixStream(parts, [1.0], SPEC, rank=rank, world=2, workers=workers)
        whole = keys_of(stream, 1, workers=workers)
        assert len(whole) == stream.batches_per_epoch and all(len(b) == 2 for b in whole)
        for start in (1, len(whole) - 1):
            assert keys_of(stream, 1, start, workers=workers) == whole[start:]
        seen += flat(whole)
    assert len(seen) == len(set(seen))  # no sample on two ranks or twice on one
    if workers == 0:  # 2 streams of 6: every sample once in the epoch
        assert len(seen) == 12


def test_hf_stream_that_is_neither_a_folder_nor_a_hub_id_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"nope is no local folder and not a Hub id"):
        build_parts(parse_sources((f"hf+stream:{tmp_path / 'nope'}",), ()), CFG, 1, SPEC)


def mixture(tmp_path):
    """Shards (8 x 5), a Clotho table (40 rows) and class folders (3 x 14): 2 streams of
    20, 20 and 21 samples, so weights 0.5/0.3/0.2 draw 10, 6 and 4 per stream and epoch."""
    shards = make_shards(tmp_path / "s", 8, 5)
    table = make_clotho(tmp_path / "c", 40)
    folder = make_class_folders(tmp_path / "f", 14)
    sources = parse_sources((str(shards), str(table), str(folder)), (0.5, 0.3, 0.2))
    return MixStream(
        build_parts(sources, CFG, 2, SPEC), [0.5, 0.3, 0.2], SPEC, rank=0, world=1, workers=2
    )


def source_of(key: str) -> int:
    return 0 if ".tar/" in key else 1 if "/c/development/" in key else 2


def test_mix_of_kinds_draws_each_source_by_its_weight(tmp_path):
    stream = mixture(tmp_path)
    assert [p.per_stream for p in stream.parts] == [20, 20, 21] and stream.draws == [10, 6, 4]
    n_epochs, total = 3, 0
    counts = [0, 0, 0]
    for epoch in range(n_epochs):
        batches = keys_of(stream, epoch, workers=2)
        keys = flat(batches)
        assert len(keys) == len(set(keys)) == 40  # weights <= 1: no sample twice in an epoch
        for k in keys:
            counts[source_of(k)] += 1
        total += len(keys)
        # interleaved, not one source after the other: the first half already holds the mix
        half = [source_of(k) for k in flat(batches[: len(batches) // 2])]
        assert [half.count(s) / len(half) for s in range(3)] == pytest.approx(
            [0.5, 0.3, 0.2], abs=0.08
        )
    assert [c / total for c in counts] == pytest.approx([0.5, 0.3, 0.2], abs=0.02)


def test_mix_resumed_mid_epoch_restores_the_mix(tmp_path):
    stream = mixture(tmp_path)
    whole = keys_of(stream, 1, workers=2)
    for start in (1, 7, len(whole) - 1):
        assert keys_of(stream, 1, start, workers=2) == whole[start:]


def test_mix_refuses_a_source_too_small_for_the_streams(tmp_path):
    shards = make_shards(tmp_path / "s", 1, 4)
    folder = make_class_folders(tmp_path / "f", 2)
    sources = parse_sources((str(shards), str(folder)), ())
    with pytest.raises(ConfigError, match=r"1 shards cannot feed 2 streams"):
        build_parts(sources, CFG, 2, SPEC)


def test_shard_tool_reads_a_streamed_dataset(tmp_path, capsys):
    import json

    from wavlink_core.data.__main__ import main

    where = make_audiofolder(tmp_path / "af", 5)
    assert main(["shard", f"hf+stream:{where}", "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 5
