"""Files a user downloads (result tables as CSV, maps as HTML), written to one private folder.

Gradio copies a returned file into its own cache (cleaned by the Blocks' ``delete_cache``), so our
copy is only needed for a moment: each new file first removes ours older than ``MAX_AGE_S``, and
the folder itself goes when the process exits.
"""

from __future__ import annotations

import csv
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

MAX_AGE_S = 600.0
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Downloads:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="wavlink-downloads-")
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return Path(self._dir.name)

    def new_path(self, name: str) -> Path:
        """A fresh file path; ``name`` is shown to the user, so it is kept but made filesystem-safe."""
        now = time.time()
        with self._lock:
            for old in self.folder.glob("*/*"):
                if now - old.stat().st_mtime > MAX_AGE_S:
                    old.unlink(missing_ok=True)
                    old.parent.rmdir()
            # One sub-folder per file: two users downloading "classify.csv" at once never collide.
            sub = Path(tempfile.mkdtemp(dir=self.folder))
        return sub / (_SAFE.sub("_", name).strip("._") or "download")

    def csv(self, name: str, header: Sequence[str], rows: Sequence[Sequence]) -> str:
        """``rows`` under ``header`` as a CSV file named ``name``; returns its path."""
        path = self.new_path(name)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        return str(path)

    def html(self, name: str, fig) -> str:
        """A plotly figure as one self-contained HTML file (plotly.js inside: works offline)."""
        path = self.new_path(name)
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
        return str(path)

    def cleanup(self) -> None:
        self._dir.cleanup()
