"""Signal-level check that two files hold the same recording, allowing a trim.

Embeddings are made to be invariant to what a sound *is*, not to how it was stored: two dogs
barking score as high as a clip and its mp3. So the duplicate finder only takes candidate pairs
from the index and confirms each here: the shorter file's log-mel spectrogram is slid along the
longer one, and the best normalised correlation (over time and mel bands, per-band means removed)
is the pair's score. Lossy codecs keep the mel envelope (scores near 1); a different recording of
the same kind of sound does not line up frame by frame.
"""

from __future__ import annotations

import numpy as np

from ..audio import load_audio
from ..features import HOP_LENGTH, log_mel_spectrogram

N_MELS = 80
POOL = 2  # frames averaged: 20-ms resolution, enough for alignment and half the work


def mel_profile(path: str, max_seconds: float | None) -> np.ndarray:
    """(frames, N_MELS) log-mel of a file at 20-ms steps, each band centred on its mean."""
    wave = load_audio(path, max_seconds=max_seconds)
    frames = max(2, len(wave) // HOP_LENGTH)
    mel = log_mel_spectrogram(wave, N_MELS, frames).numpy().T
    mel = (
        mel[: len(mel) // POOL * POOL].reshape(-1, POOL, N_MELS).mean(1)
        if len(mel) >= POOL
        else mel
    )
    return mel - mel.mean(0, keepdims=True)


def aligned_similarity(a: np.ndarray, b: np.ndarray, min_overlap: float = 0.5) -> float:
    """Best normalised correlation of the shorter profile against every offset in the longer.

    Returns 0.0 when the shorter one is under ``min_overlap`` of the longer one's length (a short
    excerpt of a long file is not a duplicate of it).
    """
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 2 or len(short) < min_overlap * len(long):
        return 0.0
    n, m = len(long), len(short)
    size = 1 << int(np.ceil(np.log2(n + m)))
    # Cross-correlation of every band at once; summed over bands it is <short, window of long>.
    spec = np.fft.rfft(long, size, axis=0) * np.conj(np.fft.rfft(short, size, axis=0))
    corr = np.fft.irfft(spec, size, axis=0)[: n - m + 1].sum(1)
    energy = np.concatenate([[0.0], np.cumsum((long**2).sum(1))])
    window_norm = np.sqrt(np.maximum(energy[m:] - energy[:-m], 1e-12))[: n - m + 1]
    return float(np.max(corr / (window_norm * np.sqrt(max((short**2).sum(), 1e-12)))))
