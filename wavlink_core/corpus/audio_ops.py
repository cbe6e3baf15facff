"""Pure signal operations of the builder: silence trim, windowing, hashing. 16 kHz mono float32 in."""

from __future__ import annotations

import hashlib

import numpy as np

SAMPLE_RATE = 16000
SILENCE_DBFS = -50.0
MIN_SECONDS = 0.15
PAD_SECONDS = 0.5  # clips shorter than MIN_SECONDS are zero-padded to this length
WINDOW_SECONDS = 10.0


def trim_silence(
    x: np.ndarray, *, threshold_dbfs: float = SILENCE_DBFS, frame: int = 160, pad: int = 320
) -> np.ndarray:
    """Cut leading and trailing frames whose RMS is below ``threshold_dbfs``; empty if all silent.

    A 20 ms pad is kept on each side so attacks and decays are not clipped.
    """
    if x.size == 0:
        return x
    n = x.size // frame
    if n == 0:
        return x if np.sqrt(np.mean(x**2)) > 10 ** (threshold_dbfs / 20) else x[:0]
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > 10 ** (threshold_dbfs / 20))
    if loud.size == 0:
        return x[:0]
    start = max(0, loud[0] * frame - pad)
    end = min(x.size, (loud[-1] + 1) * frame + pad)
    return x[start:end]


def windows(
    x: np.ndarray,
    mode: str,
    *,
    seconds: float = WINDOW_SECONDS,
    max_windows: int = 6,
    sr: int = SAMPLE_RATE,
) -> list[np.ndarray]:
    """Split a clip longer than ``seconds``: loops into windows with 50 % overlap, one-shots keep the first.

    Args:
        x: Mono signal.
        mode: ``"loop"`` or ``"oneshot"``.
        seconds: Window length.
        max_windows: Cap per source file so a 5-minute ambience does not dominate a category.
        sr: Sample rate.

    Raises:
        ValueError: if ``mode`` is not one of the two valid values.
    """
    if mode not in ("loop", "oneshot"):
        raise ValueError(f"window mode {mode!r} is invalid; valid: 'loop', 'oneshot'")
    size = int(seconds * sr)
    if x.size <= size:
        return [x]
    if mode == "oneshot":
        return [x[:size]]
    hop = size // 2
    starts = range(0, x.size - size + 1, hop)
    return [x[s : s + size] for s in list(starts)[:max_windows]]


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> int16, clipping overs."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def audio_sha1(pcm: np.ndarray) -> str:
    """Hash of the decoded 16-bit samples: equal for the same sound shipped in two packages."""
    return hashlib.sha1(np.ascontiguousarray(pcm).tobytes()).hexdigest()
