"""The Classify tab's few-shot panel through gradio_client (random-weight test model)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from demo import build_demo  # noqa: E402
from demo.gallery import load_gallery  # noqa: E402
from wavlink_core.openset import OpenSetCalibration  # noqa: E402


@pytest.fixture(scope="module")
def app(test_model, tmp_path_factory, serve_demo):
    import os

    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(test_model, gallery=load_gallery(limit=12), warm=False)
    yield demo, serve_demo(demo)
    demo.close()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("fsclips")
    t = np.arange(16_000) / 16_000
    for k, f in enumerate((300, 320)):
        sf.write(d / f"hum{k}.wav", (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), 16_000)
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    return d


def client(url):
    return Client(url, verbose=False, analytics_enabled=False)


def test_add_examples_then_compare_side_by_side(app, clips, test_model):
    demo, url = app
    c = client(url)
    names = demo.engine.gallery.names
    table, note, files, picks = c.predict("birds", None, names[:2], api_name="/fewshot_add")
    assert files is None and picks == []  # the pickers are emptied for the next label
    files = [handle_file(str(clips / n)) for n in ("hum0.wav", "corrupt.wav", "hum1.wav")]
    table, note, _, _ = c.predict("<b>hum</b>", files, [], api_name="/fewshot_add")
    assert "corrupt.wav" in note and "Added 2 example" in note and "<b>" not in note
    assert [r[:2] for r in table["data"]] == [["birds", 2], ["<b>hum</b>", 2]]
    rules = {
        m: {str(d): {"score": "cosine", "threshold": 2.0} for d in test_model.matryoshka_dims}
        for m in ("zeroshot", "fewshot")
    }
    test_model.openset = OpenSetCalibration(rules)
    try:
        z, zbars, f, fbars = c.predict(
            handle_file(str(clips / "hum0.wav")),
            "This is a sound of {}.",
            16,
            api_name="/fewshot_compare",
        )
    finally:
        test_model.openset = None
    assert z.startswith("### Zero-shot") and f.startswith("### Few-shot")
    assert "No label fits" in z and "No label fits" in f
    assert zbars["type"] == "plotly" and fbars["type"] == "plotly"


def test_examples_are_per_user_and_errors_are_messages(app, clips):
    _, url = app
    c = client(url)
    with pytest.raises(AppError, match="add examples for at least one label"):
        c.predict(handle_file(str(clips / "hum0.wav")), "{}", 16, api_name="/fewshot_compare")
    with pytest.raises(AppError, match="type the label"):
        c.predict("", None, [], api_name="/fewshot_add")
    with pytest.raises(AppError, match="nope.*not in the list of choices"):  # gradio checks it
        c.predict("x", None, ["nope"], api_name="/fewshot_add")
    c.predict("x", [handle_file(str(clips / "hum0.wav"))], [], api_name="/fewshot_add")
    table, note = c.predict(api_name="/fewshot_clear")
    assert note == "Examples cleared." and not table["data"]
