"""A run killed with SIGKILL mid-way resumes: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw

from tests.library.conftest import write_clips
from wavlink_core.library import Library, LibraryConfig, LibraryError
from wavlink_core.library.backends import open_store, store_exists

ROOT = Path(__file__).resolve().parents[2]
CONFIG = LibraryConfig(batch_files=1)
# The same model as the `test_model` fixture (seed 0), so the library accepts both processes.
CHILD = """
import sys, torch
from wavlink_core import PRESETS, WavLink
from wavlink_core.library import Library, LibraryConfig
torch.manual_seed(0)
model = WavLink(PRESETS["test"]).eval()
Library(sys.argv[1], model, LibraryConfig(batch_files=1)).add([sys.argv[2]])
"""


def _committed(db: Path) -> int:
    if not store_exists(db):
        return 0
    try:
        store = open_store(db, readonly=True)
    except (apsw.Error, LibraryError):  # created but the schema is not committed yet
        return 0
    try:
        return store.counts()["files"]
    finally:
        store.close()


def test_kill_9_mid_run_then_rerun_gives_every_file_once(tmp_path, test_model, db_name):
    root = tmp_path / "s"
    write_clips(root, 24, seconds=3.0)
    db = tmp_path / db_name
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(root)], env=env)
    deadline = time.monotonic() + 300
    while _committed(db) < 3 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    done_before = _committed(db)
    assert 3 <= done_before < 24
    with Library(db, test_model, CONFIG) as lib:
        report = lib.add([root])
        assert report.added == 24 - done_before
        assert report.unchanged == done_before
        counts = lib.store.counts()
        assert (counts["files"], counts["bad_files"]) == (24, 0)
        assert counts["rows"] == 24  # 3-s clips: no segments, and no row twice
        assert len(lib.store.file_states()) == 24
        assert len(lib.store.sample_vectors(100)) == 24  # every row has its vector
