"""wavlink_core.features: Whisper log-mels, checked against transformers, and dynamic-length mels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor

from wavlink_core.errors import ConfigError
from wavlink_core.features import (
    HOP_LENGTH,
    MIN_FRAMES,
    N_FFT,
    N_FRAMES,
    N_SAMPLES,
    batch_log_mel,
    exact_div,
    frames_for,
    log_mel_spectrogram,
    mel_filters,
)


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise with a 4-Hz syllable envelope: broadband and loud right up to its last sample."""
    rng = np.random.default_rng(seed)
    n = round(seconds * 16000)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * np.arange(n) / 16000)
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def test_constants_match_whisper():
    assert (N_FFT, HOP_LENGTH, N_SAMPLES, N_FRAMES) == (400, 160, 480000, 3000)
    assert exact_div(480000, 160) == 3000
    with pytest.raises(AssertionError):
        exact_div(10, 3)


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize("seconds", [7.0, 30.0])
def test_matches_transformers_whisper_feature_extractor(n_mels, seconds):
    wave = speechlike(seconds, seed=n_mels)
    extractor = WhisperFeatureExtractor(
        feature_size=n_mels, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400
    )
    expected = extractor(wave, sampling_rate=16000, return_tensors="np").input_features[0]
    ours = log_mel_spectrogram(wave, n_mels)
    assert ours.shape == (n_mels, N_FRAMES) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-4)


def test_mel_filters_shape_cache_and_validation():
    assert mel_filters(80).shape == (80, 201) and mel_filters(128).shape == (128, 201)
    assert mel_filters(80) is mel_filters(80)
    with pytest.raises(ConfigError, match=r"n_mels must be one of \(80, 128\), got 64"):
        mel_filters(64)


def test_batch_input_uses_a_per_example_max():
    loud, quiet = speechlike(5.0, seed=1), speechlike(5.0, seed=2) * 1e-2  # 40 dB apart
    batch = log_mel_spectrogram(torch.from_numpy(np.stack([loud, quiet])), n_frames=600)
    assert batch.shape == (2, 80, 600)
    torch.testing.assert_close(
        batch[1], log_mel_spectrogram(quiet, n_frames=600), rtol=0, atol=1e-5
    )
    # A batch-wide max would have clamped the quiet clip at the loud clip's floor, batch[0].min().
    assert batch[1].min() < batch[0].min() - 0.1


def test_log_mel_trims_and_pads_and_validates():
    wave = speechlike(2.0)
    assert log_mel_spectrogram(wave, n_frames=150).shape == (80, 150)  # trimmed to 1.5 s
    torch.testing.assert_close(
        log_mel_spectrogram(wave, n_frames=150), log_mel_spectrogram(wave[:24000], n_frames=150)
    )
    with pytest.raises(ConfigError, match="n_frames must be an integer >= 2, got 1"):
        log_mel_spectrogram(wave, n_frames=1)
    with pytest.raises(ConfigError, match=r"shape \(N,\) or \(B, N\), got \(1, 1, 32000\)"):
        log_mel_spectrogram(wave[None, None])


@pytest.mark.parametrize(
    "num_samples,expected",
    [
        (0, MIN_FRAMES),
        (16000, 102),
        (48000, 302),
        (47800, 300),
        (47801, 302),
        (160 * 2999, N_FRAMES),
        (10**7, N_FRAMES),
    ],
)
def test_frames_for(num_samples, expected):
    frames = frames_for(num_samples)
    assert frames == expected and frames % 2 == 0
    assert frames == N_FRAMES or frames * HOP_LENGTH >= num_samples + N_FFT // 2
    assert frames_for(num_samples, pad_to_30s=True) == N_FRAMES
    assert frames_for(num_samples, min_frames=2) <= frames


def test_frames_for_validates():
    with pytest.raises(ConfigError, match="min_frames must be an even integer in"):
        frames_for(100, min_frames=3)
    with pytest.raises(ConfigError, match="num_samples must be >= 0, got -1"):
        frames_for(-1)


@pytest.mark.parametrize(
    "num_samples", [16000, 47800, 48000, 48007, 48160, 100 * 160 - 1, 29 * 16000 + 123]
)
def test_dynamic_mel_equals_the_30s_mel_on_every_frame(num_samples):
    wave = speechlike(num_samples / 16000)[:num_samples]
    full = log_mel_spectrogram(wave)
    frames = frames_for(num_samples, min_frames=2)
    torch.testing.assert_close(
        log_mel_spectrogram(wave, n_frames=frames), full[:, :frames], rtol=0, atol=1e-5
    )


def test_without_headroom_only_the_last_frame_differs():
    """Documents why frames_for adds N_FFT // 2 samples: with the clip ending within 40 samples of
    the cut, the last frame's reflect padding mirrors the clip instead of zeros."""
    for padding in (0, 20, 41, 200):
        frames = 300
        wave = speechlike(3.0)[: frames * HOP_LENGTH - padding]
        diff = (
            (log_mel_spectrogram(wave, n_frames=frames) - log_mel_spectrogram(wave)[:, :frames])
            .abs()
            .amax(0)
        )
        differing = torch.nonzero(diff > 1e-5).flatten().tolist()
        assert differing == ([frames - 1] if padding < 41 else []), (padding, differing)


def test_batch_log_mel_pads_to_the_longest_clip():
    waves = [speechlike(s, seed=i) for i, s in enumerate([0.3, 2.0, 4.5])]
    mels, frames = batch_log_mel(waves)
    assert frames == [MIN_FRAMES, 202, 452] and mels.shape == (3, 80, 452)
    for mel, wave in zip(mels, waves):  # padding frames are Whisper's 30-s padding frames too
        torch.testing.assert_close(mel, log_mel_spectrogram(wave)[:, :452], rtol=0, atol=1e-5)
    mels30, frames30 = batch_log_mel(waves, 128, pad_to_30s=True)
    assert mels30.shape == (3, 128, N_FRAMES) and frames30 == [N_FRAMES] * 3
    long_mels, long_frames = batch_log_mel([speechlike(31.0)])
    assert long_frames == [N_FRAMES] and long_mels.shape == (1, 80, N_FRAMES)
    with pytest.raises(ConfigError, match="at least one waveform"):
        batch_log_mel([])
