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
