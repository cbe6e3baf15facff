"""A library on object storage: ``--db s3://bucket/NAME.lance`` against a local S3 server (moto),
with the endpoint and keys in the usual AWS environment variables, as a user would set them."""

from __future__ import annotations

import json

import pytest

from tests.library.conftest import write_clips
from wavlink_core.cli import main

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")


@pytest.fixture
def bucket(monkeypatch):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket="sounds")
    yield s3
    server.stop()


def test_index_and_search_a_library_on_s3(bucket, tmp_path, capsys, monkeypatch):
    root = tmp_path / "s"
    write_clips(root, 3)
    (root / "broken.wav").write_bytes(b"RIFF....WAVE")
    monkeypatch.chdir(tmp_path)  # the run's log goes to the current folder for a URI
    db = "s3://sounds/lib.lance"
    assert main(["index", str(root), "--db", db, "--model", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], len(report["bad"])) == (3, 1)
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket="sounds")["Contents"]]
    assert any(k.startswith("lib.lance/rows.lance/data/") for k in keys)
    assert (tmp_path / "lib.lance.log").is_file()
    # A second run finds everything unchanged; a search reads the library back from S3.
    assert main(["index", str(root), "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 4
    like = root / "tone_02.wav"
    assert main(["search", "--like", str(like), "--db", db, "--k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["path"] == str(like.resolve()) and hits[0]["score"] == pytest.approx(1, abs=1e-5)
