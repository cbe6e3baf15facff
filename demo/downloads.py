"""Files a user downloads (result tables as CSV, maps as HTML, embedding exports), in one folder.

Gradio copies a returned file into its own cache (cleaned by ``cache_cleaning``) right after the
handler returns, so the demo's copy is needed only for a moment. Each app gets one root folder
``wavlink-export-*``; each request writes into a fresh sub-folder of it (two users downloading
``classify.csv`` at once never collide), every new sub-folder first prunes those older than
``keep_s`` (kept that long so a concurrent request's files survive until Gradio has copied them),
and the root goes when the app is closed, garbage-collected or the process exits.

CSV cells are data for a spreadsheet: text that a spreadsheet would run as a formula is defused.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

MAX_AGE_S = 120.0
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` as a spreadsheet shows it, never as a formula: text starting with = + - @ (or a
    tab or carriage return) gets a leading apostrophe; numbers, also as text ("-0.25"), stay."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


class Downloads:
    """Short-lived files under one root; each ``new_folder()`` prunes old ones first."""

    def __init__(self, prefix: str = "wavlink-export-", keep_s: float = MAX_AGE_S):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)

    def new_folder(self) -> Path:
        """A new empty folder for one request's files; folders older than ``keep_s`` go first."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            cutoff = time.time() - self.keep_s
            for old in self.root.iterdir():
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self.root))

    @staticmethod
    def file_name(name: str) -> str:
        """``name`` is shown to the user, so it is kept, but made safe as one file name."""
        return _SAFE.sub("_", name).strip("._") or "download"

    def new_path(self, name: str, folder: Path | None = None) -> Path:
        """A path for a file called ``name`` in ``folder`` (a new one if None)."""
        return (folder or self.new_folder()) / self.file_name(name)

    def csv(
        self, name: str, header: Sequence, rows: Sequence[Sequence], folder: Path | None = None
    ) -> str:
        """``rows`` under ``header`` as a CSV file named ``name``; returns its path."""
        path = self.new_path(name, folder)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([csv_cell(v) for v in header])
            writer.writerows([csv_cell(v) for v in row] for row in rows)
        return str(path)

    def html(self, name: str, fig, folder: Path | None = None) -> str:
        """A plotly figure as one self-contained HTML file (plotly.js inside: works offline)."""
        path = self.new_path(name, folder)
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
        return str(path)

    def close(self) -> None:
        """Remove the root and everything in it."""
        self._finalizer()
