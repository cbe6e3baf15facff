"""Fixtures of the library tests: tiny generated sound folders (numpy + soundfile), no real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavlink_core.library import LibraryConfig

SR = 16000
# Short segments, so a 9-s clip has segments without costing a long encode.
SMALL = LibraryConfig(segment_s=4.0, hop_s=2.0, max_seconds=20.0, batch_files=2)


def tone(freq: float, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def write_clips(folder: Path, n: int, seconds: float = 1.0) -> list[Path]:
    """``n`` distinct tones as wav files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"tone_{i:02d}.wav"
        sf.write(path, tone(200 + 150 * i, seconds, seed=i), SR)
        paths.append(path)
    return paths


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    """Three good clips (one long enough for segments, in a sub-folder) and four bad files."""
    root = tmp_path / "sounds"
    write_clips(root, 2)
    (root / "sub").mkdir()
    sf.write(root / "sub" / "long.flac", tone(1000, 9.0), SR)
    (root / "corrupt.wav").write_bytes(b"RIFF this is not audio at all")
    (root / "empty.mp3").write_bytes(b"")
    sf.write(root / "silent.wav", np.zeros(SR, np.float32), SR)
    sf.write(root / "too_long.wav", tone(300, 21.0), SR)
    (root / "notes.txt").write_text("not audio, not looked at")
    return root


@pytest.fixture(params=["lib.db", "lib.lance"], ids=["sqlite-vec", "lancedb"])
def db_name(request) -> str:
    """A library name of each store kind: a file is sqlite-vec, a ``.lance`` folder is LanceDB."""
    return request.param
