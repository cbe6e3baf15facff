import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from wavlink_core import CheckpointError, WavLink, embed_text, load_pretrained, save_pretrained


def _embed(model, tone):
    return model.embed_audio(tone, sampling_rate=16000), embed_text(model, ["a dog", "rain"])


def test_full_roundtrip_is_exact(test_model, tone, tmp_path):
    test_model.training_info = {"steps": 3}
    try:
        save_pretrained(test_model, tmp_path)
    finally:
        test_model.training_info = None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["stores"] == "full" and meta["model"]["name"] == "wavlink-test"
    loaded = load_pretrained(tmp_path)
    assert loaded.training_info == {"steps": 3} and loaded.is_trained
    for a, b in zip(_embed(test_model, tone), _embed(loaded, tone)):
        np.testing.assert_array_equal(a, b)


def test_delta_stores_only_what_changed(tiny_model, tone, tmp_path):
    with torch.no_grad():
        layer = tiny_model.audio.encoder.layers[3].fc2.weight
        layer.add_(0.01)
    try:
        save_pretrained(tiny_model, tmp_path)
        stored = load_file(str(tmp_path / "model.safetensors"))
        assert set(stored) == {
            "audio.global_token",
            "audio_proj.weight",
            "text_proj.weight",
            "logit_scale",
            "audio.encoder.layers.3.fc2.weight",
        }
        # one 384x1536 layer + two 384x256 projections ≈ 3.2 MB, against ~120 MB for everything
        assert (tmp_path / "model.safetensors").stat().st_size < 3_500_000
        loaded = load_pretrained(tmp_path)
        for a, b in zip(_embed(tiny_model, tone), _embed(loaded, tone)):
            np.testing.assert_allclose(a, b, atol=1e-6)
    finally:
        with torch.no_grad():
            layer.sub_(0.01)


def test_fp16_checkpoint_is_close(test_model, tone, tmp_path):
    save_pretrained(test_model, tmp_path, dtype="float16")
    loaded = load_pretrained(tmp_path)
    assert loaded.audio_proj.weight.dtype == torch.float32
    for a, b in zip(_embed(test_model, tone), _embed(loaded, tone)):
        assert np.abs(a - b).max() < 5e-3


def _tamper(path, change):
    weights = load_file(str(path / "model.safetensors"))
    change(weights)
    save_file(weights, str(path / "model.safetensors"))


def test_loading_is_strict_and_names_the_keys(test_model, tmp_path):
    save_pretrained(test_model, tmp_path)
    _tamper(tmp_path, lambda w: w.update({"audio.extra_adapter": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match="audio.extra_adapter"):
        load_pretrained(tmp_path)
    save_pretrained(test_model, tmp_path)
    _tamper(tmp_path, lambda w: w.pop("text_proj.weight"))
    with pytest.raises(CheckpointError, match=r"missing \['text_proj.weight'\]"):
        load_pretrained(tmp_path)
    save_pretrained(test_model, tmp_path)
    _tamper(tmp_path, lambda w: w.update({"audio_proj.weight": torch.zeros(3, 3)}))
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_pretrained(tmp_path)


def test_delta_refuses_other_base_weights(tiny_model, tmp_path):
    save_pretrained(tiny_model, tmp_path)
    meta = json.loads((tmp_path / "config.json").read_text())
    meta["base_fingerprint"] = "0" * 16
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="installed base weights"):
        load_pretrained(tmp_path)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(CheckpointError, match="config.json and model.safetensors"):
        load_pretrained(tmp_path)


def test_presets_are_deterministic():
    a = load_pretrained("tiny")
    b = load_pretrained("tiny")
    torch.testing.assert_close(a.audio.global_token, b.audio.global_token)
    assert isinstance(a, WavLink) and not a.is_trained
