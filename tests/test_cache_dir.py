"""One cache folder for the project: the core's ``cache_dir``, used by the ONNX export and the
demo's gallery embeddings and gallery library alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavlink_core.runtime import cache_dir


def test_cache_dir_follows_wavlink_cache_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WAVLINK_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("WAVLINK_CACHE", "")  # empty is unset, never a relative folder
    assert cache_dir() == tmp_path / "xdg" / "wavlink"
    monkeypatch.delenv("WAVLINK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "wavlink"


def test_the_demo_caches_the_gallery_in_the_core_cache_dir(test_model, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    from demo.gallery import gallery_embeddings, load_gallery
    from demo.library_search import gallery_source

    monkeypatch.delenv("WAVLINK_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    gallery = load_gallery(limit=2)
    source = gallery_source(test_model, gallery, gallery_embeddings(test_model, gallery))
    source.library.close()
    assert cache_dir() == tmp_path / "xdg" / "wavlink"
    names = [p.name for p in cache_dir().iterdir()]
    assert any(n.startswith("gallery-library-") and n.endswith(".db") for n in names), names
    assert any(n.startswith("gallery-") and n.endswith(".npy") for n in names), names
    assert not Path("wavlink").exists()
