"""``Library.add_vectors``: precomputed whole-file vectors give the index ``add`` gives, without
encoding the whole files again (both stores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.library.conftest import SMALL, SR, tone
from wavlink_core.library import Library, LibraryError
from wavlink_core.library.scan import walk


@pytest.fixture
def encoded(test_model):
    """Counts the clip windows that go through the audio encoder."""
    seen = [0]
    hook = test_model.audio.register_forward_hook(
        lambda _m, args, _out: seen.__setitem__(0, seen[0] + args[0].shape[0])
    )
    yield seen
    hook.remove()


def all_rows(lib: Library) -> list[tuple[str, float, float, np.ndarray]]:
    """Every row of a library, whole files and segments, sorted by path and span."""
    D = lib.store.embed_dim
    ids = [i for i, _ in lib.store.knn(np.eye(1, D, dtype=np.float32)[0], 1000, D)]
    return sorted(
        ((r.path, r.start, r.end, r.vector) for r in lib.store.rows(ids)), key=lambda r: r[:3]
    )


def test_add_vectors_writes_what_add_writes_encoding_only_segments(
    sounds, test_model, tmp_path, db_name, encoded
):
    paths = [f.path for f in walk([sounds])]
    with Library(tmp_path / f"a-{db_name}", test_model, SMALL) as built:
        built.add([sounds])
        expected_bad = built.store.bad_files()
        whole = {p: built.store.file_vector(p) for p in paths}
        # Bad files have no vector: any unit vector stands in, they must still be refused.
        filler = np.eye(test_model.config.embed_dim, dtype=np.float32)[0]
        vectors = np.stack([whole[p] if whole[p] is not None else filler for p in paths])
        expected_rows = all_rows(built)
        expected_stats = built.stats()

    encoded[0] = 0
    with Library(tmp_path / f"b-{db_name}", test_model, SMALL) as lib:
        report = lib.add_vectors(paths, vectors)
        windows = encoded[0]
        assert (report.added, len(report.bad)) == (3, 4)
        assert lib.store.bad_files() == expected_bad
        stats = lib.stats()
        for name in ("files", "bad_files", "rows", "segment_rows"):
            assert stats[name] == expected_stats[name]
        assert stats["hours"] == pytest.approx(expected_stats["hours"])
        rows = all_rows(lib)
        assert [r[:3] for r in rows] == [r[:3] for r in expected_rows]
        for got, want in zip(rows, expected_rows):  # segments batched differently: float noise
            assert np.allclose(got[3], want[3], atol=1e-4)
    # Only long.flac's 4 segments (9 s, 4-s segments every 2 s) were encoded, no whole file.
    assert windows == 4


def test_add_vectors_with_durations_decodes_and_encodes_nothing(tmp_path, test_model, encoded):
    root = tmp_path / "s"
    root.mkdir()
    sf.write(root / "a.wav", tone(440, 1.0), SR)
    sf.write(root / "b.wav", tone(880, 1.5), SR)
    vectors = np.eye(2, test_model.config.embed_dim, dtype=np.float32)
    encoded[0] = 0
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        report = lib.add_vectors(
            [root / "a.wav", root / "b.wav", root / "gone.wav"],
            np.vstack([vectors, vectors[:1]]),
            [1.0, 1.5, 2.0],
        )
        assert report.added == 2
        assert report.bad == [(str(root / "gone.wav"), "No such file or directory")]
        spans = {Path(h.path).name: (h.start, h.end) for h in lib.search("a tone", k=5)}
        assert spans == {"a.wav": (0.0, 1.0), "b.wav": (0.0, 1.5)}
        for i, name in enumerate(("a.wav", "b.wav")):
            assert np.allclose(lib.store.file_vector(str(root / name)), vectors[i])
    assert encoded[0] == 0


def test_add_vectors_names_what_does_not_match(tmp_path, test_model):
    clip = tmp_path / "a.wav"
    sf.write(clip, tone(440, 1.0), SR)
    D = test_model.config.embed_dim
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        with pytest.raises(LibraryError, match=rf"shape \(1, {D}\)"):
            lib.add_vectors([clip], np.ones((1, D + 1), np.float32))
        with pytest.raises(LibraryError, match=r"a\.wav has norm 2\.0000"):
            lib.add_vectors([clip], 2 * np.eye(1, D, dtype=np.float32))
        with pytest.raises(LibraryError, match="2 durations for 1 paths"):
            lib.add_vectors([clip], np.eye(1, D, dtype=np.float32), [1.0, 2.0])
        assert lib.stats()["files"] == 0
    with Library(tmp_path / "lib.db", test_model, readonly=True) as lib:
        with pytest.raises(LibraryError, match="read-only"):
            lib.add_vectors([clip], np.eye(1, D, dtype=np.float32))
    assert Path(clip).is_file()
