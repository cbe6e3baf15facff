"""The Library API: indexing, incremental updates, bad files, segments, search, model identity."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.library.conftest import SMALL, SR, tone, write_clips
from wavlink_core.library import Library, LibraryError
from wavlink_core.library.indexer import segment_spans


def test_segment_spans_cover_the_file_with_full_length_overlapping_segments():
    assert segment_spans(8.0, 10.0, 5.0) == []
    assert segment_spans(20.0, 10.0, 5.0) == [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0)]
    assert segment_spans(12.0, 10.0, 5.0) == [(0.0, 10.0), (2.0, 12.0)]


def test_index_skips_bad_files_with_reasons_and_logs_them(sounds, test_model, tmp_path, db_name):
    db = tmp_path / db_name
    with Library(db, test_model, SMALL) as lib:
        report = lib.add([sounds])
        stats = lib.stats()
    assert report.added == 3
    reasons = {Path(p).name: r for p, r in report.bad}
    assert set(reasons) == {"corrupt.wav", "empty.mp3", "silent.wav", "too_long.wav"}
    assert "empty" in reasons["empty.mp3"]
    assert "silent" in reasons["silent.wav"]
    assert "too long" in reasons["too_long.wav"]
    assert "decode" in reasons["corrupt.wav"]
    log = Path(f"{db}.log").read_text()
    assert all(name in log for name in reasons)
    # long.flac (9 s, 4-s segments, 2-s hop): its whole-file row and 4 segment rows.
    assert stats["files"] == 3 and stats["bad_files"] == 4
    assert stats["rows"] == 3 + len(segment_spans(9.0, 4.0, 2.0))
    assert stats["hours"] == pytest.approx(11.0 / 3600, rel=1e-3)


def test_second_run_embeds_only_new_and_changed_files_and_drops_deleted(
    tmp_path, test_model, db_name
):
    root = tmp_path / "s"
    paths = write_clips(root, 4)
    db = tmp_path / db_name
    with Library(db, test_model, SMALL) as lib:
        assert lib.add([root]).added == 4
        before = lib.store.file_vector(str(paths[1].resolve())).copy()
        again = lib.add([root])
        assert (again.added, again.removed, again.unchanged) == (0, 0, 4)
        paths[0].unlink()
        sf.write(paths[1], tone(3000, 1.5), SR)  # other content, other size
        write_clips(root / "new", 1)
        third = lib.add([root])
        assert (third.added, third.removed, third.unchanged) == (2, 1, 2)
        after = lib.store.file_vector(str(paths[1].resolve()))
        assert not np.allclose(before, after)
        assert lib.store.file_vector(str(paths[0].resolve())) is None
        assert lib.stats()["files"] == 4


def test_indexing_one_folder_keeps_another_folders_files(tmp_path, test_model, db_name):
    a, b = write_clips(tmp_path / "a", 1), write_clips(tmp_path / "b", 1)
    with Library(tmp_path / db_name, test_model, SMALL) as lib:
        lib.add([a[0].parent, b[0].parent])
        assert lib.add([a[0].parent]).removed == 0
        assert lib.stats()["files"] == 2
        assert lib.remove([b[0]]) == 1
        assert lib.stats()["files"] == 1


def test_search_by_example_finds_the_clip_and_the_time_inside_a_long_file(
    tmp_path, test_model, db_name
):
    root = tmp_path / "s"
    write_clips(root, 3)
    # A long file that is quiet noise except one stretch of a distinctive chirp at 6-10 s.
    rng = np.random.default_rng(5)
    long = 0.02 * rng.standard_normal(16 * SR).astype(np.float32)
    t = np.arange(4 * SR) / SR
    chirp = (0.5 * np.sin(2 * np.pi * (300 + 900 * t) * t)).astype(np.float32)
    long[6 * SR : 10 * SR] += chirp
    sf.write(root / "long.wav", long, SR)
    with Library(tmp_path / db_name, test_model, SMALL) as lib:
        lib.add([root])
        hits = lib.similar(root / "tone_01.wav", k=2)
        assert all(h.path != str((root / "tone_01.wav").resolve()) for h in hits)
        # The stretch as it sits in the file (segments start every 2 s: 6-10 s is one of them).
        best = lib.search((SR, long[6 * SR : 10 * SR]), k=1)[0]
        assert best.path == str((root / "long.wav").resolve())
        assert (best.start, best.end) == (6.0, 10.0)
        assert best.score == pytest.approx(1.0, abs=1e-5)
        for dim in test_model.matryoshka_dims:
            top = lib.search(root / "tone_02.wav", k=1, dim=dim)[0]
            assert top.path.endswith("tone_02.wav") and top.score == pytest.approx(1.0, abs=1e-5)
        texts = lib.search("a rising chirp", k=10)
        assert len(texts) == 4 and len({h.path for h in texts}) == 4  # one result per file


def test_library_refuses_another_model_by_name(tmp_path, test_model, aut_model, db_name):
    write_clips(tmp_path / "s", 1)
    with Library(tmp_path / db_name, test_model, SMALL) as lib:
        lib.add([tmp_path / "s"])
    with pytest.raises(LibraryError, match="fingerprint"):
        Library(tmp_path / db_name, aut_model)


def test_readonly_library_refuses_changes_and_missing_db_is_named(tmp_path, test_model, db_name):
    with pytest.raises(LibraryError, match="no library here"):
        Library(tmp_path / ("nothing" + Path(db_name).suffix), test_model, readonly=True)
    Library(tmp_path / db_name, test_model).close()
    with Library(tmp_path / db_name, test_model, readonly=True) as lib:
        with pytest.raises(LibraryError, match="read-only"):
            lib.add([tmp_path])


def test_stats_measures_recall_for_every_size_and_quantisation(tmp_path, test_model):
    write_clips(tmp_path / "s", 6)
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        lib.add([tmp_path / "s"])
        recall = lib.stats(recall=True)["recall_at_10"]
    got = {(r["dim"], r["quantization"]) for r in recall}
    full = max(test_model.matryoshka_dims)
    assert (full, "float32") in got
    for dim in test_model.matryoshka_dims:
        if dim < full:
            assert {(dim, "float32"), (dim, "int8")} <= got
    assert all(0 <= r["recall"] <= 1 for r in recall)


def test_missing_folder_is_named(tmp_path, test_model):
    with Library(tmp_path / "lib.db", test_model) as lib:
        with pytest.raises(FileNotFoundError, match="nowhere"):
            lib.add([tmp_path / "nowhere"])
    assert not os.path.exists(tmp_path / "lib.db.log")


def test_linked_files_are_indexed_under_the_link_and_dropped_with_it(tmp_path, test_model):
    real = write_clips(tmp_path / "elsewhere", 1)[0]
    root = tmp_path / "s"
    root.mkdir()
    (root / "link.wav").symlink_to(real)
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        lib.add([root])
        assert lib.store.file_vector(str(root / "link.wav")) is not None
        (root / "link.wav").unlink()
        assert lib.add([root]).removed == 1
        assert lib.stats()["files"] == 0
