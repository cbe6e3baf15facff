import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wavlink_core import (
    AudioError,
    ConfigError,
    embed_audio,
    embed_text,
    inference,
    similarity,
    zero_shot,
)
from wavlink_core.inference import iter_audio_embeddings, length_batches, parse_labels, windows

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


def test_same_clip_same_vector_alone_or_in_a_batch(test_model, tone):
    other = np.random.default_rng(1).standard_normal(16000 * 7).astype(np.float32) * 0.1
    alone = embed_audio(test_model, tone, sampling_rate=16000)
    batch = embed_audio(test_model, [other, tone, other[:9000]], sampling_rate=16000)
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-5)


def test_rows_follow_inputs_and_are_unit_norm(test_model, tone):
    emb = embed_audio(test_model, [tone, tone[:8000], tone], sampling_rate=16000, dim=8)
    assert emb.shape == (3, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-6)


def test_dim_is_the_truncated_full_embedding(test_model, tone):
    full = embed_audio(test_model, tone, sampling_rate=16000)
    small = embed_audio(test_model, tone, sampling_rate=16000, dim=8)
    np.testing.assert_allclose(small, full[:, :8] / np.linalg.norm(full[:, :8]), atol=1e-6)


def test_long_audio_is_windowed_deterministically(test_model):
    rng = np.random.default_rng(2)
    wave = (0.1 * rng.standard_normal(16000 * 65)).astype(np.float32)  # 30 + 30 + 5 s
    assert [len(w) for w in windows(wave)] == [480000, 480000, 80000]
    a = embed_audio(test_model, wave, sampling_rate=16000)
    b = embed_audio(test_model, wave, sampling_rate=16000, batch_size=1)
    np.testing.assert_allclose(a, b, atol=1e-5)
    parts = embed_audio(test_model, windows(wave), sampling_rate=16000)
    mean = (parts * np.array([30, 30, 5])[:, None]).sum(0)
    np.testing.assert_allclose(a[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_pad_to_30s_is_the_paper_setting_and_differs(test_model, tone):
    dyn = embed_audio(test_model, tone, sampling_rate=16000)
    pad = embed_audio(test_model, tone, sampling_rate=16000, pad_to_30s=True)
    assert np.abs(dyn - pad).max() > 1e-4
    np.testing.assert_allclose(np.linalg.norm(pad), 1, atol=1e-5)


def test_files_and_arrays_agree(test_model):
    from wavlink_core import load_audio

    path = EXAMPLES / "rooster.mp3"
    from_file = embed_audio(test_model, str(path))
    from_array = embed_audio(test_model, load_audio(path), sampling_rate=16000)
    np.testing.assert_allclose(from_file, from_array, atol=1e-6)


def test_bad_audio_names_the_input(test_model, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="broken.wav"):
        embed_audio(test_model, [str(bad)])
    with pytest.raises(AudioError, match="silent"):
        embed_audio(test_model, np.zeros(16000, np.float32), sampling_rate=16000)


def test_one_array_is_one_clip_in_any_channel_layout(test_model, tone):
    """A stereo array is one clip whichever axis holds the channels, never a batch of channels."""
    stereo = np.stack([tone[:4000], 0.5 * tone[:4000]])  # (2, 4000): 0.25 s, channels first
    mono = embed_audio(test_model, stereo.mean(0), sampling_rate=16000)
    for layout in (stereo, stereo.T.copy(), torch.from_numpy(stereo)):
        emb = embed_audio(test_model, layout, sampling_rate=16000)
        assert emb.shape == (1, 32)
        np.testing.assert_allclose(emb, mono, atol=1e-5)
    pcm = (stereo.T * 32767).astype(np.int16)  # Gradio: (rate, int16 (samples, channels)), one clip
    np.testing.assert_allclose(embed_audio(test_model, (16000, pcm)), mono, atol=1e-3)
    res = zero_shot(test_model, stereo.T.copy(), "dog, rain", sampling_rate=16000, dim=8)
    ref = zero_shot(test_model, stereo.mean(0), "dog, rain", sampling_rate=16000, dim=8)
    assert res.labels == ref.labels
    np.testing.assert_allclose(res.cosine, ref.cosine, atol=1e-5)
    with pytest.raises(ValueError, match="one clip; got 2"):
        zero_shot(test_model, [tone, tone], "dog, rain", sampling_rate=16000)


def test_ambiguous_arrays_and_batches_say_what_to_pass(test_model, tone):
    square = np.stack([tone[:16000]] * 16)  # 16 channels or 16 clips? refused, unless stated
    with pytest.raises(AudioError, match=r"ambiguous shape \(16, 16000\).*channels_first=True"):
        embed_audio(test_model, square, sampling_rate=16000)
    stated = embed_audio(test_model, square, sampling_rate=16000, channels_first=True)
    one = embed_audio(test_model, tone[:16000], sampling_rate=16000)
    np.testing.assert_allclose(stated, one, atol=1e-5)
    with pytest.raises(AudioError, match="list of arrays"):
        embed_audio(test_model, square.reshape(4, 4, 16000), sampling_rate=16000)
    batch = embed_audio(test_model, tuple(square[:3]), sampling_rate=16000)  # tuple of clips: batch
    assert batch.shape == (3, 32)


def test_empty_none_and_odd_inputs_are_refused_clearly(test_model):
    with pytest.raises(ValueError, match="no audio given: the batch of clips is empty"):
        embed_audio(test_model, [])
    with pytest.raises(TypeError, match="audio is None; pass a path, bytes"):
        embed_audio(test_model, None)
    with pytest.raises(TypeError, match="unsupported audio of type int"):
        embed_audio(test_model, 3)
    with pytest.raises(TypeError, match="audio is None"):
        zero_shot(test_model, None, "dog, rain")
    clip = [0.1 * np.ones(1600, np.float32)]
    for bad in (0, -1, 2.5):
        with pytest.raises(ConfigError, match=f"batch_size must be a whole number >= 1, got {bad}"):
            embed_audio(test_model, clip, sampling_rate=16000, batch_size=bad)


def test_streaming_yields_bad_clips_in_place_and_holds_bounded_audio(test_model, tone, monkeypatch):
    good = [tone[: 4000 + 100 * i] for i in range(40)]
    loaded = []
    real_load = inference.load_audio
    def counting_load(*args, **kwargs):
        loaded.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(inference, "load_audio", counting_load)
    stream = iter_audio_embeddings(test_model, good, sampling_rate=16000, batch_size=8, dim=8)
    first = next(stream)
    assert len(loaded) == 32  # one group decoded, not all 40 clips
    rows = [first, *stream]
    whole = embed_audio(test_model, good, sampling_rate=16000, dim=8)
    np.testing.assert_allclose(np.stack(rows), whole, atol=1e-5)
    clips = [tone, np.zeros(800, np.float32), tone]
    mixed = iter_audio_embeddings(test_model, clips, sampling_rate=16000)
    a, bad, b = list(mixed)
    assert isinstance(bad, AudioError) and "silent" in str(bad)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_text_embeddings(test_model):
    emb = embed_text(test_model, ["a dog barks", "rain", "a dog barks"], dim=16)
    assert emb.shape == (3, 16)
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-6)
    with pytest.raises(ValueError, match="non-empty"):
        embed_text(test_model, ["ok", "  "])
    with pytest.raises(ConfigError, match="choose one of"):
        embed_text(test_model, ["ok"], dim=5)


def test_similarity_is_cosine_at_the_requested_size():
    a = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    b = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(similarity(a, b), [[0.5, np.sqrt(0.5)]], atol=1e-6)
    np.testing.assert_allclose(similarity(a, b, dim=2), [[np.sqrt(0.5), 0.0]], atol=1e-6)


def test_zero_shot_ranks_and_reports(test_model, tone):
    res = zero_shot(test_model, tone, "dog, rain\nsiren, dog", sampling_rate=16000, dim=16)
    assert sorted(res.labels) == ["dog", "rain", "siren"]
    assert list(res.cosine) == sorted(res.cosine, reverse=True)
    assert sum(res.probs) == pytest.approx(1.0, abs=1e-5)
    assert res.prompts[res.labels.index("rain")] == "This is a sound of rain."
    assert res.dim == 16 and res.trained is False
    with pytest.raises(ValueError, match="needs exactly one"):
        zero_shot(test_model, tone, "a, b", template="no slot", sampling_rate=16000)


def test_label_parsing():
    assert parse_labels(" dog ,rain,\n\nsiren,dog") == ["dog", "rain", "siren"]
    with pytest.raises(ValueError, match="no labels"):
        parse_labels(" , \n")


def test_core_imports_no_ui_library():
    import subprocess

    code = "import wavlink_core, sys; print([m for m in ('gradio', 'plotly', 'umap') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_short_windows_share_bigger_batches_and_long_ones_keep_the_batch_size():
    half_second, five, thirty = 8000, 80000, 480000
    batches = length_batches([half_second] * 40 + [five] * 10 + [thirty] * 3, batch_size=8)
    # 32 is the most windows held at once; from 5 s on, batches of 8 as before.
    assert [len(b) for b in batches] == [32, 8, 8, 5]
    assert sorted(j for b in batches for j in b) == list(range(53))
    assert batches[-1] == [48, 49, 50, 51, 52]
    assert set(batches[0]) <= set(range(40))  # shortest first: similar lengths share a batch
    # Padded to 30 s every window costs the same: plain batches of batch_size.
    assert [len(b) for b in length_batches([half_second] * 20, 8, pad=True)] == [8, 8, 4]
    # 2-s windows: as many as the audio of 8 five-second windows, 20.
    assert [len(b) for b in length_batches([32000] * 25, 8)] == [20, 5]


def test_short_clips_embed_the_same_whatever_shares_their_batch(test_model):
    rng = np.random.default_rng(3)
    seconds = (0.3, 0.45, 0.5, 0.62, 0.8, 1.0, 1.2, 0.35, 0.9, 0.55, 0.7, 0.4)
    clips = [(0.1 * rng.standard_normal(int(16000 * s))).astype(np.float32) for s in seconds]
    together = embed_audio(test_model, clips, sampling_rate=16000)  # one batch of 12
    alone = np.vstack([embed_audio(test_model, c, sampling_rate=16000) for c in clips])
    assert len(length_batches([len(c) for c in clips], 8)) == 1
    np.testing.assert_allclose(together, alone, atol=1e-5)
