"""Indexing on a Ray cluster of two worker nodes gives the same index as one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import ray
import soundfile as sf
from ray.cluster_utils import Cluster

from tests.library.conftest import SMALL, SR, tone, write_clips
from wavlink_core.checkpoint import save_pretrained
from wavlink_core.library import Library, LibraryError
from wavlink_core.library.distributed import RayOptions, _Embedder
from wavlink_core.library.indexer import segment_spans


@pytest.fixture(scope="module")
def worker_nodes():
    """A local cluster: a head that runs no work (0 CPUs) and two worker nodes of 1 CPU each.

    Yields the worker nodes' ids.
    """
    no_dashboard = {"include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **no_dashboard})
    nodes = [cluster.add_node(num_cpus=1, **no_dashboard) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    yield {node.node_id for node in nodes}
    ray.shutdown()
    cluster.shutdown()


def _contents(lib: Library) -> tuple[list[tuple], dict[str, list]]:
    """Every file (size, mtime, hash, duration, status, reason) and every row (span, vector)."""
    con = lib.store.con
    files = sorted(
        con.execute("select path, size, mtime_ns, sha256, duration, status, reason from files")
    )
    rows: dict[str, list] = {}
    for path, start, end, blob in con.execute(
        "select files.path, rows.start, rows.end, vectors.full from rows"
        " join files on files.id = rows.file_id join vectors on vectors.rowid = rows.id"
        " order by rows.id"
    ):
        rows.setdefault(path, []).append((start, end, np.frombuffer(blob, np.float32)))
    return files, rows


def test_two_ray_workers_give_the_same_index_as_one_process(tmp_path, test_model, worker_nodes):
    root = tmp_path / "sounds"
    clips = write_clips(root, 6)
    sf.write(root / "long.flac", tone(1000, 9.0), SR)  # 9 s: segments of 4 s every 2 s
    (root / "corrupt.wav").write_bytes(b"RIFF this is not audio at all")
    gone = root / "deleted_before_the_ray_run.wav"
    sf.write(gone, tone(700, 1.0), SR)
    model = str(save_pretrained(test_model, tmp_path / "model"))

    # The Ray run takes over a library a killed run left behind: one file committed, one file
    # committed that has since been deleted.
    with Library(tmp_path / "ray.db", model, SMALL) as lib:
        lib.add([clips[0], gone])
    gone.unlink()
    with Library(tmp_path / "ray.db", model, SMALL) as lib:
        distributed = lib.add([root], ray=RayOptions(workers=2))
        ray_index = _contents(lib)
    with Library(tmp_path / "local.db", model, SMALL) as lib:
        local = lib.add([root])
        local_index = _contents(lib)

    assert (local.added, len(local.bad), local.rows) == (7, 1, 7 + len(segment_spans(9, 4, 2)))
    assert (distributed.unchanged, distributed.removed) == (1, 1)
    assert (distributed.added, distributed.bad) == (local.added - 1, local.bad)
    assert "decode" in local.bad[0][1]
    # Both worker nodes embedded files (the head has no CPU to run an actor on).
    assert set(distributed.files_per_worker) == worker_nodes
    assert sum(distributed.files_per_worker.values()) == 7  # 6 to embed, 1 bad

    (files_one, rows_one), (files_two, rows_two) = local_index, ray_index
    assert files_one == files_two
    assert rows_one.keys() == rows_two.keys()
    for path, rows in rows_one.items():
        assert [(s, e) for s, e, _ in rows] == [(s, e) for s, e, _ in rows_two[path]]
        for (_, _, a), (_, _, b) in zip(rows, rows_two[path]):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_ray_actor_refuses_weights_other_than_the_librarys(tmp_path, test_model, aut_model):
    """A node holding another checkpoint at the model's path stops the run, naming both."""
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        fingerprint = lib.fingerprint
    other = str(save_pretrained(aut_model, tmp_path / "other"))
    with pytest.raises(LibraryError, match=f"has {fingerprint}: give every node the same"):
        _Embedder(other, fingerprint, SMALL.to_dict(), "cpu")


def test_ray_indexing_needs_a_model_every_node_can_load(tmp_path, test_model):
    write_clips(tmp_path / "s", 1)
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        with pytest.raises(LibraryError, match="checkpoint folder or name"):
            lib.add([tmp_path / "s"], ray=RayOptions(workers=1))
        assert lib.stats()["files"] == 0
