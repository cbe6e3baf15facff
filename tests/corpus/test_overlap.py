"""Landmark fingerprint: finds a gain-changed, cropped copy; ignores unrelated audio."""

from __future__ import annotations

import numpy as np

from wavlink_core.corpus.overlap import find_overlaps


def _chirps(seed: int, seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = np.zeros_like(t)
    for _ in range(25):  # random tone blips: a peak-rich signal
        start, f = rng.uniform(0, seconds - 0.2), rng.uniform(200, 3800)
        m = (t >= start) & (t < start + 0.15)
        x[m] += np.sin(2 * np.pi * f * t[m])
    return (x * 0.3 + rng.standard_normal(t.size) * 0.01).astype(np.float32)


def test_finds_cropped_copy_and_ignores_others() -> None:
    src = _chirps(1)
    copy = src[8000:48000] * 0.5  # cropped by 0.5 s and 6 dB quieter
    corpus = {"corpus/a.flac": src, "corpus/b.flac": _chirps(2)}
    hits = find_overlaps(corpus, {"eval/x.wav": copy, "eval/y.wav": _chirps(3)})
    assert [(c, o) for c, o, _ in hits] == [("corpus/a.flac", "eval/x.wav")]
