"""The one audio loader of WavLink: any supported input -> float32 mono 16 kHz numpy array.

Every failure is a single :class:`~wavlink_core.errors.AudioError` whose message starts with the
source (file path, ``<array>``, ``<bytes>`` or the caller's ``name``) and states the reason.

Decoding: files and raw bytes go through libsndfile (``soundfile``: wav, flac, ogg/vorbis, opus,
mp3, aiff, ...); whatever libsndfile cannot read (m4a, aac, webm, mp4, ...) goes through the
``ffmpeg``/``ffprobe`` binaries when they are on PATH. Channels are averaged to mono and the result
is resampled with soxr (HQ). Durations are checked from the header before decoding, and the
decode itself is bounded too, so a file whose header lies still cannot fill memory.

One array or tensor is always ONE clip: a 2-D array is (samples, channels) or (channels, samples),
told apart by the channel axis being at most 8 long while the time axis is longer; any other 2-D
shape is ambiguous and refused unless ``channels_first`` states the layout. Batches are lists
(see :func:`wavlink_core.embed_audio`).

Decoded audio is checked, not trusted: the reported duration is what was decoded (a truncated file
states its full length in the header), a decoded length under half the declared one is logged as a
warning, a lossy stream that decodes far beyond full scale is refused as corrupt, and channels that
cancel when mixed to mono are refused as silent.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import numbers
import os
from collections.abc import Callable
from typing import Any, Union

import numpy as np
import soundfile as sf
import soxr

from wavlink_core.errors import AudioError, ConfigError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
DEFAULT_MAX_SECONDS = 600.0

AudioSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, np.ndarray, tuple, Any]

_MIN_RATE, _MAX_RATE = 1_000, 768_000  # 768 kHz is the highest rate any common converter offers
_MAX_CHANNELS = 8  # 7.1; also what tells the channel axis of a 2-D array from its time axis
_MAX_STATED_CHANNELS = 64  # with channels_first given; more is a batch or a transposed array
# A mono mix 60 dB (1/1000 in RMS) below its channels is cancellation, e.g. one channel inverted:
# real stereo loses at most a few dB when averaged, even with wide, decorrelated channels.
_CANCEL_RMS_RATIO = 1e-3
# Lossy decoders overshoot full scale only by their reconstruction ringing, a few dB on clipped
# masters (< 2.0); +12 dB (4.0) is reached only by garbage bitstreams (a corrupt mp3 gave 10.9).
_MAX_LOSSY_PEAK = 4.0
# Under half the header's length decoded: the file is cut off or the stream broke early.
_MIN_DECODED_FRACTION = 0.5
# -120 dBFS: below one LSB of 16-bit PCM, so only digital silence (or sub-LSB dither) counts as silent.
_SILENCE_PEAK = 1e-6
_INT_SCALE = {np.dtype(np.int8): 128.0, np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2.0**31}
_VALID_DTYPES = "int8, int16, int32, uint8, float16, float32, float64"
_SOUNDFILE_EXTS = {  # what libsndfile reads; ffmpeg adds AUDIO_EXTENSIONS' others
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".au",
    ".caf",
    ".w64",
    ".rf64",
}
# File names load_audio reads (the ffmpeg ones need ffmpeg): what a folder search should pick up.
AUDIO_EXTENSIONS = frozenset(_SOUNDFILE_EXTS | {".m4a", ".aac", ".webm", ".mp4", ".mka", ".wma"})
_Reader = Callable[
    [float | None], tuple[np.ndarray, int]
]  # max_seconds -> ((frames, channels), rate)


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What a source holds before conversion (header only for files).

    Attributes:
        source: The name used in messages: file path, ``<array>``, ``<bytes>`` or the given name.
        duration_s: Duration in seconds: what was decoded (from :func:`load_audio_with_info`) or
            what the header states (from :func:`probe_audio`, which decodes nothing); NaN when an
            ffmpeg-only container does not state it and nothing was decoded.
        sampling_rate: Original sampling rate in Hz.
        channels: Original number of channels.
        format: Container (``"WAV"``, ``"MP3"``, ``"ffmpeg:mov,mp4,..."``) or ``"array"``.
        subtype: Encoding (``"PCM_16"``, ``"VORBIS"``, the ffmpeg codec) or the array dtype.
        declared_s: Duration the header states (NaN when it states none); differs from
            ``duration_s`` after decoding a truncated or corrupt file.
    """

    source: str
    duration_s: float
    sampling_rate: int
    channels: int
    format: str
    subtype: str
    declared_s: float = math.nan

    def describe(self) -> str:
        """Human summary such as ``"48 kHz stereo 12.4 s"`` (the demo appends ``"→ 16 kHz mono"``)."""
        layout = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}-channel")
        text = f"{self.sampling_rate / 1000:g} kHz {layout} {self.duration_s:.1f} s"
        if self.truncated:
            text += f" (the header says {self.declared_s:.1f} s: truncated or corrupt)"
        return text

    @property
    def truncated(self) -> bool:
        """Under half of the declared duration was decoded (False when either is unknown)."""
        return self.duration_s < _MIN_DECODED_FRACTION * self.declared_s  # NaN compares False


def load_audio(
    source: AudioSource,
    sampling_rate: int | None = None,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    name: str | None = None,
    channels_first: bool | None = None,
) -> np.ndarray:
    """Load audio as a float32 mono 16 kHz waveform.

    Args:
        source: A path (str / os.PathLike) to an audio file; the file's raw ``bytes``; a numpy
            array or torch tensor holding ONE clip, of shape (samples,), (samples, channels) or
            (channels, samples): the channel axis is the one at most 8 long when the other is
            longer (other shapes are refused as ambiguous unless ``channels_first`` is given);
            int8/16/32 and uint8 scaled by their range, floats taken as they are (> 1 is allowed);
            or a Gradio ``(sampling_rate, array)`` tuple.
        sampling_rate: Rate in Hz of an array or tensor source (required there). Files and bytes
            use their header's rate; a different value given here is ignored with a warning.
        max_seconds: Longest accepted duration, checked before decoding; None disables it.
        name: Name for the source in error messages (default: the path, ``<array>`` or ``<bytes>``).
        channels_first: Layout of a 2-D array or tensor: True for (channels, samples), False for
            (samples, channels), None to detect it (see above). Ignored for other sources.

    Returns:
        Waveform of shape (samples,), float32, 16 kHz, mono (channel mean).

    Raises:
        AudioError: Missing, empty, undecodable, corrupt (a lossy stream decoding far beyond full
            scale), silent (also channels that cancel when averaged), non-finite or too long audio,
            an invalid or missing sampling rate, or an unsupported source type, dtype or shape.
        ConfigError: ``max_seconds`` is not positive.
    """
    return load_audio_with_info(
        source, sampling_rate, max_seconds=max_seconds, name=name, channels_first=channels_first
    )[0]


def load_audio_with_info(
    source: AudioSource,
    sampling_rate: int | None = None,
    *,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    name: str | None = None,
    channels_first: bool | None = None,
) -> tuple[np.ndarray, AudioInfo]:
    """Like :func:`load_audio`, also returning the :class:`AudioInfo` of the original input.

    The info's ``duration_s`` is the decoded duration and ``declared_s`` the header's; when under
    half the declared length decodes, the audio is still returned and a warning stating both
    durations is logged (a cut-off download still holds real audio).
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ConfigError(f"max_seconds must be > 0 or None, got {max_seconds!r}")
    info, read = _resolve(source, sampling_rate, name, channels_first)
    if max_seconds is not None and info.duration_s > max_seconds:  # NaN (unknown) compares False
        raise AudioError(
            f"{info.source}: too long: {info.duration_s:.1f} s > max_seconds={max_seconds:g} "
            "(raise max_seconds, or pass None to disable the limit)"
        )
    data, rate = read(max_seconds)
    if max_seconds is not None and data.shape[0] > max_seconds * rate:  # the header understated it
        raise AudioError(
            f"{info.source}: too long: more than max_seconds={max_seconds:g} s of audio "
            "(raise max_seconds, or pass None to disable the limit)"
        )
    decoded = dataclasses.replace(info, duration_s=data.shape[0] / rate)
    if decoded.truncated:
        logger.warning(
            "%s: truncated or corrupt: decoded %.2f s of the %.2f s the header declares; "
            "using the %.2f s decoded",
            info.source,
            decoded.duration_s,
            info.duration_s,
            decoded.duration_s,
        )
    return _finish(data, rate, decoded), decoded


def probe_audio(
    source: AudioSource,
    sampling_rate: int | None = None,
    *,
    name: str | None = None,
    channels_first: bool | None = None,
) -> AudioInfo:
    """Describe a source cheaply (files: header only, nothing decoded). Args as in :func:`load_audio`."""
    return _resolve(source, sampling_rate, name, channels_first)[0]


def _resolve(
    source: Any, sampling_rate: Any, name: str | None, channels_first: bool | None
) -> tuple[AudioInfo, _Reader]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(source)
        label = name or str(path)
        if not os.path.exists(path):
            raise AudioError(f"{label}: file not found")
        if os.path.isdir(path):
            raise AudioError(f"{label}: is a directory, not an audio file")
        if os.path.getsize(path) == 0:
            raise AudioError(f"{label}: empty file (0 bytes)")
        return _resolve_encoded(path, sampling_rate, label, os.path.splitext(path)[1].lower())
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        if len(source) == 0:
            raise AudioError(f"{label}: empty bytes (0 bytes)")
        return _resolve_encoded(bytes(source), sampling_rate, label, "")
    label = name or "<array>"
    if isinstance(
        source, tuple
    ):  # Gradio's numpy audio: (sampling_rate, int16 (samples, channels))
        if len(source) != 2 or source[1] is None:
            raise AudioError(
                f"{label}: a tuple source must be (sampling_rate, array), got {len(source)} items"
            )
        if sampling_rate is not None and sampling_rate != source[0]:
            raise AudioError(
                f"{label}: sampling_rate={sampling_rate!r} disagrees with the tuple's {source[0]!r}"
            )
        sampling_rate, source = source
    if hasattr(source, "detach") and hasattr(
        source, "numpy"
    ):  # torch.Tensor, without importing torch
        tensor = source.detach().cpu()
        source = (
            tensor.float() if tensor.is_floating_point() and tensor.dtype.itemsize < 4 else tensor
        ).numpy()
    if not isinstance(source, np.ndarray):
        raise AudioError(
            f"{label}: unsupported source type {type(source).__name__}; valid: path, bytes, "
            "numpy array, torch tensor, (sampling_rate, array) tuple"
        )
    return _resolve_array(source, sampling_rate, label, channels_first)


def _resolve_array(
    arr: np.ndarray, sampling_rate: Any, label: str, channels_first: bool | None
) -> tuple[AudioInfo, _Reader]:
    if sampling_rate is None:
        raise AudioError(
            f"{label}: sampling_rate is required for array input (got None); pass e.g. "
            "sampling_rate=16000 or a (sampling_rate, array) tuple"
        )
    rate = _check_rate(sampling_rate, label)
    if arr.dtype not in _INT_SCALE and arr.dtype != np.uint8 and arr.dtype.kind != "f":
        raise AudioError(f"{label}: unsupported dtype {arr.dtype}; valid: {_VALID_DTYPES}")
    if arr.size == 0:
        raise AudioError(f"{label}: empty (0 samples, shape {arr.shape})")
    frames = _frames_of(arr, label, channels_first)
    duration = frames.shape[0] / rate
    info = AudioInfo(
        label, duration, rate, frames.shape[1], "array", str(arr.dtype), declared_s=duration
    )
    return info, lambda _max_seconds: (_to_float32(frames), rate)


def _frames_of(arr: np.ndarray, label: str, channels_first: bool | None) -> np.ndarray:
    """The (frames, channels) view of one clip's 1-D or 2-D array."""
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim != 2:
        raise AudioError(
            f"{label}: unsupported shape {arr.shape}: one clip is (samples,), "
            "(samples, channels) or (channels, samples); pass a batch of clips as a list of arrays"
        )
    if channels_first is not None:
        frames = arr.T if channels_first else arr
        if frames.shape[1] > _MAX_STATED_CHANNELS:
            raise AudioError(
                f"{label}: shape {arr.shape} with channels_first={channels_first} means "
                f"{frames.shape[1]} channels; at most {_MAX_STATED_CHANNELS} are accepted "
                "(a batch of clips is a list of arrays)"
            )
        return frames
    short, long = sorted(arr.shape)
    if short <= _MAX_CHANNELS < long:
        return arr if arr.shape[1] == short else arr.T
    raise AudioError(
        f"{label}: ambiguous shape {arr.shape}: a 2-D array is one clip whose channel axis is "
        f"the one at most {_MAX_CHANNELS} long while the other is longer; pass "
        "channels_first=True for (channels, samples) or False for (samples, channels), "
        "or a list of arrays for a batch of clips"
    )


def _to_float32(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:  # unsigned 8-bit PCM is centred on 128
        return (x.astype(np.float32) - 128.0) / 128.0
    if x.dtype in _INT_SCALE:
        return x.astype(np.float32) / np.float32(_INT_SCALE[x.dtype])
    return x.astype(np.float32, copy=False)


def _resolve_encoded(
    data: str | bytes, sampling_rate: Any, label: str, ext: str
) -> tuple[AudioInfo, _Reader]:
    def opener() -> str | io.BytesIO:
        return data if isinstance(data, str) else io.BytesIO(data)

    try:
        header = sf.info(opener())
    except (RuntimeError, ValueError) as exc:
        from .audio_ffmpeg import resolve_ffmpeg  # imports this module: load it only when needed

        return resolve_ffmpeg(data, label, ext, getattr(exc, "error_string", str(exc)))
    rate = _check_rate(header.samplerate, label)
    if sampling_rate is not None and sampling_rate != rate:
        logger.warning(
            "%s: ignoring sampling_rate=%s, the header says %d Hz", label, sampling_rate, rate
        )
    duration = header.frames / rate
    info = AudioInfo(
        label, duration, rate, header.channels, header.format, header.subtype, duration
    )

    def read(max_seconds: float | None) -> tuple[np.ndarray, int]:
        limit = -1 if max_seconds is None else int(max_seconds * rate) + 1
        try:
            frames, _ = sf.read(opener(), frames=limit, dtype="float32", always_2d=True)
        except (RuntimeError, ValueError) as exc:
            raise AudioError(
                f"{label}: cannot decode: corrupt {header.format} data "
                f"(libsndfile: {getattr(exc, 'error_string', exc)})"
            ) from exc
        return frames, rate

    return info, read


def _check_rate(rate: Any, label: str) -> int:
    ok = (
        isinstance(rate, (numbers.Real, np.number))
        and not isinstance(rate, bool)
        and math.isfinite(rate)
    )
    if not ok or rate != int(rate) or not _MIN_RATE <= rate <= _MAX_RATE:
        raise AudioError(
            f"{label}: invalid sampling rate {rate!r}; valid: an integer number of Hz "
            f"from {_MIN_RATE} to {_MAX_RATE}"
        )
    return int(rate)


def _peak(x: np.ndarray) -> float:
    return max(float(x.max()), -float(x.min()))  # np.abs would copy the whole decode


def _mean_square(x: np.ndarray) -> float:
    flat = np.ascontiguousarray(x).reshape(-1)
    return float(np.dot(flat, flat)) / flat.size


def _finish(frames: np.ndarray, rate: int, info: AudioInfo) -> np.ndarray:
    """Validate (frames, channels) float32 audio, average the channels and resample to 16 kHz."""
    if frames.shape[0] == 0:
        raise AudioError(f"{info.source}: empty (0 samples)")
    mono = frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]
    if not np.isfinite(mono).all():  # a NaN/Inf in any channel reaches the mean
        bad = frames.size - int(np.isfinite(frames).sum())
        raise AudioError(
            f"{info.source}: {bad} non-finite values (NaN/Inf) in the audio; "
            "valid audio is finite"
        )
    # Integer PCM cannot exceed full scale, and float files or arrays may hold any level on
    # purpose; a lossy stream decoding this far beyond it is a corrupt bitstream read as noise.
    stored_as_float = info.format == "array" or info.subtype.upper() in ("FLOAT", "DOUBLE")
    if not stored_as_float and not info.subtype.startswith("pcm_f"):
        peak = _peak(frames)
        if peak > _MAX_LOSSY_PEAK:
            raise AudioError(
                f"{info.source}: corrupt: the decoded {info.subtype} audio peaks at {peak:.1f} "
                f"times full scale (a valid stream stays below {_MAX_LOSSY_PEAK:g}); "
                "re-encode it from its source or use another copy"
            )
    peak = _peak(mono)
    if peak < _SILENCE_PEAK and _peak(frames) < _SILENCE_PEAK:
        raise AudioError(
            f"{info.source}: silent (digital silence: peak {peak:.1e} < {_SILENCE_PEAK:g})"
        )
    if frames.shape[1] > 1:
        level, mix = _mean_square(frames), _mean_square(mono)
        if mix < _CANCEL_RMS_RATIO**2 * level:
            below = -10 * math.log10(max(mix, 1e-30) / level)
            raise AudioError(
                f"{info.source}: silent after averaging {frames.shape[1]} channels to mono: "
                f"the mix is {below:.0f} dB below the channels (more than "
                f"{-20 * math.log10(_CANCEL_RMS_RATIO):.0f} dB), so the channels cancel out "
                "(e.g. one is the other inverted); use one channel instead, e.g. array[:, 0]"
            )
    if rate != SAMPLE_RATE:
        mono = soxr.resample(np.ascontiguousarray(mono), rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
