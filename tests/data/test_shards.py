"""WebDataset shards: the rank/worker split (disjoint, in order, resumable mid-epoch), bad
samples, and the conversion tool (offline fixtures)."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import soundfile as sf
from data_fixtures import keys_of, make_class_folders, make_clotho, make_shards

from wavlink_core.data.shards import ShardStream, StreamSpec, balance, shard_counts
from wavlink_core.data.sources import Source
from wavlink_core.errors import ConfigError

SPEC = StreamSpec(batch_size=2, clip_seconds=1.0, random_crop=False, seed=0, shuffle_buffer=4)


def test_ranks_and_workers_see_disjoint_samples(tmp_path):
    src = [Source(str(make_shards(tmp_path / "s", 8, 3)), "shards")]
    seen: list[str] = []
    for rank in (0, 1):
        stream = ShardStream(src, SPEC, rank=rank, world=2, workers=2)
        batches = keys_of(stream, 0, workers=2)
        assert len(batches) == stream.batches_per_epoch == 6  # 2 streams x 3 batches of 2
        seen += [k for b in batches for k in b]
    assert len(seen) == len(set(seen)) == 24  # every sample once in the epoch
    assert {k.split("/")[0] for k in seen} <= {f"shard-{i:06d}.tar" for i in range(8)}


def test_epoch_covers_every_sample_once_and_changes_order(tmp_path):
    src = [Source(str(make_shards(tmp_path / "s", 4, 6)), "shards")]
    stream = ShardStream(src, SPEC, rank=0, world=1, workers=2)
    e0, e1 = keys_of(stream, 0, workers=2), keys_of(stream, 1, workers=2)
    flat0, flat1 = [k for b in e0 for k in b], [k for b in e1 for k in b]
    assert len(e0) == 12 and sorted(flat0) == sorted(flat1) == sorted(set(flat0))
    assert flat0 != flat1
    assert keys_of(stream, 0, workers=2) == e0  # seeded: the same epoch again is the same


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_gives_the_remaining_batches(tmp_path, workers):
    src = [Source(str(make_shards(tmp_path / "s", 4, 5)), "shards")]
    stream = ShardStream(src, SPEC, rank=0, world=1, workers=workers)
    whole = keys_of(stream, 3, workers=workers)
    for start in (1, 3, len(whole) - 1):
        assert keys_of(stream, 3, start, workers=workers) == whole[start:]


def test_balance_and_uneven_shards(tmp_path):
    assert balance([5, 1, 4, 2], 2) == [[0, 1], [2, 3]]  # 6 samples each
    root = make_shards(tmp_path / "s", 3, 4)
    make_shards(tmp_path / "t", 1, 1)
    (tmp_path / "t" / "shard-000000.tar").rename(root / "shard-000009.tar")
    assert shard_counts([str(p) for p in sorted(root.glob("*.tar"))]) == [4, 4, 4, 1]
    stream = ShardStream([Source(str(root), "shards")], SPEC, rank=0, world=2, workers=1)
    assert stream.batches_per_epoch == 2 and stream.unused == 13 - 2 * 2 * 2
    with pytest.raises(ConfigError, match=r"4 shards cannot feed 6 streams \(2 processes x 3"):
        ShardStream([Source(str(root), "shards")], SPEC, rank=0, world=2, workers=3)


def test_bad_sample_is_replaced_within_its_batch(tmp_path):
    root = make_shards(tmp_path / "s", 2, 4, bad={1})
    stream = ShardStream([Source(str(root), "shards")], SPEC, rank=0, world=1, workers=1)
    batches = keys_of(stream, 0)
    assert len(batches) == 4 and all(len(b) == 2 for b in batches)
    flat = [k for b in batches for k in b]
    assert "shard-000000.tar/s00001" not in flat and len(set(flat)) == 7


def test_weights_pick_whole_shards(tmp_path):
    a, b = make_shards(tmp_path / "a", 4, 2), make_shards(tmp_path / "b", 2, 2)
    src = [Source(str(a), "shards", 0.5), Source(str(b), "shards", 2.0)]
    stream = ShardStream(src, SPEC, rank=0, world=1, workers=1)
    names = [u.split("/")[-2] for u in stream.urls]
    assert names.count("a") == 2 and names.count("b") == 4


def test_shard_tool_converts_any_source_to_16k_flac(tmp_path, capsys):
    from wavlink_core.data.__main__ import main

    folder = make_class_folders(tmp_path / "f", 2)
    (folder / "Rain" / "broken.wav").write_bytes(b"RIFF....nonsense")
    table = make_clotho(tmp_path / "c", 3)
    out = tmp_path / "out"
    assert main(["shard", str(folder), str(table), "--out", str(out), "--shard-size", "4"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["samples"] == 9 and summary["skipped"] == 1 and summary["files"] == 3
    index = json.loads((out / "index.json").read_text())
    assert index["shards"] == {"shard-000000.tar": 4, "shard-000001.tar": 4, "shard-000002.tar": 1}
    with tarfile.open(out / "shard-000000.tar") as tar:
        names = tar.getnames()
        flac = tar.extractfile(names[0]).read()
        meta = json.loads(tar.extractfile(names[1]).read())
    assert names[:2] == ["000000000.flac", "000000000.json"]
    wave, sr = sf.read(io.BytesIO(flac))
    assert sr == 16000 and wave.ndim == 1 and abs(len(wave) - 16000) <= 1  # 22.05 kHz source
    assert meta["captions"] == ["This is a sound of car horn."]
    # the shards train like any source: counts come from index.json, captions from the .json
    stream = ShardStream([Source(str(out), "shards")], SPEC, rank=0, world=1, workers=1)
    assert stream.samples == 9
    assert main(["shard", str(folder), "--out", str(out)]) == 2
    assert "already holds .tar shards" in capsys.readouterr().err


def test_clotho_captions_survive_conversion(tmp_path):
    from wavlink_core.data.convert import write_shards
    from wavlink_core.data.shards import iter_samples, sample_captions
    from wavlink_core.training import TrainConfig

    table = make_clotho(tmp_path / "c", 2)
    write_shards([Source(str(table), "table")], tmp_path / "o", 10, TrainConfig())
    samples = list(iter_samples(str(tmp_path / "o" / "shard-000000.tar")))
    assert [len(sample_captions(s)) for s in samples] == [5, 5]
    assert np.frombuffer(samples[0]["flac"][:4], dtype=np.uint8).tobytes() == b"fLaC"


def test_fsspec_urls_stream_like_local_shards(tmp_path):
    """Shards behind an fsspec URL (the in-memory filesystem stands in for s3:// or gs://)."""
    import fsspec

    root = make_shards(tmp_path / "s", 2, 4)
    fs = fsspec.filesystem("memory")
    for p in sorted(root.glob("*.tar")):
        fs.pipe(f"/wl-test/{p.name}", p.read_bytes())
    try:
        url = "memory://wl-test/shard-{000000..000001}.tar"
        remote = ShardStream([Source(url, "shards")], SPEC, rank=0, world=1, workers=1)
        local = ShardStream([Source(str(root), "shards")], SPEC, rank=0, world=1, workers=1)
        assert remote.samples == 8
        assert keys_of(remote, 0) == keys_of(local, 0)
    finally:
        fs.rm("/wl-test", recursive=True)


def test_stale_index_is_reported_not_a_silent_short_epoch(tmp_path):
    root = make_shards(tmp_path / "s", 2, 4)
    (root / "index.json").write_text(
        json.dumps({"shards": {"shard-000000.tar": 9, "shard-000001.tar": 9}})
    )
    stream = ShardStream([Source(str(root), "shards")], SPEC, rank=0, world=1, workers=1)
    with pytest.raises(
        ConfigError, match=r"fewer samples with audio than their count \(18\).*index.json"
    ):
        keys_of(stream, 0)
