"""The launched demo against hostile and careless input, through gradio_client (issue 11, 14.6).

Hostile templates, HTML and Markdown in labels and file names, server paths in messages, the label
limit and the text cache, batches with a bad file, cache and export cleaning, and the server log.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from demo import build_demo, escape  # noqa: E402
from demo.engine import _LRU, MAX_TEXTS  # noqa: E402
from demo.errors import explain  # noqa: E402
from demo.gallery import load_gallery  # noqa: E402
from wavlink_core import AudioError  # noqa: E402

# The four, and two with a '{}' too (the demo once checked only that one was there).
HOSTILE_TEMPLATES = [
    "{0:>50000000}",
    "{0.__class__.__mro__}",
    "{} {}",
    "{}{x}",
    "{}{:>50000000}",
    "{}{0.__class__.__mro__}",
]
HOSTILE_LABELS = [
    "<img src=x onerror=alert(1)>",
    "<form><input><button>go</button></form>",
    "**bold** _it_ `code`",
    "[click](javascript:alert(1))",
    "a | b | c",
]


@pytest.fixture(scope="module")
def app(test_model, tmp_path_factory, serve_demo):
    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(test_model, gallery=load_gallery(limit=16), warm=False)
    client = Client(serve_demo(demo), verbose=False, analytics_enabled=False)
    yield demo, client
    demo.close()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    t = np.arange(32_000) / 16_000
    sf.write(d / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 16_000)
    sf.write(d / "noise.flac", 0.1 * np.random.default_rng(0).standard_normal(16_000), 16_000)
    sf.write(d / "silent.wav", np.zeros(16_000, np.float32), 16_000)
    sf.write(d / "eleven_minutes.wav", np.zeros(8_000 * 660, np.int16), 8_000, subtype="PCM_16")
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    (d / "text.wav").write_text("this is a text file, not audio")
    sf.write(d / "[x](javascript:alert(1)) **b**.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 16_000)
    return d


def _plot(value) -> str:
    """A plot's figure as text with its JSON escapes decoded (plotly writes '<' as \\u003c)."""
    return str(json.loads(value["plot"]))


def classify(client, path, labels="dog, rain", template="This is a sound of {}.", dim=32):
    return client.predict(
        handle_file(str(path)), labels, template, dim, "softmax", 3, api_name="/classify"
    )


def rank_sizes(client, path, labels="dog, rain", template="a {}"):
    return client.predict(handle_file(str(path)), labels, template, api_name="/rank_sizes")


# ---- 11.1 templates -------------------------------------------------------------------------
@pytest.mark.parametrize("template", HOSTILE_TEMPLATES)
def test_hostile_template_is_refused_by_classify_and_sizes(app, clips, template):
    _, client = app
    for call in (classify, rank_sizes):
        with pytest.raises(AppError, match="template") as err:
            call(client, clips / "tone.wav", template=template)
        message = str(err.value)  # names the field, renders no interpreter internals
        assert "<class" not in message and "&lt;class" not in message


def test_braces_in_templates_are_literal(app, clips):
    _, client = app
    *_, table, _ = classify(client, clips / "tone.wav", labels="dog", template="{{sound}}: {}")
    assert table["data"][0][4] == "{sound}: dog"


# ---- 11.2 escaping --------------------------------------------------------------------------
@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_labels_reach_markdown_and_plots_as_text(app, clips, label):
    _, client = app
    _, headline, bars, table, _ = classify(client, clips / "tone.wav", labels=label)
    assert escape.md(label) in headline and "<" not in headline.replace("<br>", "")
    assert "<img" not in _plot(bars) and "<form" not in _plot(bars)
    assert table["data"][0][1] == label  # tables hold the label itself, shown as text
    summary, _ = rank_sizes(client, clips / "tone.wav", labels=label)
    assert escape.md(label) in summary and "<img" not in summary and "<form" not in summary


def test_match_and_explore_escape_captions_and_file_names(app, clips):
    _, client = app
    odd = clips / "[x](javascript:alert(1)) **b**.wav"
    heat, per_clip, *_ = client.predict(
        [handle_file(str(odd))], "<img src=x onerror=alert(1)>", 32, api_name="/match"
    )
    assert "<img" not in _plot(heat) and "&lt;img src=x onerror=alert(1)&gt;" in _plot(heat)
    assert per_clip["data"][0][0].endswith(".wav")
    client.predict([handle_file(str(odd))], "<form><input>", api_name="/explore_add")
    full, _, _ = client.predict("PCA", 8, "label", api_name="/explore_map")
    assert "<form" not in _plot(full) and "&lt;form&gt;&lt;input&gt;" in _plot(full)


def test_csv_downloads_never_hold_a_formula(app, clips):
    """Users open the CSV in a spreadsheet: a label or caption must not become a formula there."""
    import csv

    _, client = app
    formulas = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)"]
    *_, path = classify(client, clips / "tone.wav", labels="\n".join(formulas))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert sorted(r[3] for r in rows[1:]) == sorted("'" + t for t in formulas)
    assert all(float(r[5]) == float(r[5]) for r in rows[1:])  # scores stay numbers
    *_, path = client.predict(
        [handle_file(str(clips / "tone.wav"))], "=1+1\n-0.5", 32, api_name="/match"
    )
    with open(path, newline="") as f:
        header, row = list(csv.reader(f))
    assert header == ["clip", "'=1+1", "-0.5"] and row[0] == "tone.wav"
    float(row[1])  # a negative cosine is still a number, not a quoted text


# ---- 11.3, 14.6 messages ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,sentence",
    [
        ("silent.wav", "silent.wav is silent: it holds no sound at all"),
        ("corrupt.wav", "corrupt.wav could not be read as audio"),
        ("text.wav", "text.wav could not be read as audio"),
        ("eleven_minutes.wav", "eleven_minutes.wav is too long (11.0 minutes)"),
    ],
)
def test_bad_audio_gets_a_plain_sentence_without_server_paths(app, clips, name, sentence):
    _, client = app
    with pytest.raises(AppError) as err:
        classify(client, clips / name)
    message = str(err.value)
    assert sentence in message
    for leak in ("/tmp", str(clips), "libsndfile", "ffmpeg:", "max_seconds", "Traceback"):
        assert leak not in message


@pytest.mark.parametrize(
    "fault",
    [
        OSError(2, "No such file or directory", "/srv/secret/models/wavlink.bin"),
        ValueError("all input arrays must have the same shape (/srv/secret/models/wavlink.bin)"),
    ],
)
def test_a_fault_shows_no_path_and_keeps_the_traceback_in_the_log(app, clips, caplog, fault):
    """A bug (here raised outside the app's own input checks) is not mistaken for a user error."""
    demo, client = app

    def broken(*_a, **_k):
        raise fault

    engine_scores, demo.engine.scores = demo.engine.scores, broken
    try:
        with caplog.at_level(logging.WARNING, logger="wavlink.demo"):
            with pytest.raises(AppError) as err:
                classify(client, clips / "tone.wav")
    finally:
        demo.engine.scores = engine_scores
    assert "Something went wrong" in str(err.value) and "/srv" not in str(err.value)
    faults = [r for r in caplog.records if r.exc_info]
    assert faults and "/srv/secret/models/wavlink.bin" in str(faults[0].exc_info[1])


# ---- 11.11 logging ----------------------------------------------------------------------------
def test_user_errors_are_logged_as_one_line_without_traceback(app, clips, caplog, capfd):
    _, client = app
    capfd.readouterr()
    with caplog.at_level(logging.WARNING, logger="wavlink.demo"):
        with pytest.raises(AppError):
            classify(client, clips / "silent.wav")
        with pytest.raises(AppError):
            classify(client, clips / "tone.wav", template="{} {}")
    mine = [r for r in caplog.records if r.name == "wavlink.demo"]
    assert len(mine) == 2 and all(r.exc_info is None for r in mine)
    assert all("\n" not in r.getMessage() for r in mine)
    assert "silent" in mine[0].getMessage() and "template" in mine[1].getMessage()
    assert "Traceback" not in capfd.readouterr().err


# ---- 11.4 labels ------------------------------------------------------------------------------
def test_too_many_labels_is_a_clear_error(app, clips):
    _, client = app
    labels = ", ".join(f"label {i}" for i in range(MAX_TEXTS + 1))
    with pytest.raises(AppError, match=f"{MAX_TEXTS + 1:,} different labels.*at most {MAX_TEXTS:,}"):
        classify(client, clips / "tone.wav", labels=labels)


def test_text_cache_smaller_than_a_request_still_answers_it(app, clips):
    demo, client = app
    cache, demo.engine._text = demo.engine._text, _LRU(4)
    try:
        labels = ", ".join(f"sound {i}" for i in range(12))
        *_, table, _ = classify(client, clips / "tone.wav", labels=labels)
    finally:
        demo.engine._text = cache
    assert sorted(r[1] for r in table["data"]) == sorted(f"sound {i}" for i in range(12))


# ---- 11.8 batches -----------------------------------------------------------------------------
def test_match_keeps_good_clips_and_names_the_bad_one(app, clips):
    _, client = app
    files = [clips / "tone.wav", clips / "text.wav", clips / "noise.flac", clips / "silent.wav"]
    _, per_clip, _, skipped, _ = client.predict(
        [handle_file(str(f)) for f in files], "a tone\nnoise", 32, api_name="/match"
    )
    assert [r[0] for r in per_clip["data"]] == ["tone.wav", "noise.flac"]
    assert "Skipped 2 of 4 files" in skipped
    assert "text.wav could not be read as audio" in skipped and "silent.wav is silent" in skipped
    with pytest.raises(AppError, match="None of the 2 files"):
        client.predict(
            [handle_file(str(clips / n)) for n in ("text.wav", "silent.wav")],
            "x",
            32,
            api_name="/match",
        )


def test_explore_keeps_good_clips_when_one_is_bad(app, clips):
    demo, _ = app
    client = Client(app[1].src, verbose=False, analytics_enabled=False)  # a fresh session
    files = [handle_file(str(clips / n)) for n in ("tone.wav", "corrupt.wav", "noise.flac")]
    state, dropdown = client.predict(files, "", api_name="/explore_add")
    exported = client.predict(8, api_name="/export")
    emb = np.load([f for f in exported if f.endswith(f"_{demo.engine.full}.npy")][0])
    assert emb.shape == (len(demo.engine.gallery) + 2, demo.engine.full)


# ---- 11.10 files on disk ----------------------------------------------------------------------
def test_exports_do_not_pile_up_in_temp(app):
    demo, client = app
    root = demo.downloads.root
    client.predict(8, api_name="/export")
    first = set(root.iterdir())
    for folder in first:  # as if made minutes ago: the next export removes them
        os.utime(folder, (time.time() - 3600,) * 2)
    client.predict(8, api_name="/export")
    now = set(root.iterdir())
    assert len(now) == 1 and not now & first
    demo.downloads.close()
    assert not root.exists()


def test_gradio_cache_cleaning_removes_old_uploads(test_model, clips, serve_demo):
    demo = build_demo(test_model, gallery=load_gallery(limit=4), warm=False, delete_cache=(1, 1))
    client = Client(serve_demo(demo), verbose=False, analytics_enabled=False)
    try:
        classify(client, clips / "tone.wav", dim=demo.engine.full)
        uploads = [f for s in demo.temp_file_sets for f in s if f.endswith("tone.wav")]
        assert uploads and all(os.path.exists(f) for f in uploads)
        deadline = time.time() + 30
        while any(os.path.exists(f) for f in uploads) and time.time() < deadline:
            time.sleep(0.5)
        assert not any(os.path.exists(f) for f in uploads)
        # ... and so do their folders (Gradio's own cleaning leaves one per upload)
        while any(os.path.exists(os.path.dirname(f)) for f in uploads) and time.time() < deadline:
            time.sleep(0.5)
        assert not any(os.path.exists(os.path.dirname(f)) for f in uploads)
        # a browser may still hold the old path: a plain sentence, not a crash or a path
        with pytest.raises(AudioError) as err:
            demo.engine.clip(uploads[0])
        assert explain(err.value).startswith("tone.wav is no longer on the server")
    finally:
        demo.close()


def test_cache_sweep_survives_uploads_arriving_meanwhile(tmp_path):
    """Gradio 6.31's own pass raises 'Set changed size during iteration' here and stops for good."""
    import threading
    import types

    from demo.cache_cleaning import sweep

    old = {str(tmp_path / f"old{i}") for i in range(2000)}
    for f in old:
        open(f, "w").close()
    files = set(old)
    blocks = types.SimpleNamespace(blocks={}, temp_file_sets=[files])
    stop = threading.Event()

    def uploads():
        i = 0
        while not stop.is_set():
            files.add(str(tmp_path / f"new{i}"))
            i += 1

    th = threading.Thread(target=uploads)
    th.start()
    try:
        time.sleep(0.05)
        sweep(blocks, age_s=0, folder=tmp_path)
    finally:
        stop.set()
        th.join()
    assert not any(os.path.exists(f) for f in old) and not old & files


def test_upload_limits_are_stated_before_upload(app):
    demo, _ = app
    texts = [str(c.get("props", {}).get("value")) for c in demo.config["components"]]
    notes = [t for t in texts if "20 MB" in t and "first 120 s" in t and "10 minutes" in t]
    assert len(notes) >= 4  # Classify, Match, Explore, Sizes


def test_file_routes_refuse_paths_outside_the_allowed_folders(app):
    import urllib.error
    import urllib.request
    from pathlib import Path

    _, client = app
    weights = Path(__file__).resolve().parents[1] / "assets" / "wavlink-tiny" / "config.json"
    for path in ("/etc/passwd", str(weights), str(Path(__file__).resolve())):
        url = f"{client.src.rstrip('/')}/gradio_api/file={path}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=10)
        assert err.value.code in (403, 404)
