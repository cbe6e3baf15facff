"""The Library tab through gradio_client: the gallery, a session's own uploads, a served ``--library``
(random-weight test model; the libraries are tiny generated ones, never evaluation data)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from demo import build_demo  # noqa: E402
from demo.escape import md  # noqa: E402
from demo.gallery import gallery_embeddings, load_gallery  # noqa: E402
from wavlink_core.library import Library, LibraryError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Markdown that would render as a link and emphasis; Gradio's upload keeps these characters
# (it drops < > : " / \\ | ? * ` $ ! { }, so an HTML tag cannot arrive in an upload's name).
HOSTILE = "[x](evil.example) _em_ #h ~~s~~.wav"


@pytest.fixture(scope="module")
def app(test_model, tmp_path_factory, serve_demo):
    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(test_model, gallery=load_gallery(limit=32), warm=False)
    url = serve_demo(demo)
    yield demo, url
    demo.close()


def client(url: str) -> Client:
    """A new client is a new session (its own state, its own library)."""
    return Client(url, verbose=False, analytics_enabled=False)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    """A 20-s recording (three 10-s segments: 0-10, 5-15, 10-20 s), a 2-s clip, the 5-15 s
    excerpt of the recording cut sample for sample, a corrupt file and a hostile file name."""
    d = tmp_path_factory.mktemp("uploads")
    rng = np.random.default_rng(7)
    t = np.arange(16_000 * 20) / 16_000
    long = 0.05 * rng.standard_normal(t.size)
    long[16_000 * 5 : 16_000 * 15] += 0.4 * np.sin(2 * np.pi * 1200 * t[: 16_000 * 10])
    sf.write(d / "field_recording.wav", long.astype(np.float32), 16_000, "FLOAT")
    excerpt = long[16_000 * 5 : 16_000 * 15]
    sf.write(d / "excerpt.wav", excerpt.astype(np.float32), 16_000, "FLOAT")
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 400 * t[:32_000]) * t[:32_000])
    sf.write(d / "chirp.wav", chirp.astype(np.float32), 16_000, "FLOAT")
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    hostile = d / HOSTILE
    sf.write(hostile, chirp[::-1].astype(np.float32), 16_000, "FLOAT")
    return d


def search(c: Client, text: str, k: int, dim: int):
    return c.predict(text, k, dim, api_name="/library_search")


def test_text_search_over_the_gallery_ranks_files_with_offsets(app):
    demo, url = app
    table, status, audio, playing = search(client(url), "a dog barking", 5, demo.engine.full)
    rows = table["data"]
    assert table["headers"] == ["rank", "file", "source", "score", "start s", "end s"]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5] and status == ""
    assert [r[3] for r in rows] == sorted((r[3] for r in rows), reverse=True)
    names = [Path(p).name for p in demo.engine.gallery.paths]
    assert all(r[1] in names and r[2] == "gallery" and 0 <= r[4] < r[5] for r in rows)
    # The library holds the same vectors as the demo's gallery embeddings: the same cosines.
    text = demo.engine.texts(["a dog barking"])[0]
    for r in rows:
        assert r[3] == pytest.approx(
            float(demo.engine.gallery_emb[names.index(r[1])] @ text), abs=1e-3
        )
    # The first result plays from its start to its end, and says so.
    wave, rate = sf.read(audio)
    assert rate == 16_000 and len(wave) / rate == pytest.approx(rows[0][5] - rows[0][4], abs=0.01)
    assert f"{rows[0][4]:.1f}–{rows[0][5]:.1f} s** of **{md(rows[0][1])}**" in playing


def test_each_size_states_its_bytes_and_measured_recall(app):
    demo, url = app
    c = client(url)
    stats = demo.library.stats
    for dim in demo.engine.dims:
        note = c.predict(dim, api_name="/library_size")
        measured = next(
            r
            for r in stats["recall_at_10"]
            if r["dim"] == dim
            and r["quantization"] in ("int8", "float32")
            and (r["quantization"] == "float32") == (dim == demo.engine.full)
        )
        assert f"**{measured['bytes']:,} bytes per vector**" in note
        assert f"gallery **{measured['recall']:.3f}** (32 rows" in note
        table, *_ = search(c, "rain", 3, dim)
        assert len(table["data"]) == 3
    with pytest.raises(AppError, match="not in the list of choices"):
        search(c, "rain", 3, 7)
    with pytest.raises(AppError, match="500 is greater than maximum value 50"):  # the slider's
        search(c, "rain", 500, demo.engine.full)


def test_session_library_takes_good_uploads_lists_bad_ones_and_finds_the_moment(app, uploads):
    demo, url = app
    c = client(url)
    files = [
        handle_file(str(uploads / n)) for n in ("field_recording.wav", "chirp.wav", "broken.wav")
    ]
    status, size_note = c.predict(files, demo.engine.full, api_name="/library_add")
    assert "Added 2 of 3 files" in status
    assert "broken.wav could not be read as audio" in status
    assert "your clips" in size_note and "(5 rows" in size_note  # 2 whole files + 3 segments
    # An example cut from 5-15 s of the recording finds that segment of it first.
    table, _, audio, playing = c.predict(
        handle_file(str(uploads / "excerpt.wav")),
        5,
        demo.engine.full,
        api_name="/library_search_example",
    )
    top = table["data"][0]
    assert top[1:3] == ["field_recording.wav", "your clips"] and top[3] > 0.999
    assert (top[4], top[5]) == (5.0, 15.0)
    assert f"Plays **5.0–15.0 s** of **{md('field_recording.wav')}**" in playing
    played, rate = sf.read(audio)
    assert len(played) == 10 * rate
    # Playing another result by its rank cuts that one.
    table, *_ = c.predict("a chirp", 10, demo.engine.full, api_name="/library_search")
    rank = next(r[0] for r in table["data"] if r[1] == "chirp.wav")
    _, playing = c.predict(rank, api_name="/library_play")
    assert f"of **{md('chirp.wav')}** (result {rank}" in playing
    with pytest.raises(AppError, match="does not exist; choose 1 to 10"):
        c.predict(11, api_name="/library_play")


def test_another_session_never_sees_my_uploads(app, uploads):
    demo, url = app
    mine, theirs = client(url), client(url)
    mine.predict(
        [handle_file(str(uploads / "chirp.wav"))], demo.engine.full, api_name="/library_add"
    )
    example = handle_file(str(uploads / "chirp.wav"))
    table, *_ = mine.predict(example, 40, demo.engine.full, api_name="/library_search_example")
    assert table["data"][0][1:3] == ["chirp.wav", "your clips"]
    table, *_ = theirs.predict(example, 40, demo.engine.full, api_name="/library_search_example")
    assert {r[2] for r in table["data"]} == {"gallery"}
    with pytest.raises(AppError, match="Search first"):
        client(url).predict(1, api_name="/library_play")


def test_session_folder_goes_when_the_state_expires(app, uploads):
    demo, url = app
    sessions = demo.session_libraries
    before = set(sessions.root.iterdir())
    client(url).predict(
        [handle_file(str(uploads / "chirp.wav"))], demo.engine.full, api_name="/library_add"
    )
    (folder,) = set(sessions.root.iterdir()) - before
    assert (folder / "library.db").is_file()
    sessions.remove({"dir": str(folder)})  # what gr.State's delete_callback does at expiry
    assert not folder.exists()
    sessions.remove({"dir": str(sessions.root.parent)})  # never outside its own root
    assert sessions.root.parent.is_dir()


def test_hostile_file_name_and_query_are_text(app, uploads):
    demo, url = app
    c = client(url)
    name = HOSTILE
    status, _ = c.predict(
        [handle_file(str(uploads / name))], demo.engine.full, api_name="/library_add"
    )
    assert f"Added: {md(name)}." in status and "[x](" not in status
    table, _, _, playing = c.predict(
        handle_file(str(uploads / name)), 3, demo.engine.full, api_name="/library_search_example"
    )
    assert table["data"][0][1] == name  # a table cell holds the name as it is: shown as text
    assert md(name) in playing and "[x](" not in playing
    table, status, _, _ = search(
        c, "<script>alert(1)</script> {0.__class__} %s", 3, demo.engine.full
    )
    assert len(table["data"]) == 3 and status == ""


@pytest.fixture(scope="module")
def served(test_model, noise_library, serve_demo, tmp_path_factory):
    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache-served"))
    db, sounds = noise_library(12)
    demo = build_demo(test_model, gallery=load_gallery(limit=4), warm=False, library=db)
    url = serve_demo(demo)
    yield demo, url, db, sounds
    demo.close()


def test_served_library_is_searched_read_only(served, uploads):
    demo, url, db, sounds = served
    before = (db.read_bytes(), Library(db, demo.engine.model, readonly=True).stats()["files"])
    c = client(url)
    table, *_ = search(c, "a tone", 5, demo.engine.full)
    assert len(table["data"]) == 5
    assert all(
        r[2] == "library" and r[1].startswith("set") and "/" + str(sounds) not in r[1]
        for r in table["data"]
    )
    assert "this server's sound library" in str(demo.config)
    # Uploads go to the visitor's own library; nothing any event does adds to the served one.
    c.predict([handle_file(str(uploads / "chirp.wav"))], demo.engine.full, api_name="/library_add")
    table, *_ = c.predict(
        handle_file(str(uploads / "chirp.wav")), 20, 4, api_name="/library_search_example"
    )
    assert {r[2] for r in table["data"]} == {"library", "your clips"}
    for dim in demo.engine.dims:
        c.predict(dim, api_name="/library_size")
    c.predict(1, api_name="/library_play")
    assert (
        db.read_bytes(),
        Library(db, demo.engine.model, readonly=True).stats()["files"],
    ) == before
    with pytest.raises(LibraryError, match="read-only"):
        demo.library.library.add([sounds])
    # The browser names no server path: playing takes a rank, never a file or the results.
    endpoints = c.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["component"] for p in endpoints["/library_play"]["parameters"]] == ["Number"]


def test_a_missing_or_foreign_library_stops_the_app(test_model, aut_model, noise_library, tmp_path):
    with pytest.raises(LibraryError, match="no library here"):
        build_demo(
            test_model, gallery=load_gallery(limit=2), warm=False, library=tmp_path / "none.db"
        )
    db, _ = noise_library(12)
    with pytest.raises(LibraryError, match="fingerprint"):
        build_demo(aut_model, gallery=load_gallery(limit=2), warm=False, library=db)


def test_app_py_refuses_a_missing_library_with_the_core_message(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--model",
            "test",
            "--library",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WAVLINK_CACHE": str(tmp_path / "cache")},
    )
    assert run.returncode == 2
    assert "error: --library:" in run.stderr and "x.db: no library here" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_stale_gallery_library_in_the_cache_is_rebuilt(test_model, tmp_path, monkeypatch):
    from demo.library_search import gallery_source

    monkeypatch.setenv("WAVLINK_CACHE", str(tmp_path))
    gallery = load_gallery(limit=3)
    vectors = gallery_embeddings(test_model, gallery)
    built = gallery_source(test_model, gallery, vectors)
    assert built.stats["files"] == 3
    (cached,) = tmp_path.glob("gallery-library-*.db")
    built.library.close()
    cached.write_bytes(b"left by another version")
    again = gallery_source(test_model, gallery, vectors)
    assert again.stats["files"] == 3 and again.library.path == cached


def test_the_gallery_library_reuses_the_gallery_embeddings(test_model, tmp_path, monkeypatch):
    from demo.library_search import gallery_source

    monkeypatch.setenv("WAVLINK_CACHE", str(tmp_path / "cache"))
    gallery = load_gallery(limit=12)
    vectors = gallery_embeddings(test_model, gallery)
    windows = [0]
    hook = test_model.audio.register_forward_hook(
        lambda _m, args, _out: windows.__setitem__(0, windows[0] + args[0].shape[0])
    )
    try:
        built = gallery_source(test_model, gallery, vectors)
    finally:
        hook.remove()
    assert windows[0] == 0  # no clip went through the encoder a second time
    with Library(tmp_path / "by-add.db", test_model) as by_add:  # how it was built before
        by_add.add(list(gallery.paths))
        for query in ("a dog barking", "rain on a window"):
            want = by_add.search(query, k=10)
            got = built.library.search(query, k=10)
            assert [h.path for h in got] == [h.path for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], abs=1e-5)
            assert [(h.start, h.end) for h in got] == [(h.start, h.end) for h in want]
    built.library.close()


def test_a_session_library_is_capped_in_files_and_seconds(test_model, uploads, monkeypatch):
    from demo import session_library
    from demo.session_library import SessionLibraries

    sessions = SessionLibraries(test_model)
    monkeypatch.setattr(session_library, "MAX_FILES", 2)
    clips = [str(uploads / n) for n in ("chirp.wav", HOSTILE, "excerpt.wav")]
    state, added, failed = sessions.add(None, clips)
    assert added == ["chirp.wav", HOSTILE] and len(state["names"]) == 2
    assert failed == [
        "excerpt.wav was not added: your library holds at most 2 files and 20 minutes of "
        "audio per session (2 files, 0.1 minutes now)."
    ]
    monkeypatch.setattr(session_library, "MAX_FILES", 64)
    monkeypatch.setattr(session_library, "MAX_SECONDS", 15.0)  # 4 s held; 10 s more fit, 20 not
    state, added, failed = sessions.add(
        state, [str(uploads / "excerpt.wav"), str(uploads / "field_recording.wav")]
    )
    assert added == ["excerpt.wav"] and "field_recording.wav was not added" in failed[0]
    with sessions.source(state) as own:
        assert own.stats["files"] == 3
    sessions.close()
    assert not sessions.root.exists()
