"""A visitor's own sound library: uploads indexed into a library that belongs to one session.

Each session that uploads gets a folder under one root (its clips, copied out of Gradio's upload
cache so they can still be played after the cache cleaning, and its own SQLite library). The
session's ``gr.State`` holds only plain data (the folder, the names shown, seconds indexed, the
library's stats); the folder is removed when that state expires and the root when the app goes.
A session holds at most ``MAX_FILES`` files and ``MAX_SECONDS`` of audio, like the other tabs'
per-session lists.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wavlink_core import AudioError, load_audio_with_info
from wavlink_core.audio import AUDIO_EXTENSIONS, SAMPLE_RATE
from wavlink_core.library import Library

from .engine import HARD_MAX_S
from .errors import each
from .library_search import Source

MAX_FILES = 64
# 20 minutes index in about 15 s at the 83.8x real time measured on two idle cores (benchmarks.md).
MAX_SECONDS = 20 * 60.0
LABEL = "your clips"


class SessionLibraries:
    """Creates, fills, opens and removes the per-session libraries of one app."""

    def __init__(self, model, prefix: str = "wavlink-session-libraries-"):
        self.model = model
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, folder: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(folder, threading.Lock())

    def _owned(self, state: dict | None) -> Path | None:
        """The session's folder, when it is one this app made (state is server-side, but the
        folder is removed with ``rmtree``: never trust it blindly)."""
        if not state:
            return None
        folder = Path(state["dir"])
        return folder if folder.parent == self.root and folder.is_dir() else None

    def add(self, state: dict | None, paths: list[str]) -> tuple[dict, list[str], list[str]]:
        """Index uploaded files into the session's library.

        Returns:
            (new state, names added, one sentence per file left out: unreadable, or over the
            session's caps). Raises only when no file can be used.
        """
        folder = self._owned(state)
        if folder is None:
            self.root.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(dir=self.root))
            state = {"dir": str(folder), "names": {}, "seconds": 0.0, "stats": {}}
        with self._lock(str(folder)):
            good, failed = each(paths, _probe)
            names, seconds = dict(state["names"]), float(state["seconds"])
            (folder / "clips").mkdir(exist_ok=True)
            copies = []
            for path, duration in good:
                name = Path(path).name
                if len(names) >= MAX_FILES or seconds + duration > MAX_SECONDS:
                    failed.append(
                        f"{name} was not added: your library holds at most {MAX_FILES} files and "
                        f"{MAX_SECONDS / 60:.0f} minutes of audio per session "
                        f"({len(names)} files, {seconds / 60:.1f} minutes now)."
                    )
                    continue
                # Stored under a number: the visitor's name is only ever shown, never a path.
                number = sum(1 for _ in (folder / "clips").iterdir())
                copy = folder / "clips" / f"{number:03d}{Path(name).suffix.lower()}"
                shutil.copyfile(path, copy)
                copies.append(str(copy))
                names[str(copy)] = name
                seconds += duration
            if copies:
                with Library(folder / "library.db", self.model) as lib:
                    report = lib.add(copies)
                    for bad, reason in report.bad:
                        failed.append(f"{names.pop(bad)}: {reason}")
                    stats = lib.stats(recall=True)
            else:
                stats = state["stats"]
        new = {"dir": str(folder), "names": names, "seconds": seconds, "stats": stats}
        return new, [names[c] for c in copies if c in names], failed

    @contextlib.contextmanager
    def source(self, state: dict | None) -> Iterator[Source | None]:
        """The session's library as a search :class:`Source` (None before the first upload),
        open for the duration of the ``with`` block."""
        folder = self._owned(state)
        if folder is None or not state["names"]:
            yield None
            return
        names = state["names"]
        with Library(folder / "library.db", self.model, readonly=True) as lib:
            yield Source(LABEL, lib, lambda p: names.get(p, Path(p).name), state["stats"])

    def remove(self, state: dict | None) -> None:
        """Delete a session's folder (Gradio calls this when the session's state expires)."""
        folder = self._owned(state)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            with self._locks_guard:
                self._locks.pop(str(folder), None)

    def close(self) -> None:
        self._finalizer()


def _probe(path: str) -> float:
    """Seconds of audio in an upload; raises a user error naming the file when it cannot be used."""
    name = Path(path).name
    if Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{name}: unsupported file type {Path(name).suffix or '(no extension)'}; the library "
            f"indexes {', '.join(sorted(AUDIO_EXTENSIONS))}"
        )
    wave, _ = load_audio_with_info(path, max_seconds=HARD_MAX_S, name=name)
    return len(wave) / SAMPLE_RATE


def summary(state: dict | None) -> dict[str, Any]:
    """Files and minutes in a session's library (zeros before the first upload)."""
    if not state:
        return {"files": 0, "minutes": 0.0}
    return {"files": len(state["names"]), "minutes": state["seconds"] / 60}
