"""The LanceDB store behind ``--db NAME.lance`` or a URI: dispatch, replacement without
duplicates, a kill between its two commits, and the ANN index on a Matryoshka prefix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wavlink_core.cli import main
from wavlink_core.library import Library, LibraryError
from wavlink_core.library.backends import db_location, open_store, store_exists
from wavlink_core.library.lance_ann import build_ann, optimize
from wavlink_core.library.lance_schema import is_lance_uri
from wavlink_core.library.lance_store import LanceStore
from wavlink_core.library.library import model_fingerprint
from wavlink_core.library.search import search_vector
from wavlink_core.library.store import IndexedFile, Store
from wavlink_core.matryoshka import truncate_np


def _meta(embed_dim=64, dims=(64, 32, 16, 8), model=None):
    return {
        "embed_dim": embed_dim,
        "dims": list(dims),
        "config": {"shortlist_quantization": "int8"},
        "model": model or {"name": "synthetic", "fingerprint": "0"},
    }


def _file(path: str, vectors: np.ndarray, seconds: float = 1.0) -> IndexedFile:
    spans = [(0.0, seconds)] + [(float(i), float(i) + 1) for i in range(len(vectors) - 1)]
    return IndexedFile(path, 1, 1, path, seconds, spans, vectors)


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    return truncate_np(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32), d)


def test_db_names_choose_the_store():
    for uri in ("s3://bucket/sounds.lance", "gs://b/x", "az://c/x", "db://my-db", "sounds.lance"):
        assert is_lance_uri(uri), uri
    for path in ("sounds.db", "/data/lance/sounds.sqlite", "lance"):
        assert not is_lance_uri(path), path
    assert db_location("s3://bucket/sounds.lance") == "s3://bucket/sounds.lance"  # not s3:/


def test_open_store_picks_the_kind_and_names_a_folder_that_is_neither(tmp_path):
    LanceStore.create(tmp_path / "a.lance", _meta()).close()
    Store.create(tmp_path / "b.db", _meta()).close()
    assert isinstance(open_store(tmp_path / "a.lance"), LanceStore)
    assert isinstance(open_store(tmp_path / "b.db"), Store)
    (tmp_path / "folder").mkdir()
    with pytest.raises(LibraryError, match="folder ending in .lance"):
        open_store(tmp_path / "folder")


def test_a_creation_killed_before_its_meta_table_is_created_again(tmp_path, test_model):
    db = tmp_path / "x.lance"
    LanceStore.create(db, _meta()).db.drop_table("meta")  # as if killed before the last step
    assert not store_exists(db)
    with Library(db, test_model) as lib:
        assert lib.store.counts()["files"] == 0
    with pytest.raises(LibraryError, match="already exists"):
        LanceStore.create(db, _meta())


def test_rewritten_file_replaces_all_its_rows(tmp_path):
    store = LanceStore.create(tmp_path / "x.lance", _meta())
    store.write_batch([_file("/a.wav", _unit(4, 64, 1), 5.0), _file("/b.wav", _unit(1, 64, 2))], [])
    assert store.counts()["rows"] == 5
    store.write_batch([_file("/a.wav", _unit(2, 64, 3), 3.0)], [])  # shorter now: 1 segment
    assert store.counts() == {
        "files": 2,
        "bad_files": 0,
        "rows": 3,
        "segment_rows": 1,
        "hours": pytest.approx(4.0 / 3600),
    }
    assert np.allclose(store.file_vector("/a.wav"), _unit(2, 64, 3)[0])
    store.write_batch([], [("/a.wav", 9, 9, "cannot decode")])  # now a bad file
    assert store.counts()["rows"] == 1 and store.bad_files() == [("/a.wav", "cannot decode")]
    assert store.file_states()["/a.wav"].status == "bad"


def test_kill_between_the_rows_commit_and_the_bad_commit_loses_nothing(tmp_path, monkeypatch):
    db = tmp_path / "x.lance"
    store = LanceStore.create(db, _meta())
    store.write_batch([], [("/fixed.wav", 1, 1, "empty file")])

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the rows are committed

    monkeypatch.setattr(type(store.bad_t), "delete", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_batch([_file("/fixed.wav", _unit(1, 64))], [])
    monkeypatch.undo()
    again = LanceStore(db)  # opening for writing drops the stale bad record
    assert again.file_states()["/fixed.wav"].status == "ok"
    assert again.bad_files() == [] and again.counts()["files"] == 1


@pytest.fixture
def big(tmp_path):
    """A LanceDB library of 3,000 rows whose first dimensions carry most of the variance, as a
    Matryoshka model's do."""
    rng = np.random.default_rng(0)
    decay = (1.0 / (1 + np.arange(64) / 4)).astype(np.float32)
    vectors = truncate_np(rng.standard_normal((3000, 64)).astype(np.float32) * decay, 64)
    store = LanceStore.create(tmp_path / "big.lance", _meta())
    for start in range(0, 3000, 1000):
        store.write_batch(
            [_file(f"/s/{i:05d}.wav", vectors[i : i + 1]) for i in range(start, start + 1000)], []
        )
    return store, vectors


def test_ann_index_on_a_prefix_keeps_the_exact_top_10_after_the_full_size_rerank(big):
    store, vectors = big
    queries = vectors[:20] + 0.1 * _unit(20, 64, 9)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    settings = build_ann(store, 16, probe_fraction=0.3, factor=20)
    assert store.ann() == settings and settings["rows"] == 3000
    recall = []
    for q in queries:
        truth = set(np.argsort(-(vectors @ q))[:10])
        hits = search_vector(store, q, 10, 16, settings["factor"])
        recall.append(len({int(h.path[3:8]) for h in hits} & truth) / 10)
    assert np.mean(recall) >= 0.9
    # Full size stays exact whatever index exists.
    hits = search_vector(store, queries[0], 10, 64, 1)
    assert [int(h.path[3:8]) for h in hits] == list(np.argsort(-(vectors @ queries[0]))[:10])


def test_the_shortlist_rows_come_with_the_search_and_are_the_stored_rows(big):
    store, vectors = big
    build_ann(store, 16, probe_fraction=0.3, factor=20)
    found = store.knn(vectors[7], 50, 16)
    ids = [i for i, _ in found]
    assert len(ids) == 50 and set(store._fetched) == set(ids)  # no second read for the re-rank
    rows = store.rows(ids)
    assert [r.id for r in rows] == ids
    for r in rows:  # each row is the stored file's row, with its full-size vector
        np.testing.assert_allclose(r.vector, vectors[int(r.path[3:8])], atol=1e-6)
    # Rows beyond the last shortlist are read from the table, not looked up among the held ones.
    far = [i for i, _ in store.knn(-vectors[7], 50, 16)]  # a new shortlist, far from the first
    extra = next(i for i in far if i not in ids)
    mixed = store.rows([ids[0], extra])
    assert [r.id for r in mixed] == [ids[0], extra]
    for r in mixed:
        np.testing.assert_allclose(r.vector, vectors[int(r.path[3:8])], atol=1e-6)


def test_ann_index_refuses_the_full_size_and_tiny_libraries(tmp_path, big):
    store, _ = big
    with pytest.raises(LibraryError, match="shortlist sizes"):
        build_ann(store, 64)
    small = LanceStore.create(tmp_path / "s.lance", _meta())
    small.write_batch([_file("/a.wav", _unit(1, 64))], [])
    with pytest.raises(LibraryError, match="at least 256"):
        build_ann(small, 16)


def test_cli_optimize_builds_then_refreshes_and_search_uses_the_index(tmp_path, test_model, capsys):
    db = tmp_path / "lib.lance"
    model = {"name": "wavlink-test", "fingerprint": model_fingerprint(test_model), "source": "test"}
    D = test_model.config.embed_dim
    store = LanceStore.create(db, _meta(D, test_model.matryoshka_dims, model))
    vectors = _unit(600, D, 4)
    store.write_batch([_file(f"/s/{i:05d}.wav", vectors[i : i + 1]) for i in range(600)], [])
    dim = sorted(test_model.matryoshka_dims)[1]
    command = ["library", "optimize", "--db", str(db), "--dim", str(dim), "--json"]
    assert main(command) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "skipped"  # 600 rows: flat is fast
    assert store.ann() is None
    assert main(command + ["--force"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert (built["action"], built["dim"], built["rows"]) == ("built", dim, 600)
    store.write_batch([_file("/s/new.wav", vectors[:1])], [])
    assert optimize(LanceStore(db), dim)["action"] == "refreshed"  # grew by 1 row, not doubled
    assert main(["search", "a hum", "--db", str(db), "--dim", str(dim), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 10


def test_optimize_on_a_sqlite_library_says_what_to_do(tmp_path, test_model):
    with Library(tmp_path / "lib.db", test_model) as lib:
        with pytest.raises(LibraryError, match="--db NAME.lance"):
            lib.optimize()
