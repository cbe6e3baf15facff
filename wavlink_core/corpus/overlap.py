"""Leakage guard: find corpus clips that contain audio from another collection (e.g. an evaluation set).

A small landmark fingerprint (spectral peak pairs hashed as ``(f1, f2, dt)``, as in
Wang 2003) is robust to gain, resampling to 16 kHz and cropping; a match is a corpus clip with
at least ``min_hits`` peak pairs at one consistent time offset. The other collection's path is
a command-line argument: nothing here knows where evaluation data lives.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter
from scipy.signal import stft

log = logging.getLogger(__name__)

_FAN_OUT = 5
_MAX_DT = 40  # frames (~0.64 s at hop 256)


def landmarks(x: np.ndarray, sr: int = 16000) -> list[tuple[int, int]]:
    """``(hash, frame)`` pairs of a mono signal."""
    if x.size < 2048:
        x = np.pad(x, (0, 2048 - x.size))
    _, _, z = stft(x, fs=sr, nperseg=1024, noverlap=768, boundary=None)
    mag = np.log(np.abs(z[:256]) + 1e-6)  # up to 4 kHz: survives telephone-band and low-pass copies
    peaks = (mag == maximum_filter(mag, size=(15, 9))) & (mag > mag.mean() + 2.0)
    f_idx, t_idx = np.nonzero(peaks)
    order = np.argsort(t_idx, kind="stable")
    f_idx, t_idx = f_idx[order], t_idx[order]
    out = []
    for i in range(f_idx.size):
        n = 0
        for j in range(i + 1, f_idx.size):
            dt = t_idx[j] - t_idx[i]
            if dt == 0:
                continue
            if dt > _MAX_DT or n >= _FAN_OUT:
                break
            out.append(((int(f_idx[i]) << 16) | (int(f_idx[j]) << 6) | int(dt), int(t_idx[i])))
            n += 1
    return out


def find_overlaps(
    corpus: dict[str, np.ndarray], other: dict[str, np.ndarray], *, min_hits: int = 15
) -> list[tuple[str, str, int]]:
    """``(corpus clip, other clip, hits)`` for every pair that shares aligned landmarks."""
    index: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for name, x in corpus.items():
        for h, t in landmarks(x):
            index[h].append((name, t))
    found = []
    for oname, y in other.items():
        votes: Counter[tuple[str, int]] = Counter()
        for h, t in landmarks(y):
            for cname, ct in index.get(h, ()):
                votes[(cname, ct - t)] += 1
        best: dict[str, int] = {}
        for (cname, _), n in votes.items():
            best[cname] = max(best.get(cname, 0), n)
        found += [(c, oname, n) for c, n in best.items() if n >= min_hits]
    return sorted(found, key=lambda r: -r[2])


def load_dir(root: Path, *, limit_s: float = 30.0) -> dict[str, np.ndarray]:
    """Every decodable audio file under ``root`` (first ``limit_s`` seconds, 16 kHz mono)."""
    from wavlink_core.audio import load_audio
    from wavlink_core.corpus.extract import is_audio

    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and is_audio(path.name):
            try:
                out[str(path)] = load_audio(str(path), max_seconds=600.0)[: int(limit_s * 16000)]
            except Exception as err:  # noqa: BLE001 - report and go on
                log.warning("cannot read %s: %s", path, err)
    return out
