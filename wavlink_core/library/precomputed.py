"""Adding files whose whole-file vectors were already computed (e.g. a cached gallery embedding).

The rows written are those :func:`.indexer.index_folders` would write: the given vector is the
whole-file row, and a file longer than one segment still gets its segment rows, embedded here
(only those: the whole file is never encoded again). A file whose duration is not given is
decoded to measure it, with the indexer's limits, so an unreadable or too long file is skipped
and reported as bad exactly as ``add`` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import SAMPLE_RATE
from ..inference import embed_audio
from .config import LibraryConfig
from .indexer import (
    BadFile,
    IndexReport,
    commit_batch,
    finish_run,
    indexed_file,
    progress_bar,
    segment_spans,
)
from .prefetch import decode_ahead
from .scan import FoundFile, library_path
from .store import IndexedFile, LibraryError, Store

if TYPE_CHECKING:
    from ..model import WavLink

NORM_TOLERANCE = 1e-3  # float32 vectors from embed_audio are unit norm to ~1e-6


def index_vectors(
    store: Store,
    model: WavLink,
    paths: Sequence[str | os.PathLike],
    vectors: np.ndarray,
    durations: Sequence[float] | None,
    config: LibraryConfig,
    *,
    progress: bool = False,
    log_path: Path | None = None,
) -> IndexReport:
    """Write ``paths`` with their precomputed full-size whole-file ``vectors`` into ``store``.

    Args:
        vectors: (len(paths), full size) unit-norm vectors of ``model``, one per file, as
            ``embed_audio(model, paths)`` gives them.
        durations: seconds of each file, as decoded at 16 kHz; None measures them by decoding.

    Raises:
        LibraryError: the counts or the vector size do not match, or a vector is not a unit-norm
            finite vector (naming its file).
    """
    t0 = time.perf_counter()
    found, vectors, durations = _checked(paths, vectors, durations, store.embed_dim)
    report = IndexReport()
    with progress_bar(found, progress) as bar:
        for at in range(0, len(found), config.batch_files):
            batch = range(at, min(at + config.batch_files, len(found)))
            done, bad = _batch(
                model,
                config,
                report,
                [found[i] for i in batch],
                vectors[batch.start : batch.stop],
                [durations[i] for i in batch],
            )
            commit_batch(store, done, bad, report, bar)
    finish_run(report, t0, log_path)
    return report


def _checked(
    paths: Sequence[str | os.PathLike],
    vectors: np.ndarray,
    durations: Sequence[float] | None,
    embed_dim: int,
) -> tuple[list[FoundFile | tuple[str, str]], np.ndarray, list[float | None]]:
    """The files stated (a missing one as ``(path, reason)``), the vectors as float32, the
    durations (None where unknown)."""
    paths = [library_path(p) for p in paths]
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (len(paths), embed_dim):
        raise LibraryError(
            f"add_vectors: got vectors of shape {vectors.shape} for {len(paths)} paths; this "
            f"library needs one full-size vector per path, shape ({len(paths)}, {embed_dim})"
        )
    if durations is not None and len(durations) != len(paths):
        raise LibraryError(
            f"add_vectors: got {len(durations)} durations for {len(paths)} paths; give one per "
            "path, or None to measure them"
        )
    norms = np.linalg.norm(vectors, axis=1)
    for path, norm, vec in zip(paths, norms, vectors):
        if not np.isfinite(vec).all() or abs(norm - 1.0) > NORM_TOLERANCE:
            raise LibraryError(
                f"add_vectors: the vector of {path} has norm {norm:.4f} (or non-finite values); "
                "give the model's unit-norm full-size embeddings (embed_audio)"
            )
    found: list[FoundFile | tuple[str, str]] = []
    for path in paths:
        try:
            st = os.stat(path)
            found.append(FoundFile(path, st.st_size, st.st_mtime_ns))
        except OSError as exc:
            found.append((path, exc.strerror or str(exc)))
    return found, vectors, list(durations) if durations is not None else [None] * len(paths)


def _batch(
    model: WavLink,
    config: LibraryConfig,
    report: IndexReport,
    files: list[FoundFile | tuple[str, str]],
    vectors: np.ndarray,
    durations: list[float | None],
) -> tuple[list[IndexedFile], list[BadFile]]:
    """One batch's rows: decode what has no duration or needs segments, embed only segments."""
    limit = min(config.segment_s, config.max_seconds)
    need = [
        f for f, d in zip(files, durations) if isinstance(f, FoundFile) and (d is None or d > limit)
    ]
    waves = {f.path: wave for f, wave, _ in decode_ahead(need, config)}
    done: list[IndexedFile] = []
    bad: list[BadFile] = []
    for f, vector, duration in zip(files, vectors, durations):
        if not isinstance(f, FoundFile):  # gone: nothing to record it under
            report.bad.append(f)
            continue
        wave = waves.get(f.path)
        if wave is not None and not isinstance(wave, np.ndarray):
            bad.append((f.path, f.size, f.mtime_ns, str(wave).removeprefix(f"{f.path}: ")))
            continue
        if wave is not None:
            duration = len(wave) / SAMPLE_RATE
        spans = segment_spans(duration, config.segment_s, config.hop_s)
        t = time.perf_counter()
        segments = (
            embed_audio(
                model,
                [wave[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for s, e in spans],
                sampling_rate=SAMPLE_RATE,
            )
            if spans
            else np.zeros((0, len(vector)), np.float32)
        )
        report.embed_s += time.perf_counter() - t
        done.append(
            indexed_file(f, duration, [(0.0, duration), *spans], np.vstack([vector[None], segments]))
        )
    return done, bad
