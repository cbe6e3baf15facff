"""Temporary folders for files the demo hands to Gradio (exports), removed again.

Gradio copies a returned file into its own cache (cleaned by ``delete_cache``) right after the
handler returns, so the demo's copy is needed only for a moment. Each app gets one root folder
``wavlink-export-*``; every new folder prunes the ones older than ``keep_s`` (kept that long so a
concurrent request's files survive until Gradio has copied them), and the root goes when the app
is closed or the process exits.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path


class TempFolders:
    """Short-lived folders under one root; ``new()`` gives a fresh one and prunes old ones."""

    def __init__(self, prefix: str = "wavlink-export-", keep_s: float = 120.0):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)

    def new(self) -> Path:
        """A new empty folder; folders older than ``keep_s`` are removed first."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            cutoff = time.time() - self.keep_s
            for old in self.root.iterdir():
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self.root))

    def close(self) -> None:
        """Remove the root and everything in it."""
        self._finalizer()
