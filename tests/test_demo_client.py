"""Every demo endpoint through gradio_client against a launched app (random-weight test model)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from demo import build_demo  # noqa: E402
from demo.gallery import load_gallery  # noqa: E402


@pytest.fixture(scope="module")
def app(test_model, aut_model, tmp_path_factory, serve_demo):
    import os

    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(
        test_model, gallery=load_gallery(limit=32), warm=False, compare_model=aut_model
    )
    yield demo, Client(serve_demo(demo), verbose=False, analytics_enabled=False)
    demo.close()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    t = np.arange(48_000 * 2) / 48_000
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    stereo = (np.stack([tone, 0.5 * tone], 1) * 32767).astype(np.int16)
    sf.write(d / "stereo48k.wav", stereo, 48_000, subtype="PCM_16")
    sf.write(d / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    sf.write(d / "long.wav", 0.1 * np.random.default_rng(0).standard_normal(16_000 * 40), 16_000)
    (d / "empty.wav").write_bytes(b"")
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    (d / "notes.txt").write_text("not audio at all")
    return d


def classify(
    client,
    dim,
    path,
    labels="dog, rain, car horn",
    template="This is a sound of {}.",
    mode="softmax",
):
    return client.predict(
        handle_file(str(path)), labels, template, dim, mode, 3, api_name="/classify"
    )


def test_classify_stereo_int16_48k(app, clips):
    demo, client = app
    info, headline, bars, table, _ = classify(client, demo.engine.full, clips / "stereo48k.wav")
    assert "48 kHz stereo 2.0 s → 16 kHz mono" in info
    assert "Top label" in headline and "untrained" in headline
    assert bars["type"] == "plotly"
    assert len(table["data"]) == 3 and abs(sum(r[2] for r in table["data"]) - 1) < 1e-3


def test_classify_every_size_and_cosine_mode(app):
    demo, client = app
    for dim in demo.engine.dims:
        _, headline, bars, *_ = classify(client, dim, demo.engine.gallery.paths[1], mode="cosine")
        assert "cosine similarity" in headline
        assert f"size {dim}" in bars["plot"]


def test_classify_long_clip_is_averaged_over_windows_as_about_says(app, clips):
    demo, client = app
    info, *_ = classify(client, demo.engine.full, clips / "long.wav")
    assert "40.0 s" in info and "averaged over 2 windows of 30 s" in info
    about = next(
        c["props"]["value"]
        for c in demo.config["components"]
        if c["props"].get("elem_id") == "about-demo"
    )
    assert "averaged" in about and "first 120 s" in about


def test_classify_result_downloads_as_csv(app):
    import csv

    demo, client = app
    *_, table, path = classify(client, demo.engine.dims[-1], demo.engine.gallery.paths[0])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["clip", "size", "rank", "label", "softmax", "cosine", "prompt"]
    assert [r[3] for r in rows[1:]] == [r[1] for r in table["data"]]
    assert {r[1] for r in rows[1:]} == {str(demo.engine.dims[-1])}
    # written to the app's private download folder, not left in the working directory
    assert not any(p.suffix == ".csv" for p in Path.cwd().iterdir())


@pytest.mark.parametrize(
    "name,needle",
    [
        ("silent.wav", "silent"),
        ("empty.wav", "empty"),
        ("corrupt.wav", "could not be read as audio"),
        ("notes.txt", "could not be read as audio"),
    ],
)
def test_classify_bad_audio_is_a_clear_error(app, clips, name, needle):
    demo, client = app
    with pytest.raises(AppError, match=needle):
        classify(client, demo.engine.full, clips / name)


def test_classify_bad_labels_and_template(app):
    demo, client = app
    with pytest.raises(AppError, match="no labels"):
        classify(client, demo.engine.full, demo.engine.gallery.paths[0], labels=" , ,")
    with pytest.raises(AppError, match="template"):
        classify(client, demo.engine.full, demo.engine.gallery.paths[0], template="no placeholder")


def test_match_and_search(app, clips):
    demo, client = app
    files = [handle_file(str(clips / "stereo48k.wav")), handle_file(demo.engine.gallery.paths[2])]
    heat, per_clip, per_cap, skipped, table = client.predict(
        files, "a tone, high and steady\nrain", demo.engine.full, api_name="/match"
    )
    assert heat["type"] == "plotly"
    # captions split by line only: the comma stays inside the first caption
    assert [r[0] for r in per_cap["data"]] == ["a tone, high and steady", "rain"]
    with open(table) as f:
        assert f.readline().strip() == "clip,\"a tone, high and steady\",rain"
    assert [r[0] for r in per_clip["data"]] == [
        "stereo48k.wav",
        demo.engine.gallery.names[2] + ".ogg",
    ]
    assert skipped == ""
    out = client.predict("a dog barking", 4, demo.engine.dims[-1], api_name="/search")
    assert len(out[0]["data"]) == 4 and out[1] is not None
    with pytest.raises(AppError):
        client.predict(
            [handle_file(str(clips / "empty.wav"))], "x", demo.engine.full, api_name="/match"
        )
    with pytest.raises(AppError, match="Type a description"):
        client.predict("  ", 4, demo.engine.full, api_name="/search")


@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_explore_maps(app, method):
    demo, client = app
    full, small, text = client.predict(
        method, demo.engine.dims[-1], "category", api_name="/explore_map"
    )
    assert full["type"] == small["type"] == "plotly"
    assert (
        "Bytes per vector" in text
        and f"{demo.engine.full // demo.engine.dims[-1]}× smaller" in text
    )


@pytest.mark.slow
def test_explore_umap(app):
    demo, client = app
    full, small, _ = client.predict(
        "UMAP", demo.engine.dims[-1], "modality", api_name="/explore_map"
    )
    assert "UMAP at size" in full["plot"]


def test_explore_add_neighbours_export(app, clips):
    demo, client = app
    state, dropdown = client.predict(
        [handle_file(str(clips / "stereo48k.wav"))], "a dog barking", api_name="/explore_add"
    )
    msg, table = client.predict(
        demo.engine.gallery.names[0], 5, demo.engine.dims[-1], api_name="/neighbours"
    )
    assert "Top-5 overlap" in msg and len(table["value"]["data"]) == 5
    files = client.predict(demo.engine.dims[-1], api_name="/export")
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["csv", "csv", "npy", "npy"]
    emb = np.load([f for f in files if f.endswith(f"_{demo.engine.full}.npy")][0])
    assert emb.shape == (
        len(demo.engine.gallery) + 2,
        demo.engine.full,
    )  # gallery + this session's clip, caption
    other = Client(
        client.src, verbose=False, analytics_enabled=False
    )  # another user sees only the gallery
    files = other.predict(demo.engine.dims[-1], api_name="/export")
    emb = np.load([f for f in files if f.endswith(f"_{demo.engine.full}.npy")][0])
    assert emb.shape == (len(demo.engine.gallery), demo.engine.full)
    with pytest.raises(AppError):
        client.predict(None, "", api_name="/explore_add")


def test_explore_switches_audio_backbone(app, clips):
    demo, client = app
    vanilla, aut = (e.backbone for e in demo.engines)
    assert vanilla == "Whisper random (vanilla)"
    assert aut == "Whisper-AuT (random adapted, 3 steps) · WavLink 5 steps"
    client.predict(
        [handle_file(str(clips / "stereo48k.wav"))], "a dog barking", api_name="/explore_add"
    )
    item, small = demo.engine.gallery.names[0], demo.engine.dims[-1]
    maps = {
        name: client.predict("PCA", small, "category", item, name, api_name="/explore_map")
        for name in (vanilla, aut)
    }
    assert aut in maps[aut][0]["plot"] and aut not in maps[vanilla][0]["plot"]
    # the same items (gallery + this user's clip and caption) placed by different encoders
    for full, _, _ in maps.values():
        assert "you: stereo48k.wav" in full["plot"] and "a dog barking" in full["plot"]
    assert maps[aut][0]["plot"] != maps[vanilla][0]["plot"]
    msg_v, _ = client.predict(item, 5, small, vanilla, api_name="/neighbours")
    msg_a, _ = client.predict(item, 5, small, aut, api_name="/neighbours")
    assert "Top-5 overlap" in msg_v and "Top-5 overlap" in msg_a
    with pytest.raises(AppError):
        client.predict("PCA", small, "category", item, "Whisper large", api_name="/explore_map")


def test_rank_sizes(app, clips):
    demo, client = app
    summary, table = client.predict(
        handle_file(str(clips / "stereo48k.wav")), "dog, rain, tone", "a {}", api_name="/rank_sizes"
    )
    assert "Top label by size" in summary
    assert table["headers"][1] == f"rank @ {demo.engine.full}" and len(table["value"]["data"]) == 3
    with pytest.raises(AppError, match="silent"):
        client.predict(
            handle_file(str(clips / "silent.wav")), "dog", "a {}", api_name="/rank_sizes"
        )


def test_upload_over_size_limit_is_refused(app, tmp_path):
    demo, client = app
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (21 * 1024 * 1024))  # max_file_size is 20 MB
    with pytest.raises(
        Exception, match="(?i)file size|too large|413"
    ):  # refused at upload, before any handler
        classify(client, demo.engine.full, big)


def test_app_survives_errors(app):
    demo, client = app
    info, *_ = classify(client, demo.engine.full, demo.engine.gallery.paths[0])
    assert "16 kHz mono" in info


def test_sizes_and_about_read_the_checkpoint_folder(test_model, tmp_path):
    """eval_results.json becomes the Sizes chart and MODEL_CARD.md the About tab; without them, honest text."""
    import json

    (tmp_path / "eval_results.json").write_text(
        json.dumps({"dims": {"32": {"esc50 top1": 0.5}, "4": {"esc50 top1": 0.3}}})
    )
    (tmp_path / "MODEL_CARD.md").write_text("# Shipped card\nTrained on things.")
    demo = build_demo(test_model, gallery=load_gallery(limit=8), model_dir=tmp_path, warm=False)
    values = [c.get("props", {}).get("value") for c in demo.config["components"]]
    assert any(isinstance(v, str) and "Shipped card" in v for v in values)
    plots = [
        c for c in demo.config["components"] if c.get("type") == "plot" and c["props"].get("value")
    ]
    assert any("esc50 top1" in json.dumps(p["props"]["value"]) for p in plots)
    bare = build_demo(test_model, gallery=load_gallery(limit=8), warm=False)
    texts = " ".join(str(c.get("props", {}).get("value")) for c in bare.config["components"])
    assert "No evaluation results shipped with this model" in texts and "Untrained" in texts


def test_explore_maps_download_as_offline_html(app):
    demo, client = app
    small = demo.engine.dims[-1]
    paths = client.predict("PCA", small, "label", api_name="/export_maps_html")
    assert sorted(Path(p).name for p in paths) == sorted(
        [f"map_PCA_size{demo.engine.full}.html", f"map_PCA_size{small}.html"]
    )
    html = Path(paths[0]).read_text()
    # plotly.js (~4.8 MB) is inside the file, no <script src=...>: it opens offline
    assert not re.search(r"<script[^>]*\bsrc=", html) and len(html) > 1_000_000
    assert demo.engine.gallery.names[0] in html
    # the app's own copies live in one temp folder that its Downloads object removes
    assert any(demo.downloads.root.glob("*/*.html"))


def test_downloads_folder_prunes_old_files_and_is_removed():
    import os

    from demo.downloads import MAX_AGE_S, Downloads

    d = Downloads()
    old = Path(d.csv("a/../b?.csv", ["x"], [[1]]))
    assert old.parent.parent == d.root and old.name == "a_.._b_.csv"  # no path escapes
    os.utime(old.parent, (0, 0))  # older than MAX_AGE_S
    new = Path(d.csv("c.csv", ["x"], [[2]]))
    assert not old.parent.exists() and new.exists() and MAX_AGE_S > 0
    d.close()
    assert not d.root.exists()
