"""Shards on object storage: a local S3 endpoint (moto's server) holds two tiny shards, and
training reads ``s3://bucket/shards-{000000..000001}.tar`` through s3fs, with the endpoint and
keys in the standard AWS environment variables; the shard tool writes to ``s3://`` too."""

from __future__ import annotations

import json

import pytest
from data_fixtures import make_class_folders, make_shards


@pytest.fixture
def s3(monkeypatch):
    """A fresh bucket on a moto S3 server on a free local port; yields (s3fs filesystem, bucket).
    moto keeps its buckets per process, so each test gets a bucket of its own."""
    import uuid

    import fsspec
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fsspec.filesystem("s3").clear_instance_cache()  # no client built for another endpoint
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"wl-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    try:
        yield fs, bucket
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        server.stop()


@pytest.mark.slow
def test_training_reads_shards_from_s3(tmp_path, s3):
    from wavlink_core.training import TrainConfig
    from wavlink_core.training.engine import train

    fs, bucket = s3
    local = make_shards(tmp_path / "shards", 2, 4)
    for i in range(2):
        fs.put(str(local / f"shard-{i:06d}.tar"), f"{bucket}/shards-{i:06d}.tar")
    cfg = TrainConfig(
        model="test",
        data=(f"s3://{bucket}/shards-{{000000..000001}}.tar",),
        batch_size=4,
        clip_seconds=1.0,
        max_steps=1,
        regime="projector",
        output_dir=str(tmp_path / "run"),
        progress=False,
        log_samples=True,
    )
    out = train(cfg)
    assert out["step"] == 1 and not out["halted"]
    log = (tmp_path / "run" / "samples" / "rank0.jsonl").read_text()
    (seen,) = [json.loads(x) for x in log.splitlines()]
    assert len(seen["keys"]) == 4
    assert {k.split("/")[0] for k in seen["keys"]} <= {"shards-000000.tar", "shards-000001.tar"}


def test_shard_tool_writes_to_s3(tmp_path, s3, capsys):
    from wavlink_core.data.__main__ import main
    from wavlink_core.data.shards import ShardStream, StreamSpec
    from wavlink_core.data.sources import Source

    fs, bucket = s3
    folder = make_class_folders(tmp_path / "f", 2)
    url = f"s3://{bucket}/converted"
    assert main(["shard", str(folder), "--out", url, "--shard-size", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 6
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{bucket}/converted")) == [
        "index.json",
        "shard-000000.tar",
        "shard-000001.tar",
    ]
    spec = StreamSpec(batch_size=2, clip_seconds=1.0, random_crop=False, seed=0, shuffle_buffer=1)
    stream = ShardStream([Source(url, "shards")], spec, rank=0, world=1, workers=1)
    assert stream.samples == 6 and len(stream.urls) == 2  # counts from the uploaded index.json
    assert main(["shard", str(folder), "--out", url]) == 2
    assert "already holds .tar shards" in capsys.readouterr().err
