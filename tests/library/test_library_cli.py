"""The library verbs of ``python -m wavlink_core``: JSON output scripts can rely on, clear errors."""

from __future__ import annotations

import json

import pytest

from tests.library.conftest import write_clips
from wavlink_core.cli import main


@pytest.fixture
def indexed(tmp_path, capsys, db_name):
    root = tmp_path / "s"
    write_clips(root, 3)
    (root / "broken.wav").write_bytes(b"RIFF....WAVE")
    db = tmp_path / db_name
    assert main(["index", str(root), "--db", str(db), "--model", "test", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 3
    assert [b["path"].endswith("broken.wav") for b in report["bad"]] == [True]
    return root, db


def test_search_json_lists_path_score_start_end(indexed, capsys):
    root, db = indexed
    # No --model: the library's own model is used.
    assert main(["search", "a low hum", "--db", str(db), "--k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    assert all(set(h) == {"path", "score", "start", "end"} for h in hits)
    like = root / "tone_01.wav"
    assert main(["search", "--like", str(like), "--db", str(db), "--dim", "8", "--json"]) == 0
    top = json.loads(capsys.readouterr().out)[0]
    assert top["path"] == str(like.resolve()) and top["score"] == pytest.approx(1.0, abs=1e-5)


def test_stats_and_dupes_json(indexed, capsys):
    _, db = indexed
    assert main(["library", "stats", "--db", str(db), "--json", "--recall"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["files"], stats["bad_files"], stats["model"]["name"]) == (3, 1, "wavlink-test")
    assert stats["disk_bytes"] > 0 and stats["recall_at_10"]
    assert main(["dupes", "--db", str(db), "--json", "--threshold", "1.0"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_errors_name_the_problem(indexed, tmp_path, capsys):
    _, db = indexed
    assert main(["search", "dog", "--db", str(db), "--dim", "7"]) == 2
    assert "dim=7" in capsys.readouterr().err
    assert main(["search", "dog", "--db", str(tmp_path / "none.db"), "--model", "test"]) == 2
    assert "no library here" in capsys.readouterr().err
    assert main(["search", "--db", str(db)]) == 2
    assert "--like" in capsys.readouterr().err
