"""Audio-encoder runtimes (ONNX Runtime, bf16 autocast): same vectors as float32 PyTorch, cached
export, clear errors."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

from wavlink_core import embed_audio
from wavlink_core.errors import ConfigError
from wavlink_core.runtime import audio_encoder, export_audio_onnx

pytest.importorskip("onnxruntime")


def clips() -> list[np.ndarray]:
    """Tones and noise of unequal lengths (a padded, masked batch), one over 30 s (two windows)."""
    rng = np.random.default_rng(3)
    out = []
    for i, seconds in enumerate((0.4, 1.3, 2.0, 3.7, 31.0)):
        t = np.arange(int(seconds * 16000)) / 16000
        wave = 0.3 * np.sin(2 * np.pi * (220 + 170 * i) * t) + 0.05 * rng.standard_normal(t.size)
        out.append(wave.astype(np.float32))
    return out


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WAVLINK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


@pytest.fixture(params=["onnxruntime", "onnx"])
def no_onnxruntime(request, monkeypatch):
    """``import onnxruntime`` (or ``onnx``, which the export needs) fails, as on a machine
    without the package."""
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        if name == request.param:
            raise ImportError(f"No module named {request.param!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importer)


@pytest.mark.parametrize("runtime", ["onnx", "torch-bf16"])
@pytest.mark.parametrize("pad_to_30s", [False, True])
def test_runtime_vectors_match_float32_torch(test_model, runtime, pad_to_30s):
    waves = clips()
    ref = embed_audio(test_model, waves, sampling_rate=16000, pad_to_30s=pad_to_30s)
    encoder = audio_encoder(test_model, runtime)
    got = embed_audio(
        test_model, waves, sampling_rate=16000, pad_to_30s=pad_to_30s, encoder=encoder, batch_size=3
    )
    assert got.shape == ref.shape
    cosine = np.sum(got * ref, axis=1)
    assert cosine.min() >= 0.999, cosine


def test_export_is_cached_per_weights(test_model, aut_model, cache):
    first = export_audio_onnx(test_model)
    stamp = first.stat().st_mtime_ns
    assert export_audio_onnx(test_model) == first and first.stat().st_mtime_ns == stamp
    other = export_audio_onnx(aut_model)  # other weights: its own graph, not the cached one
    assert other != first and sorted(cache.glob("*.onnx")) == sorted([first, other])


def test_library_index_with_onnx_runtime_matches_torch(test_model, tmp_path):
    from tests.library.conftest import SMALL, write_clips
    from wavlink_core.library import Library

    write_clips(tmp_path / "sounds", 3, seconds=1.5)
    vectors = {}
    for runtime in ("torch", "onnx"):
        with Library(tmp_path / f"{runtime}.db", test_model, SMALL) as lib:
            assert lib.add([tmp_path / "sounds"], runtime=runtime).added == 3
            vectors[runtime] = {p: lib.store.file_vector(p) for p in lib.store.file_states()}
    assert vectors["torch"].keys() == vectors["onnx"].keys()
    for path, ref in vectors["torch"].items():
        assert float(ref @ vectors["onnx"][path]) >= 0.999


def test_unknown_runtime_names_the_valid_ones(test_model):
    with pytest.raises(ConfigError, match=r"'tensorrt'.*'torch', 'torch-bf16', 'onnx'"):
        audio_encoder(test_model, "tensorrt")


def test_missing_onnxruntime_says_what_to_install(test_model, no_onnxruntime):
    with pytest.raises(ConfigError, match=r"pip install onnxruntime==\S+ onnx==\S+ .*'torch'"):
        audio_encoder(test_model, "onnx")


def test_cli_embed_and_index_take_runtime_onnx(test_model, tmp_path, capsys):
    from tests.library.conftest import write_clips
    from wavlink_core import save_pretrained
    from wavlink_core.cli import main

    ckpt = str(save_pretrained(test_model, tmp_path / "ckpt"))
    files = [str(p) for p in write_clips(tmp_path / "sounds", 2, seconds=2.5)]
    rows = {}
    for runtime in ("torch", "onnx"):
        out = tmp_path / f"{runtime}.npy"
        args = ["embed", *files, "--model", ckpt, "--out", str(out), "--runtime", runtime]
        assert main(args) == 0
        rows[runtime] = np.load(out)
    assert np.sum(rows["torch"] * rows["onnx"], axis=1).min() >= 0.999
    db = str(tmp_path / "lib.db")
    args = ["index", str(tmp_path / "sounds"), "--db", db, "--model", ckpt, "--json"]
    assert main([*args, "--runtime", "onnx"]) == 0
    assert '"added": 2' in capsys.readouterr().out


def test_cli_without_onnxruntime_is_one_line_exit_2(no_onnxruntime, tmp_path, capsys):
    from tests.library.conftest import write_clips
    from wavlink_core.cli import main

    write_clips(tmp_path / "sounds", 1)
    db = str(tmp_path / "lib.db")
    args = ["index", str(tmp_path / "sounds"), "--db", db, "--model", "test"]
    assert main([*args, "--runtime", "onnx"]) == 2
    assert "pip install onnxruntime" in capsys.readouterr().err
