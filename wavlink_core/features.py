"""Whisper log-mel features, for fixed 30-s windows or dynamic (shorter) lengths.

The recipe is openai-whisper's ``log_mel_spectrogram`` step for step, so with ``n_frames=3000``
the output matches ``transformers.WhisperFeatureExtractor`` (within ~1e-5). Dynamic length just
pads each clip to fewer frames: :func:`frames_for` keeps ``N_FFT // 2`` samples of zero padding
after the clip, so that the first frames of a dynamic mel equal those of the 30-s mel of the
same clip -- every frame, the last included (see ``tests/test_features.py``).
"""

from __future__ import annotations

import functools
import logging
import math

import numpy as np
import torch

from wavlink_core.audio import SAMPLE_RATE
from wavlink_core.errors import ConfigError

logger = logging.getLogger(__name__)


def exact_div(x: int, y: int) -> int:
    """Return ``x // y``, asserting that ``y`` divides ``x`` (as openai-whisper does)."""
    assert x % y == 0, f"{x} is not divisible by {y}"
    return x // y


N_FFT = 400  # 25 ms window
HOP_LENGTH = 160  # 10 ms hop
CHUNK_SECONDS = 30
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480000 samples in a 30-s chunk
N_FRAMES = exact_div(N_SAMPLES, HOP_LENGTH)  # 3000 frames in a mel spectrogram input
# 1 s: below that a clip gives too few encoder positions (50) for stable pooling, while padding
# it costs next to nothing; AudioCaps/Clotho-style clips are rarely shorter anyway.
MIN_FRAMES = 100
VALID_N_MELS = (80, 128)  # Whisper v1/v2 and v3 front ends


@functools.cache
def mel_filters(n_mels: int) -> torch.Tensor:
    """Slaney mel filterbank, built the way openai-whisper built ``mel_filters.npz``.

    Args:
        n_mels: 80 or 128.

    Returns:
        Float32 tensor of shape (n_mels, N_FFT // 2 + 1) = (n_mels, 201); cached, do not modify.
    """
    if n_mels not in VALID_N_MELS:
        raise ConfigError(f"n_mels must be one of {VALID_N_MELS}, got {n_mels!r}")
    import librosa  # lazy: librosa's import is slow and only needed once per n_mels

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=n_mels)).float()


def log_mel_spectrogram(
    wave: torch.Tensor | np.ndarray, n_mels: int = 80, n_frames: int = N_FRAMES
) -> torch.Tensor:
    """Whisper's log-mel spectrogram of 16-kHz audio, padded or trimmed to ``n_frames`` frames.

    Args:
        wave: Float 16-kHz waveform(s), shape (N,) or (B, N); zero-padded or trimmed to
            ``n_frames * HOP_LENGTH`` samples.
        n_mels: 80 or 128 mel bins.
        n_frames: Output frames (10 ms each); 3000 = Whisper's 30-s window.

    Returns:
        Float32 tensor of shape (B, n_mels, n_frames), or (n_mels, n_frames) for 1-D input, on
        the device of ``wave``; values in about [-1.5, 2.5].
    """
    if not isinstance(n_frames, int) or n_frames < 2:  # reflect padding needs > N_FFT // 2 samples
        raise ConfigError(f"n_frames must be an integer >= 2, got {n_frames!r}")
    x = torch.as_tensor(wave).float()
    if x.dim() not in (1, 2):
        raise ConfigError(f"wave must have shape (N,) or (B, N), got {tuple(x.shape)}")
    filters = mel_filters(n_mels).to(x.device)
    squeeze = x.dim() == 1
    x = x.reshape(-1, x.shape[-1])
    n_samples = n_frames * HOP_LENGTH
    x = (
        x[:, :n_samples]
        if x.shape[1] >= n_samples
        else torch.nn.functional.pad(x, (0, n_samples - x.shape[1]))
    )

    window = torch.hann_window(N_FFT, device=x.device)
    stft = torch.stft(
        x, N_FFT, HOP_LENGTH, window=window, center=True, pad_mode="reflect", return_complex=True
    )
    # Whisper drops the last of the n_frames + 1 STFT frames; contiguous keeps the matmul on its fast path.
    power = (stft[..., :-1].abs() ** 2).contiguous()
    log_spec = torch.clamp(filters @ power, min=1e-10).log10()
    # Per example: a batch-wide max (as in HF's batched path) would let a loud clip change a quiet one.
    peak = log_spec.amax(dim=(-2, -1), keepdim=True)
    log_spec = (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
    return log_spec[0] if squeeze else log_spec


def frames_for(num_samples: int, *, min_frames: int = MIN_FRAMES, pad_to_30s: bool = False) -> int:
    """Mel frames to encode a clip of ``num_samples`` 16-kHz samples with dynamic length.

    Counts the frames covering the clip plus ``N_FFT // 2`` samples of zero padding (so the last
    frame's reflect padding sees only zeros and the frames equal the 30-s mel's), rounded up to
    even (Whisper's conv stem has stride 2: encoder positions = frames // 2), clamped to
    [min_frames, N_FRAMES]; longer clips are trimmed to 30 s by :func:`log_mel_spectrogram`.

    Args:
        num_samples: Clip length in samples at 16 kHz (>= 0).
        min_frames: Lower bound, even, in [2, N_FRAMES]; default 100 frames = 1 s.
        pad_to_30s: Return N_FRAMES (3000), Whisper's fixed window.

    Returns:
        An even frame count in [min_frames, 3000].
    """
    if not isinstance(min_frames, int) or min_frames % 2 or not 2 <= min_frames <= N_FRAMES:
        raise ConfigError(
            f"min_frames must be an even integer in [2, {N_FRAMES}], got {min_frames!r}"
        )
    if num_samples < 0:
        raise ConfigError(f"num_samples must be >= 0, got {num_samples!r}")
    if pad_to_30s:
        return N_FRAMES
    frames = math.ceil((num_samples + N_FFT // 2) / HOP_LENGTH)
    frames += frames % 2
    return max(min_frames, min(frames, N_FRAMES))


def batch_log_mel(
    waves: list[np.ndarray] | list[torch.Tensor],
    n_mels: int = 80,
    pad_to_30s: bool = False,
    *,
    min_frames: int = MIN_FRAMES,
) -> tuple[torch.Tensor, list[int]]:
    """Log-mels of a batch of clips, all padded to the longest clip's frame count.

    Padding frames are identical to those of Whisper's 30-s padding, and so is every valid frame:
    for each example, ``mels[i, :, :T]`` equals ``log_mel_spectrogram(waves[i])[:, :T]``.

    Args:
        waves: B float 16-kHz waveforms of shape (N_i,), e.g. from :func:`~wavlink_core.audio.load_audio`.
        n_mels: 80 or 128.
        pad_to_30s: Pad every example to 3000 frames (Whisper's fixed window).
        min_frames: See :func:`frames_for`.

    Returns:
        ``(mels, frames)``: float32 tensor (B, n_mels, T) with T = max(frames), and each
        example's frame count from :func:`frames_for` (encoder positions = frames // 2).
    """
    if len(waves) == 0:
        raise ConfigError("waves must hold at least one waveform, got an empty list")
    flat = [torch.as_tensor(w).float() for w in waves]
    if any(w.dim() != 1 for w in flat):
        raise ConfigError(
            f"each wave must be 1-D (N,), got shapes {[tuple(w.shape) for w in flat]}"
        )
    frames = [frames_for(w.shape[0], min_frames=min_frames, pad_to_30s=pad_to_30s) for w in flat]
    n_samples = max(frames) * HOP_LENGTH
    batch = torch.zeros(len(flat), n_samples, device=flat[0].device)
    for row, w in zip(batch, flat):
        row[: min(w.shape[0], n_samples)] = w[:n_samples]
    return log_mel_spectrogram(batch, n_mels, max(frames)), frames
