"""Scene synthesis: sequences from different takes, mixtures at SNR, captions that say what is heard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from wavlink_core.corpus.scenes import _captions, mix_at_snr, room_irs, sequence, synthesize


def test_sequence_uses_different_takes_at_cadence() -> None:
    rng = np.random.default_rng(0)
    takes = [np.full(800, v, np.float32) for v in (0.1, 0.2, 0.3)]
    x = sequence(takes, gap=0.5, rel_jitter=0.1, seconds=4.0, rng=rng)
    assert x.size == 64000
    onsets = np.flatnonzero((np.abs(x[1:]) > 0) & (x[:-1] == 0))
    assert 5 <= onsets.size <= 9  # ~0.55 s apart over 4 s


def test_mix_at_snr() -> None:
    rng = np.random.default_rng(1)
    fg = rng.standard_normal(16000).astype(np.float32)
    bg = rng.standard_normal(4000).astype(np.float32)
    y = mix_at_snr(fg, bg, 10.0)
    noise = y - fg
    snr = 20 * np.log10(np.sqrt(np.mean(fg**2)) / np.sqrt(np.mean(noise**2)))
    assert abs(snr - 10.0) < 0.5


def test_room_irs_decay() -> None:
    for ir, rt60 in room_irs(2, seed=3):
        assert 0.2 <= rt60 <= 0.9 and np.abs(ir).max() == 1.0 and ir.size > 100


def test_captions_compose() -> None:
    assert (
        _captions("mixture", ["a dog barking", "rain falling", "bed"], None, False)[0]
        == "a dog barking with rain falling in the background"
    )
    assert (
        _captions("distant", ["a dog barking"], None, False)[0] == "a dog barking in the distance"
    )
    seq = _captions(
        "sequence", ["someone walking on gravel"], ("wind blowing", "outside in the wind"), False
    )
    assert "someone walking on gravel outside in the wind" in seq


def test_synthesize_keeps_splits_and_caches(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rows = []
    for split in ("train", "test"):
        for cat, phrase in (
            ("footsteps", "footsteps on gravel"),
            ("dog", "a dog barking"),
            ("rain", "rain falling"),
        ):
            for k in range(3):
                rel = f"clips/sfx/{split}_{cat}_{k}.flac"
                (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(tmp_path / rel, rng.standard_normal(4000).astype(np.float32) * 0.2, 16000)
                rows.append(
                    {
                        "path": rel,
                        "category": cat,
                        "captions": [phrase],
                        "modifiers": {"surface": "gravel"},
                        "group_id": f"p:{cat}{split}",
                        "licence": "CC0",
                        "source_package": "p",
                        "subset": "sfx",
                        "synthetic": False,
                        "split": split,
                        "audio_sha1": rel,
                    }
                )
    made = synthesize(rows, tmp_path, 12, seed=1)
    assert made and all(r["synthetic"] for r in made)
    by_group = {r["group_id"]: r["split"] for r in rows}
    assert all(r["split"] == by_group[r["group_id"]] for r in made)
    assert all(3 <= len(r["captions"]) <= 5 for r in made)
    assert synthesize(rows, tmp_path, 12, seed=1) == made  # cached
