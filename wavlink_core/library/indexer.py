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
from collections.abc import Sequence
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

    def summary(self) -> str:
        rate = self.audio_seconds / self.wall_s if self.wall_s else 0.0
        lines = [
            f"indexed {self.added} files ({self.audio_seconds / 3600:.2f} h of audio, {self.rows} rows), "
            f"removed {self.removed}, unchanged {self.unchanged}, bad {len(self.bad)}; "
            f"{self.wall_s:.1f} s, {rate:.1f}x real time "
            f"(decode {self.decode_s:.1f} s, embed {self.embed_s:.1f} s, write {self.write_s:.1f} s)"
        ]
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
    roots_abs = [library_path(r) for r in roots]
    work = plan(walk(roots), store.file_states(), roots_abs)
    report.unchanged = work.unchanged
    report.removed = store.remove(work.deleted)
    bar = tqdm(total=len(work.todo), unit="file", desc="indexing", disable=not progress)
    batch: list[tuple[FoundFile, np.ndarray]] = []
    bad: list[tuple[str, int, int, str]] = []
    seconds = 0.0
    for found, wave, waited in decode_ahead(work.todo, config):
        report.decode_s += waited  # decoding itself overlaps the encoder; this is the wait
        if isinstance(wave, np.ndarray):
            batch.append((found, wave))
            seconds += len(wave) / SAMPLE_RATE
        else:
            reason = str(wave).removeprefix(f"{found.path}: ")
            bad.append((found.path, found.size, found.mtime_ns, reason))
        if len(batch) + len(bad) >= config.batch_files or seconds >= config.batch_seconds:
            _flush(store, model, encoder, batch, bad, config, report, bar)
            batch, bad, seconds = [], [], 0.0
    _flush(store, model, encoder, batch, bad, config, report, bar)
    bar.close()
    report.wall_s = time.perf_counter() - t0
    if log_path is not None:
        _write_log(log_path, report)
    return report


def _flush(
    store: Store,
    model: WavLink,
    encoder: AudioEncoder,
    batch: list[tuple[FoundFile, np.ndarray]],
    bad: list[tuple[str, int, int, str]],
    config: LibraryConfig,
    report: IndexReport,
    bar: tqdm,
) -> None:
    if not batch and not bad:
        return
    t = time.perf_counter()
    clips: list[np.ndarray] = []
    files: list[tuple[FoundFile, float, list[tuple[float, float]]]] = []
    for found, wave in batch:
        duration = len(wave) / SAMPLE_RATE
        spans = [(0.0, duration)] + segment_spans(duration, config.segment_s, config.hop_s)
        clips += [wave[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for s, e in spans]
        files.append((found, duration, spans))
    vectors = (
        embed_audio(model, clips, sampling_rate=SAMPLE_RATE, encoder=encoder) if clips else None
    )
    report.embed_s += time.perf_counter() - t
    t = time.perf_counter()
    done, at = [], 0
    for found, duration, spans in files:
        done.append(
            IndexedFile(
                path=found.path,
                size=found.size,
                mtime_ns=found.mtime_ns,
                sha256=sha256_file(found.path),
                duration=duration,
                spans=spans,
                vectors=vectors[at : at + len(spans)],
            )
        )
        at += len(spans)
        report.audio_seconds += duration
    store.write_batch(done, bad)
    report.write_s += time.perf_counter() - t
    report.added += len(done)
    report.rows += at
    report.bad += [(path, reason) for path, _, _, reason in bad]
    bar.update(len(batch) + len(bad))
    bar.set_postfix_str(f"{report.audio_seconds / 3600:.2f} h audio")


def _write_log(path: Path, report: IndexReport) -> None:
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{stamp} {report.summary()}\n")
