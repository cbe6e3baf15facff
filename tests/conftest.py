"""Shared fixtures. Tests run offline on CPU: no hub, no analytics, no evaluation data."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def test_model():
    """The random-weight ``test`` preset; read-only, shared by every test."""
    from wavlink_core import PRESETS, WavLink

    torch.manual_seed(0)
    return WavLink(PRESETS["test"]).eval()


@pytest.fixture(scope="session")
def aut_model():
    """A second test model standing in for WavLink on a Whisper-AuT encoder: other weights, and
    the adaptation record a rebased export carries."""
    from wavlink_core import PRESETS, WavLink

    torch.manual_seed(1)
    model = WavLink(PRESETS["test"]).eval()
    adaptation = {"base_backbone": "random", "steps": 3}
    origin = {"backbone": "aut", "adaptation": adaptation}
    model.training_info = {"steps": 5, "audio_backbone_origin": origin}
    return model


@pytest.fixture(scope="session")
def tiny_model():
    """Real pretrained Whisper tiny.en + MiniLM with untrained heads."""
    from wavlink_core import load_pretrained

    torch.manual_seed(0)
    return load_pretrained("tiny").eval()


@pytest.fixture
def tone():
    """A 2-s 440 Hz tone with a little noise at 16 kHz (float32)."""
    rng = np.random.default_rng(0)
    t = np.arange(32000) / 16000
    return (0.5 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


@pytest.fixture(scope="session")
def serve_demo():
    """A function that launches a demo's Blocks on a free 127.0.0.1 port in the background and
    returns its URL (the caller closes it)."""
    import socket

    from demo import LAUNCH_KWARGS

    def serve(demo) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        demo.launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            **LAUNCH_KWARGS,
        )
        return f"http://127.0.0.1:{port}"

    return serve


@pytest.fixture(scope="session")
def noise_library(test_model, tmp_path_factory):
    """A function building a sound library of ``n`` half-second tones in noise, in three class
    folders, indexed with the ``test`` model: what ``app.py --library DB`` serves in the tests.
    Returns (database path, folder of the clips); each ``n`` is built once per test session."""
    import soundfile as sf

    from wavlink_core.library import Library

    built: dict[int, tuple] = {}

    def build(n: int):
        if n not in built:
            root = tmp_path_factory.mktemp(f"served{n}")
            rng = np.random.default_rng(n)
            t = np.arange(8000) / 16000
            for i in range(n):
                folder = root / "sounds" / f"set{i % 3}"
                folder.mkdir(parents=True, exist_ok=True)
                wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
                wave += 0.1 * rng.standard_normal(t.size)
                sf.write(folder / f"clip_{i:03d}.wav", wave.astype(np.float32), 16000)
            with Library(root / "served.db", test_model) as lib:
                lib.add([root / "sounds"])
            built[n] = (root / "served.db", root / "sounds")
        return built[n]

    return build
