"""The Library tab's back end (no Gradio): the libraries it searches, merged results, excerpts.

A :class:`Source` is one library the tab searches: the gallery (indexed once per model and
gallery and cached next to the gallery embeddings), a database served with ``app.py --library``,
or a visitor's own uploads. Every source is searched through ``Library``'s public API; hits of
several sources are merged by their full-size cosine, which all of them report for the same model.

Server paths never leave the server: a :class:`Result` carries the path for the excerpt cut, and
a display name (a file name, or the last folder and the file name) for the page.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from wavlink_core import load_audio
from wavlink_core.audio import SAMPLE_RATE
from wavlink_core.library import Library, LibraryError
from wavlink_core.runtime import cache_dir

from .gallery import Gallery, model_fingerprint

log = logging.getLogger("wavlink.demo")
MAX_EXCERPT_S = 30.0  # a whole long file can be the best match; play its first 30 s


@dataclass(frozen=True)
class Result:
    """One ranked hit, with the server path kept for the excerpt and a name for the page."""

    rank: int
    source: str
    name: str
    score: float
    start: float
    end: float
    path: str


@dataclass
class Source:
    """A library the tab searches, how its files are named on the page, and its measured stats.

    Attributes:
        label: shown in the results' source column ("gallery", "library", "your clips").
        library: the open library (the shared ones read-only).
        name_of: server path -> the name shown; never the full path.
        stats: ``Library.stats(recall=True)``, measured once when the source is made.
    """

    label: str
    library: Library
    name_of: Callable[[str], str]
    stats: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.stats:
            self.stats = self.library.stats(recall=True)

    def search(self, query: str | tuple[int, np.ndarray], k: int, dim: int) -> list[Result]:
        # One connection serves every request: searches of the same source take turns.
        with self.lock:
            hits = self.library.search(query, k=k, dim=dim)
        return [
            Result(0, self.label, self.name_of(h.path), h.score, h.start, h.end, h.path)
            for h in hits
        ]


def file_name(path: str) -> str:
    return Path(path).name


def folder_and_name(path: str) -> str:
    """``sub/clip.wav``: enough to tell class folders apart, without the server's layout."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def gallery_source(model, gallery: Gallery, vectors: np.ndarray) -> Source:
    """The gallery as a read-only library, built once per (model, gallery) from the gallery's
    embeddings ``vectors`` (no clip is encoded again) and cached on disk (``$WAVLINK_CACHE``,
    like the gallery embeddings); in a temporary folder when the cache is not writable."""
    key = hashlib.sha1(
        (model_fingerprint(model) + "|" + "|".join(gallery.paths)).encode()
    ).hexdigest()[:16]
    path = cache_dir() / f"gallery-library-{key}.db"
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _build(model, gallery.paths, vectors, path)
        except OSError as e:  # a read-only home still runs, with a library that goes at exit
            log.warning("cannot cache the gallery library: %s", e)
            folder = tempfile.mkdtemp(prefix="wavlink-gallery-library-")
            atexit.register(shutil.rmtree, folder, True)
            path = Path(folder) / "gallery.db"
            _build(model, gallery.paths, vectors, path)
    try:
        library = Library(path, model, readonly=True)
    except LibraryError as e:  # a cache left by another version of the library: build it anew
        log.warning("rebuilding the cached gallery library: %s", e)
        path.unlink()
        _build(model, gallery.paths, vectors, path)
        library = Library(path, model, readonly=True)
    return Source("gallery", library, file_name)


def _build(model, paths: Sequence[str], vectors: np.ndarray, path: Path) -> None:
    # Built under a temporary name and renamed: two servers starting at once never share a
    # half-built file, and a killed build is never mistaken for a finished one.
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.building.db")
    log.info("indexing %d gallery clips into %s", len(paths), path)
    try:
        with Library(tmp, model) as lib:
            report = lib.add_vectors(list(paths), vectors)
        for bad, reason in report.bad:
            log.warning("gallery clip left out of the library: %s: %s", bad, reason)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}.log")):
            leftover.unlink(missing_ok=True)


def served_source(db: str | os.PathLike, model) -> Source:
    """A prebuilt library named on the server's command line, read-only.

    Raises:
        LibraryError: no library at ``db``, not a library, or built with another model (the
            core's message, naming both models).
    """
    return Source("library", Library(db, model, readonly=True), folder_and_name)


def search(
    sources: Sequence[Source], query: str | tuple[int, np.ndarray], k: int, dim: int
) -> list[Result]:
    """The ``k`` best files over all ``sources``, ranked by full-size cosine, numbered from 1."""
    found = [r for s in sources for r in s.search(query, k, dim)]
    found.sort(key=lambda r: -r.score)
    return [
        Result(i + 1, r.source, r.name, r.score, r.start, r.end, r.path)
        for i, r in enumerate(found[:k])
    ]


def size_facts(stats: dict[str, Any], dim: int) -> dict[str, Any]:
    """What searching at ``dim`` costs and keeps on this library: the shortlist's quantisation,
    bytes per vector, the recall@10 measured by ``Library.stats(recall=True)`` (None when the
    library has too few rows to measure it), its rows, and the shortlist length at k = 10."""
    quant = stats["config"]["shortlist_quantization"] if dim < max(stats["sizes"]) else "float32"
    bytes_ = {"float32": 4 * dim, "int8": dim, "binary": dim // 8}[quant]
    recall = next(
        (
            r["recall"]
            for r in stats.get("recall_at_10", [])
            if r["dim"] == dim and r["quantization"] == quant
        ),
        None,
    )
    shortlist = 10 * stats["config"]["shortlist_factor"]
    return {
        "quantization": quant,
        "bytes": bytes_,
        "recall": recall,
        "rows": stats["rows"],
        "shortlist": shortlist,
    }


def cut_excerpt(result: Result, folder: Path, name: str) -> tuple[str, float, float]:
    """The span of ``result`` (at most ``MAX_EXCERPT_S``) as a 16-kHz wav in ``folder``.

    Only ever called with a path a library search returned, so no visitor can name a file.

    Returns:
        (wav path, start s, end s) of what is played.

    Raises:
        LibraryError: the file is no longer where it was indexed.
    """
    if not Path(result.path).is_file():
        raise LibraryError(
            f"{result.name} is no longer where the library indexed it, so it cannot be played; "
            "the server's library needs indexing again"
        )
    wave = load_audio(result.path, max_seconds=None, name=result.name)
    start = max(0.0, result.start)
    end = min(result.end, start + MAX_EXCERPT_S, len(wave) / SAMPLE_RATE)
    out = folder / name
    sf.write(out, wave[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)], SAMPLE_RATE, "PCM_16")
    return str(out), start, end
