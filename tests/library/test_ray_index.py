"""Indexing on a Ray cluster of two worker nodes gives the same index as one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray
import soundfile as sf
from ray.cluster_utils import Cluster

from tests.library.conftest import SMALL, SR, tone, write_clips
from wavlink_core.checkpoint import save_pretrained
from wavlink_core.cli import main
from wavlink_core.library import Library, LibraryError
from wavlink_core.library.distributed import RayOptions, _Embedder
from wavlink_core.library.indexer import segment_spans
from wavlink_core.library.store import Store


@pytest.fixture(scope="module")
def cluster():
    """A local cluster: a head that runs no work (0 CPUs) and two worker nodes of 1 CPU each.

    Yields its address and the worker nodes' ids.
    """
    no_dashboard = {"include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **no_dashboard})
    nodes = [cluster.add_node(num_cpus=1, **no_dashboard) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster.address, {node.node_id for node in nodes}
    cluster.shutdown()


def _index(capsys, root: Path, db: Path, model: str, *ray: str) -> dict:
    """``python -m wavlink_core index`` with the small test settings; its JSON report."""
    small = ["--segment-s", "4", "--hop-s", "2", "--max-seconds", "20", "--batch-files", "2"]
    args = ["index", str(root), "--db", str(db), "--model", model, "--json", *small, *ray]
    assert main(args) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _contents(db: Path) -> tuple[list[tuple], dict[str, list]]:
    """Every file (size, mtime, hash, duration, status, reason) and every row (span, vector)."""
    store = Store(db, readonly=True)
    columns = "path, size, mtime_ns, sha256, duration, status, reason"
    files = sorted(store.con.execute(f"select {columns} from files"))
    rows: dict[str, list] = {}
    for path, start, end, blob in store.con.execute(
        "select files.path, rows.start, rows.end, vectors.full from rows"
        " join files on files.id = rows.file_id join vectors on vectors.rowid = rows.id"
        " order by rows.id"
    ):
        rows.setdefault(path, []).append((start, end, np.frombuffer(blob, np.float32)))
    store.close()
    return files, rows


def test_two_ray_workers_give_the_same_index_as_one_process(tmp_path, test_model, cluster, capsys):
    address, worker_nodes = cluster
    root = tmp_path / "sounds"
    clips = write_clips(root, 6)
    sf.write(root / "long.flac", tone(1000, 9.0), SR)  # 9 s: segments of 4 s every 2 s
    (root / "corrupt.wav").write_bytes(b"RIFF this is not audio at all")
    gone = root / "deleted_before_the_ray_run.wav"
    sf.write(gone, tone(700, 1.0), SR)
    model = str(save_pretrained(test_model, tmp_path / "model"))

    # The Ray run takes over a library a killed run left behind: one file committed, and one
    # committed that has since been deleted.
    _index(capsys, clips[0], tmp_path / "ray.db", model)
    _index(capsys, gone, tmp_path / "ray.db", model)
    gone.unlink()
    ray_args = ("--ray", address, "--workers", "2")
    distributed = _index(capsys, root, tmp_path / "ray.db", model, *ray_args)
    local = _index(capsys, root, tmp_path / "local.db", model)

    segments = len(segment_spans(9.0, 4.0, 2.0))
    assert (local["added"], len(local["bad"]), local["rows"]) == (7, 1, 7 + segments)
    assert (distributed["unchanged"], distributed["removed"]) == (1, 1)
    assert (distributed["added"], distributed["bad"]) == (local["added"] - 1, local["bad"])
    assert "decode" in local["bad"][0]["reason"]
    # Both worker nodes embedded files (the head has no CPU to run an actor on).
    assert set(distributed["files_per_worker"]) == worker_nodes
    assert sum(distributed["files_per_worker"].values()) == 7  # 6 to embed, 1 bad

    files_one, rows_one = _contents(tmp_path / "local.db")
    files_two, rows_two = _contents(tmp_path / "ray.db")
    assert files_one == files_two
    assert rows_one.keys() == rows_two.keys()
    for path, rows in rows_one.items():
        assert [(s, e) for s, e, _ in rows] == [(s, e) for s, e, _ in rows_two[path]]
        for (_, _, a), (_, _, b) in zip(rows, rows_two[path]):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert not ray.is_initialized()  # the run connected for itself and let go


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


def test_ray_flags_without_ray_are_refused(tmp_path, capsys):
    write_clips(tmp_path / "s", 1)
    db = tmp_path / "lib.db"
    args = ["index", str(tmp_path / "s"), "--db", str(db), "--model", "test", "--workers", "4"]
    assert main(args) == 2
    assert "--workers only apply with --ray" in capsys.readouterr().err
    assert not db.exists()


def test_plain_index_does_not_import_ray(tmp_path):
    """Ray is a heavy import: only ``--ray`` pays for it."""
    write_clips(tmp_path / "s", 1)
    code = (
        "import sys; from wavlink_core.cli import main; "
        f"main(['index', {str(tmp_path / 's')!r}, '--db', {str(tmp_path / 'lib.db')!r}, "
        "'--model', 'test', '--json']); print('ray' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "False"
    assert (tmp_path / "lib.db").is_file()
