import sys
from pathlib import Path

import numpy as np
import pytest

from wavlink_core import AudioError, ConfigError, embed_audio, embed_text, similarity, zero_shot
from wavlink_core.inference import parse_labels, windows

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
