"""Duplicate finder: re-encoded, trimmed and renamed copies group; other recordings do not."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.library.conftest import SMALL, SR
from wavlink_core.library import Library
from wavlink_core.library.verify import aligned_similarity


def bursts(seed: int, seconds: float = 3.0) -> np.ndarray:
    """Noise in bursts of random length and loudness: a sound with a shape in time."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    envelope = np.repeat(rng.uniform(0.0, 1.0, n // 1600 + 1), 1600)[:n]
    return (0.3 * envelope * rng.standard_normal(n)).astype(np.float32)


def test_aligned_similarity_finds_a_trimmed_copy_and_rejects_other_signals():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 16))
    assert aligned_similarity(a, a[40:280]) == pytest.approx(1.0)
    assert aligned_similarity(a[40:280], a) == pytest.approx(1.0)
    assert aligned_similarity(a, rng.standard_normal((290, 16))) < 0.3
    assert aligned_similarity(a, a[:100]) == 0.0  # an excerpt under half the length is no copy


def test_versions_of_one_clip_group_together_and_apart_from_others(tmp_path, test_model):
    root = tmp_path / "s"
    root.mkdir()
    clip = bursts(1)
    sf.write(root / "door.wav", clip, SR)
    sf.write(root / "door.flac", clip, SR)  # lossless re-encode
    sf.write(root / "door_48k.wav", np.repeat(clip, 3), 48000)  # another rate, same sound
    sf.write(root / "door_trim.wav", clip[SR // 4 : -SR // 4], SR)
    shutil.copy(root / "door.wav", root / "renamed.wav")
    sf.write(root / "other.wav", bursts(2), SR)
    sf.write(root / "other2.wav", bursts(3), SR)
    with Library(tmp_path / "lib.db", test_model, SMALL) as lib:
        lib.add([root])
        groups = lib.duplicates()
    names = [sorted(p.rsplit("/", 1)[1] for p in g) for g in groups]
    assert names == [["door.flac", "door.wav", "door_48k.wav", "door_trim.wav", "renamed.wav"]]


def test_duplicates_refuses_a_threshold_outside_0_1(tmp_path, test_model):
    with Library(tmp_path / "lib.db", test_model) as lib:
        with pytest.raises(ValueError, match="threshold=1.5"):
            lib.duplicates(1.5)
