"""Streaming indexing: decode and embed files in bounded batches, commit each batch, skip bad files.

Memory is bounded by two batches (``batch_files`` files or ``batch_seconds`` of audio each: the
one being embedded and the next, decoded ahead in a thread; see ``prefetch.py``), whatever the
size of the library. A batch is committed in one transaction, so a killed run loses at most the
batch in flight and the next run picks up where it stopped (files already committed match their
size and mtime and are skipped).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..audio import SAMPLE_RATE
from ..inference import embed_audio
from ..runtime import AudioEncoder, audio_encoder
from .config import LibraryConfig
from .prefetch import decode_ahead
from .scan import FoundFile, library_path, plan, sha256_file, walk
from .store import IndexedFile, Store

if TYPE_CHECKING:
    from ..model import WavLink

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What one indexing run did, and where its time went (seconds)."""

    added: int = 0
    removed: int = 0
    unchanged: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    audio_seconds: float = 0.0
    rows: int = 0
    decode_s: float = 0.0  # waiting for decoded audio (decoding runs ahead in a thread)
    embed_s: float = 0.0
    write_s: float = 0.0
    wall_s: float = 0.0
    files_per_worker: dict[str, int] = field(default_factory=dict)  # Ray node id -> files

    def summary(self) -> str:
        rate = self.audio_seconds / self.wall_s if self.wall_s else 0.0
        lines = [
            f"indexed {self.added} files ({self.audio_seconds / 3600:.2f} h of audio, {self.rows} rows), "
            f"removed {self.removed}, unchanged {self.unchanged}, bad {len(self.bad)}; "
            f"{self.wall_s:.1f} s, {rate:.1f}x real time "
            f"(decode {self.decode_s:.1f} s, embed {self.embed_s:.1f} s, write {self.write_s:.1f} s)"
        ]
        if self.files_per_worker:
            per = ", ".join(f"{node[:8]}: {n}" for node, n in sorted(self.files_per_worker.items()))
            nodes = len(self.files_per_worker)
            lines.append(f"  embedded on {nodes} Ray node{'s' * (nodes > 1)} (files: {per})")
        lines += [f"  skipped {path}: {reason}" for path, reason in self.bad]
        return "\n".join(lines)


def segment_spans(duration: float, segment_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Overlapping ``(start, end)`` segments of a file longer than one segment (else none).

    Segments start every ``hop_s`` seconds; the last one ends at the end of the file, so every
    segment has the full length and the file's end is always covered.
    """
    if duration <= segment_s:
        return []
    spans, start = [], 0.0
    while start + segment_s < duration:
        spans.append((start, start + segment_s))
        start += hop_s
    spans.append((max(0.0, duration - segment_s), duration))
    return spans


BadFile = tuple[str, int, int, str]  # (path, size, mtime_ns, reason)


def index_folders(
    store: Store,
    model: WavLink,
    roots: Sequence[str | os.PathLike],
    config: LibraryConfig,
    *,
    progress: bool = True,
    log_path: Path | None = None,
    runtime: str = "torch",
) -> IndexReport:
    """Bring the index up to date with ``roots``: embed new and changed files, drop deleted ones.

    ``runtime`` runs the audio encoder: ``"torch"``, ``"torch-bf16"`` or ``"onnx"`` (see
    :mod:`wavlink_core.runtime`; same vectors to cosine >= 0.999).
    """
    t0 = time.perf_counter()
    encoder = audio_encoder(model, runtime)
    report = IndexReport()
    todo = plan_run(store, roots, report)
    with progress_bar(todo, progress) as bar:
        for done, bad in embed_files(model, todo, config, report, encoder):
            commit_batch(store, done, bad, report, bar)
    finish_run(report, t0, log_path)
    return report


def plan_run(
    store: Store, roots: Sequence[str | os.PathLike], report: IndexReport
) -> list[FoundFile]:
    """Walk ``roots``, drop the index's files that are gone, and return the files to embed."""
    work = plan(walk(roots), store.file_states(), [library_path(r) for r in roots])
    report.unchanged = work.unchanged
    report.removed = store.remove(work.deleted)
    return work.todo


def progress_bar(todo: Sequence[FoundFile], progress: bool) -> tqdm:
    """The bar over files (count, hours of audio done, ETA) that :func:`commit_batch` advances."""
    return tqdm(total=len(todo), unit="file", desc="indexing", disable=not progress)


def embed_files(
    model: WavLink,
    files: Sequence[FoundFile],
    config: LibraryConfig,
    timing: IndexReport,
    encoder: AudioEncoder | None = None,
) -> Iterator[tuple[list[IndexedFile], list[BadFile]]]:
    """Decode, segment and embed ``files`` in order, one bounded batch at a time.

    The one place files become vectors: the local indexer and the Ray actors
    (``distributed.py``) both call it, so both give the same index.

    Args:
        timing: gets the decode and embed seconds added to it.
        encoder: what runs the audio encoder (:func:`wavlink_core.runtime.audio_encoder`);
            ``None`` is the model's own float32 torch path.

    Yields:
        ``(done, bad)`` per batch of at most ``config.batch_files`` files or
        ``config.batch_seconds`` of audio; a file that cannot be used is in ``bad`` with its
        reason, never raised.
    """
    decoded: list[tuple[FoundFile, np.ndarray]] = []
    bad: list[BadFile] = []
    seconds = 0.0
    for found, wave, waited in decode_ahead(files, config):
        timing.decode_s += waited  # decoding itself overlaps the encoder; this is the wait
        if isinstance(wave, np.ndarray):
            decoded.append((found, wave))
            seconds += len(wave) / SAMPLE_RATE
        else:
            reason = str(wave).removeprefix(f"{found.path}: ")
            bad.append((found.path, found.size, found.mtime_ns, reason))
        if len(decoded) + len(bad) >= config.batch_files or seconds >= config.batch_seconds:
            yield _embed_decoded(model, encoder, decoded, config, timing), bad
            decoded, bad, seconds = [], [], 0.0
    if decoded or bad:
        yield _embed_decoded(model, encoder, decoded, config, timing), bad


def indexed_file(
    found: FoundFile, duration: float, spans: list[tuple[float, float]], vectors: np.ndarray
) -> IndexedFile:
    """What the store records for one file: its identity (hashing reads it again), its whole-file
    span and segment spans, and one vector per span."""
    return IndexedFile(
        path=found.path,
        size=found.size,
        mtime_ns=found.mtime_ns,
        sha256=sha256_file(found.path),
        duration=duration,
        spans=spans,
        vectors=vectors,
    )


def _embed_decoded(
    model: WavLink,
    encoder: AudioEncoder | None,
    decoded: list[tuple[FoundFile, np.ndarray]],
    config: LibraryConfig,
    timing: IndexReport,
) -> list[IndexedFile]:
    t = time.perf_counter()
    clips: list[np.ndarray] = []
    files: list[tuple[FoundFile, float, list[tuple[float, float]]]] = []
    for found, wave in decoded:
        duration = len(wave) / SAMPLE_RATE
        spans = [(0.0, duration)] + segment_spans(duration, config.segment_s, config.hop_s)
        clips += [wave[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for s, e in spans]
        files.append((found, duration, spans))
    vectors = (
        embed_audio(model, clips, sampling_rate=SAMPLE_RATE, encoder=encoder) if clips else None
    )
    timing.embed_s += time.perf_counter() - t
    t = time.perf_counter()
    done, at = [], 0
    for found, duration, spans in files:
        done.append(indexed_file(found, duration, spans, vectors[at : at + len(spans)]))
        at += len(spans)
    timing.decode_s += time.perf_counter() - t  # hashing reads the file again: count it as reading
    return done


def commit_batch(
    store: Store, done: list[IndexedFile], bad: list[BadFile], report: IndexReport, bar: tqdm
) -> None:
    """Write one batch in one transaction and count it in ``report`` and on ``bar``."""
    t = time.perf_counter()
    store.write_batch(done, bad)
    report.write_s += time.perf_counter() - t
    report.added += len(done)
    report.rows += sum(len(f.spans) for f in done)
    report.audio_seconds += sum(f.duration for f in done)
    report.bad += [(path, reason) for path, _, _, reason in bad]
    bar.update(len(done) + len(bad))
    bar.set_postfix_str(f"{report.audio_seconds / 3600:.2f} h audio")


def finish_run(report: IndexReport, t0: float, log_path: Path | None) -> None:
    """Stamp the wall time and append the summary to the log file."""
    report.wall_s = time.perf_counter() - t0
    if log_path is not None:
        _write_log(log_path, report)


def _write_log(path: Path, report: IndexReport) -> None:
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{stamp} {report.summary()}\n")
