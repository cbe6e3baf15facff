"""Decoding ahead in a thread: files come back in order, bad ones as their error, never more than
one batch ahead, and a fault in the thread reaches the caller."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.library.conftest import SMALL, write_clips
from wavlink_core.errors import AudioError
from wavlink_core.library import prefetch
from wavlink_core.library.scan import walk


def test_files_come_back_in_order_with_bad_ones_as_errors(tmp_path):
    write_clips(tmp_path, 5)
    (tmp_path / "tone_02.wav").write_bytes(b"RIFF not audio")
    todo = walk([tmp_path])
    got = list(prefetch.decode_ahead(todo, SMALL))
    assert [f.path for f, _, _ in got] == [f.path for f in todo]
    kinds = [type(w) for _, w, _ in got]
    assert kinds[2] is AudioError and all(k is np.ndarray for i, k in enumerate(kinds) if i != 2)


def test_at_most_one_batch_is_decoded_ahead(tmp_path, monkeypatch):
    write_clips(tmp_path, 8)
    decoded = []
    real = prefetch.load_audio_with_info

    def counting(path, **kw):
        decoded.append(path)
        return real(path, **kw)

    monkeypatch.setattr(prefetch, "load_audio_with_info", counting)
    it = prefetch.decode_ahead(walk([tmp_path]), SMALL)  # batch_files=2
    next(it)
    threading.Event().wait(0.5)  # let the thread run as far as it may
    assert len(decoded) <= 1 + SMALL.batch_files + 1  # taken, queued, one in hand
    it.close()


def test_a_fault_in_the_thread_is_raised_in_the_caller(tmp_path, monkeypatch):
    write_clips(tmp_path, 2)

    def broken(path, **kw):
        raise MemoryError("out of memory")

    monkeypatch.setattr(prefetch, "load_audio_with_info", broken)
    with pytest.raises(MemoryError, match="out of memory"):
        list(prefetch.decode_ahead(walk([tmp_path]), SMALL))
