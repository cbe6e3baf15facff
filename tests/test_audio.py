"""wavlink_core.audio: every input kind -> float32 mono 16 kHz, and every failure -> one AudioError."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch

from wavlink_core.audio import SAMPLE_RATE, AudioInfo, load_audio, load_audio_with_info, probe_audio
from wavlink_core.errors import AudioError

requires_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")


def tone(rate: int, seconds: float = 1.0, freq: float = 1000.0, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(
        np.float32
    )


def check_tone(y: np.ndarray, seconds: float = 1.0, amp: float = 0.5, tol_samples: int = 2) -> None:
    """Invariants of a loaded 1-kHz tone: dtype, shape, length, frequency and amplitude."""
    assert y.dtype == np.float32 and y.ndim == 1 and y.flags.c_contiguous
    assert abs(y.size - seconds * SAMPLE_RATE) <= tol_samples, y.size
    body = y[SAMPLE_RATE // 10 : -SAMPLE_RATE // 10]  # skip codec/resampler edge transients
    spectrum = np.abs(np.fft.rfft(body * np.hanning(body.size)))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / body.size - 1000.0) < 5.0
    assert np.sqrt(2 * np.mean(body**2)) == pytest.approx(amp, rel=0.05)


FILES = [  # format, subtype, extension, rate, channels
    ("WAV", "PCM_16", "wav", 44100, 2),
    ("WAV", "PCM_24", "wav", 8000, 1),
    ("WAV", "FLOAT", "wav", 48000, 1),
    ("FLAC", "PCM_16", "flac", 22050, 2),
    ("OGG", "VORBIS", "ogg", 44100, 2),
    ("OGG", "OPUS", "opus", 48000, 1),
    ("MP3", "MPEG_LAYER_III", "mp3", 44100, 2),
]


@pytest.mark.parametrize(
    "fmt,subtype,ext,rate,channels", FILES, ids=[f"{f[2]}-{f[1]}-{f[3]}" for f in FILES]
)
def test_files(tmp_path, fmt, subtype, ext, rate, channels):
    path = tmp_path / f"tone.{ext}"
    sf.write(
        path, np.repeat(tone(rate)[:, None], channels, axis=1), rate, format=fmt, subtype=subtype
    )
    y, info = load_audio_with_info(path)
    check_tone(y)
    second = pytest.approx(1.0, abs=1e-3)
    assert info == AudioInfo(str(path), second, rate, channels, fmt, subtype, declared_s=second)
    assert probe_audio(str(path)) == info
    np.testing.assert_array_equal(load_audio(path.read_bytes()), y)  # raw bytes decode identically


def test_describe(tmp_path):
    sf.write(tmp_path / "a.wav", np.stack([tone(48000, 2.5)] * 2, 1), 48000)
    assert load_audio_with_info(tmp_path / "a.wav")[1].describe() == "48 kHz stereo 2.5 s"
    assert probe_audio(tone(22050), 22050).describe() == "22.05 kHz mono 1.0 s"


@pytest.mark.parametrize("rate", [8000, 11025, 12345, 22050, 44100, 48000, 96000])
def test_any_input_rate(rate):
    check_tone(load_audio(tone(rate), rate))


@pytest.mark.parametrize(
    "dtype,scale,offset",
    [
        (np.int8, 127, 0),
        (np.int16, 32767, 0),
        (np.int32, 2**31 - 1, 0),
        (np.uint8, 127, 128),
        (np.float16, 1, 0),
        (np.float32, 1, 0),
        (np.float64, 1, 0),
    ],
)
def test_array_dtypes_are_scaled_by_range(dtype, scale, offset):
    x = np.round(tone(16000) * scale) + offset if scale > 1 else tone(16000)
    check_tone(load_audio(x.astype(dtype), 16000), tol_samples=0)


def test_channel_layouts_and_downmix_by_mean():
    left, right = tone(44100), tone(44100, amp=0.2)
    samples_first = np.stack(
        [left, right], axis=1
    )  # (samples, channels): soundfile / Gradio layout
    expected = load_audio(samples_first, 44100)
    check_tone(expected, amp=0.35)
    np.testing.assert_array_equal(
        load_audio(samples_first.T.copy(), 44100), expected
    )  # (channels, samples)
    np.testing.assert_array_equal(
        load_audio(torch.from_numpy(samples_first.T.copy()), 44100), expected
    )
    check_tone(
        load_audio(np.stack([left, 0 * left], axis=1), 44100), amp=0.25
    )  # mean, not sum or first


def test_gradio_tuple_and_tensors():
    pcm = (np.stack([tone(48000)] * 2, axis=1) * 32767).astype(
        np.int16
    )  # Gradio: int16 (samples, channels)
    check_tone(load_audio((48000, pcm)))
    check_tone(load_audio((16000, tone(16000))), tol_samples=0)
    check_tone(load_audio(torch.from_numpy(tone(16000)).to(torch.bfloat16), 16000), tol_samples=0)
    with pytest.raises(AudioError, match="disagrees"):
        load_audio((48000, pcm), 16000)


def test_clipping_is_allowed():
    check_tone(load_audio(tone(16000, amp=1.5), 16000), amp=1.5, tol_samples=0)


def raises(source_name: str, reason: str):
    return pytest.raises(AudioError, match=f"^{re.escape(source_name)}: .*{reason}")


def test_file_errors(tmp_path):
    with raises(str(tmp_path / "missing.wav"), "not found"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with raises(str(tmp_path / "empty.wav"), r"empty file \(0 bytes\)"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 50)
    with raises(str(tmp_path / "text.wav"), "cannot decode: not an audio file"):
        load_audio(tmp_path / "text.wav")
    sf.write(tmp_path / "good.wav", tone(16000), 16000)
    (tmp_path / "trunc.wav").write_bytes(
        (tmp_path / "good.wav").read_bytes()[:30]
    )  # header cut off
    with raises(str(tmp_path / "trunc.wav"), "cannot decode"):
        probe_audio(tmp_path / "trunc.wav")
    with raises("<bytes>", "cannot decode"):
        load_audio(b"RIFF....WAVEfmt nonsense")
    with raises(str(tmp_path), "directory"):
        load_audio(tmp_path)


def test_silent_nan_empty(tmp_path):
    sf.write(tmp_path / "silence.flac", np.zeros(16000), 16000)
    with raises(str(tmp_path / "silence.flac"), "silent"):
        load_audio(tmp_path / "silence.flac")
    with raises("<array>", "silent"):
        load_audio(np.zeros((2, 8000), np.int16), 8000)
    with raises("<array>", "silent after averaging 2 channels.*cancel out"):  # opposite phase
        load_audio(np.stack([tone(16000), -tone(16000)]), 16000)
    bad = tone(16000)
    bad[[5, 9]] = [np.nan, np.inf]
    with raises("clip-7", r"2 non-finite values \(NaN/Inf\)"):
        load_audio(bad, 16000, name="clip-7")
    with raises("<array>", r"empty \(0 samples"):
        load_audio(np.zeros(0, np.float32), 16000)
    sf.write(tmp_path / "zero_frames.wav", np.zeros((0, 1)), 16000)
    with raises(str(tmp_path / "zero_frames.wav"), r"empty \(0 samples\)"):
        load_audio(tmp_path / "zero_frames.wav")


def test_too_long_is_checked_from_header_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "two_seconds.wav"
    sf.write(path, tone(16000, seconds=2.0), 16000)
    with raises(str(path), r"too long: 2\.0 s > max_seconds=1"):
        load_audio(path, max_seconds=1.0)
    with raises("<array>", "too long"):
        load_audio(tone(8000, seconds=2.0), 8000, max_seconds=1.5)
    check_tone(load_audio(path, max_seconds=None), seconds=2.0, tol_samples=0)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the audio was decoded although the header is enough")

    monkeypatch.setattr(sf, "read", no_decoding)
    with raises(str(path), "too long"):
        load_audio(path, max_seconds=0.5)
    with raises("<bytes>", "too long"):
        load_audio(path.read_bytes(), max_seconds=0.5)


def test_array_argument_errors():
    with raises("<array>", "sampling_rate is required"):
        load_audio(tone(16000))
    for rate in (0, -16000, 10**9, 44100.5, True):
        with raises("<array>", f"invalid sampling rate {re.escape(repr(rate))}"):
            load_audio(tone(16000), rate)
    with raises("<array>", "unsupported dtype int64; valid: int8"):
        load_audio(np.arange(16000), 16000)
    with raises("<array>", "unsupported source type list"):
        load_audio([0.1, 0.2], 16000)


def test_ffmpeg_missing_names_the_debian_package(tmp_path, monkeypatch):
    (tmp_path / "voice.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with raises(str(tmp_path / "voice.m4a"), r"without ffmpeg.*Debian package 'ffmpeg'"):
        load_audio(tmp_path / "voice.m4a")


@requires_ffmpeg
def test_ffmpeg_decodes_m4a(tmp_path):
    sf.write(tmp_path / "src.wav", np.stack([tone(44100)] * 2, 1), 44100)
    m4a = tmp_path / "voice.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", tmp_path / "src.wav", "-c:a", "aac", "-b:a", "128k", m4a],
        check=True,
    )
    y, info = load_audio_with_info(m4a)
    check_tone(y, tol_samples=1200)  # AAC adds priming/padding samples that ffmpeg may keep
    assert (info.sampling_rate, info.channels, info.subtype) == (44100, 2, "aac")
    np.testing.assert_allclose(load_audio(m4a.read_bytes()), y)
    with raises(str(m4a), "too long"):
        load_audio(m4a, max_seconds=0.5)


def test_one_array_is_one_clip_in_either_layout():
    """A 2-D array is one multichannel clip, never a batch; the layout is detected or stated."""
    stereo = np.stack([tone(16000, 5.0), tone(16000, 5.0, amp=0.3)], axis=1)  # (80000, 2)
    expected = load_audio(stereo, 16000)
    assert expected.shape == (80000,)
    np.testing.assert_array_equal(load_audio(stereo.T.copy(), 16000), expected)
    np.testing.assert_array_equal(load_audio(stereo.T.copy(), 16000, channels_first=True), expected)
    np.testing.assert_array_equal(load_audio(stereo, 16000, channels_first=False), expected)
    sixteen = np.tile(tone(16000), (16, 1))  # 16 mics: beyond detection, fine when stated
    check_tone(load_audio(sixteen, 16000, channels_first=True), tol_samples=0)
    assert probe_audio(sixteen, 16000, channels_first=True).channels == 16


@pytest.mark.parametrize("shape", [(16, 16000), (4000, 3000), (4, 4), (8, 8), (2, 2, 16000)])
def test_ambiguous_shapes_say_what_to_pass(shape):
    x = np.full(shape, 0.1, np.float32)
    what = "channels_first=True" if len(shape) == 2 else "list of arrays"
    with raises("<array>", rf"(ambiguous|unsupported) shape {re.escape(str(shape))}.*{what}"):
        load_audio(x, 16000)
    with raises("<array>", "at most 64"):
        load_audio(np.full((16000, 2), 0.1, np.float32), 16000, channels_first=True)


def test_anti_phase_stereo_is_refused_as_cancelled():
    """A mix > 60 dB below its channels is silent in effect, even with a small residual."""
    left = tone(16000)
    residual = 1.5e-5 * np.random.default_rng(0).standard_normal(left.size).astype(np.float32)
    with raises("<array>", r"silent after averaging 2 channels.*8\d dB below.*use one channel"):
        load_audio(np.stack([left, -left + 2 * residual], axis=1), 16000)
    with raises("<array>", "cancel out"):  # Gradio's int16 (samples, channels), one LSB apart
        pcm = (left * 32767).astype(np.int16)
        load_audio((16000, np.stack([pcm, -pcm - 1], axis=1)))
    nearly = load_audio(np.stack([left, -0.98 * left], axis=1), 16000)  # -40 dB: quiet, kept
    check_tone(nearly, amp=0.005, tol_samples=0)
    rng = np.random.default_rng(1)
    wide = 0.1 * rng.standard_normal((16000, 2)).astype(np.float32)  # decorrelated: -3 dB
    assert load_audio(wide, 16000).shape == (16000,)


def _mp3(path, seconds: float, amp: float = 0.5, rate: int = 44100):
    sf.write(path, np.stack([tone(rate, seconds, amp=amp)] * 2, axis=1), rate, format="MP3")
    return path


def test_truncated_mp3_reports_decoded_duration_and_warns(tmp_path, caplog):
    full = _mp3(tmp_path / "full.mp3", 5.0).read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full[: len(full) * 2 // 5])
    assert probe_audio(cut).duration_s == pytest.approx(5.0, abs=0.05)  # the header's claim
    with caplog.at_level("WARNING", logger="wavlink_core.audio"):
        y, info = load_audio_with_info(cut)
    assert info.duration_s == pytest.approx(y.size / SAMPLE_RATE, abs=0.01)
    assert info.duration_s < 2.5
    assert info.declared_s == pytest.approx(5.0, abs=0.05)
    assert info.truncated and not probe_audio(tmp_path / "full.mp3").truncated
    assert info.describe() == (
        f"44.1 kHz stereo {info.duration_s:.1f} s (the header says 5.0 s: truncated or corrupt)"
    )
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"{cut}: truncated")
    assert "of the 5.00 s the header declares" in warning
    caplog.clear()
    load_audio(tmp_path / "full.mp3")
    assert not caplog.records


def test_corrupt_mp3_decoding_far_beyond_full_scale_is_refused(tmp_path):
    clean = _mp3(tmp_path / "loud.mp3", 3.0, amp=0.99)
    assert load_audio(clean).size > 0  # codec overshoot of a full-scale tone is not corruption
    data = clean.read_bytes()
    refused = 0
    for seed in range(6):  # garbage bytes in the middle of the stream, as a damaged copy has
        rng = np.random.default_rng(seed)
        bad = bytearray(data)
        for i in rng.integers(len(bad) // 5, len(bad), len(bad) // 50):
            bad[i] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{seed}.mp3"
        path.write_bytes(bytes(bad))
        try:
            raw, _ = sf.read(path, dtype="float32")
        except RuntimeError:
            continue  # libsndfile gives up on this one: a decode error, tested elsewhere
        if np.abs(raw).max() > 4.0:
            refused += 1
            with raises(str(path), r"corrupt: the decoded MPEG_LAYER_III audio peaks at \d"):
                load_audio(path)
        else:
            assert np.abs(load_audio(path)).max() <= 4.0
    assert refused >= 1, "no seed produced a garbage decode; the fixture no longer tests the rule"
    float_wav = tmp_path / "hot.wav"  # float files may hold any level on purpose
    sf.write(float_wav, tone(16000, amp=8.0), 16000, subtype="FLOAT")
    check_tone(load_audio(float_wav), amp=8.0, tol_samples=0)
