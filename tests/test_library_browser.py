"""The Library tab in a real browser: Playwright driving Debian's chromium (never `playwright install`).

Two apps on the ``test`` model: the default one (the first 32 gallery clips) and one serving a
150-clip ``--library`` (more rows than the 100-row shortlist, so the recall of the small sizes is
measured below 1). Screenshots: test-output/library_*.png.
"""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
import soundfile as sf

sync_api = pytest.importorskip("playwright.sync_api")
import test_demo_browser as browser  # noqa: E402

CHROMIUM, OUT = browser.CHROMIUM, browser.OUT
page = browser.page  # the other browser tests' chromium page (its requests and errors logged)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
HOSTILE = "[x](evil.example) _em_ ~~s~~.wav"


def _serve(serve_demo, tmp_path_factory, model, **kwargs):
    from demo import build_demo
    from demo.gallery import load_gallery

    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(model, gallery=load_gallery(limit=32), warm=False, **kwargs)
    return serve_demo(demo), demo


@pytest.fixture(scope="module")
def gallery_app(test_model, tmp_path_factory, serve_demo):
    url, demo = _serve(serve_demo, tmp_path_factory, test_model)
    yield url, demo
    demo.close()


@pytest.fixture(scope="module")
def served_app(test_model, tmp_path_factory, serve_demo, noise_library):
    db, _ = noise_library(150)
    url, demo = _serve(serve_demo, tmp_path_factory, test_model, library=db)
    yield url, demo
    demo.close()


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    d = tmp_path_factory.mktemp("uploads")
    t = np.arange(32_000) / 16_000
    sf.write(d / "whistle.wav", (0.3 * np.sin(2 * np.pi * 900 * t)).astype(np.float32), 16_000)
    sf.write(d / HOSTILE, (0.3 * np.sin(2 * np.pi * 300 * t * t)).astype(np.float32), 16_000)
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    return d


def _open_library(page, url):
    page.goto(url)
    page.get_by_role("tab", name="Library").click()
    sync_api.expect(page.locator("#library-size-info")).to_contain_text("bytes per vector")


def _audio(page, wanted: str, timeout_s: float = 30.0) -> list:
    """Poll the player's <audio> elements (the waveform player's own one lives in a shadow root,
    which only Playwright's locators reach) until ``wanted``, a JS test of ``[src, duration,
    currentTime]``, holds for one of them; returns that one."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = page.locator("#library-player audio").evaluate_all(
            f"els => els.map(a => [a.src, a.duration, a.currentTime]).filter(([src, d, t]) => {wanted})"
        )
        if found or time.monotonic() > deadline:
            assert found, f"no player audio with {wanted}"
            return found[-1]
        page.wait_for_timeout(250)


def test_search_play_and_upload_in_browser(gallery_app, page, uploads):
    url, demo = gallery_app
    expect = sync_api.expect
    OUT.mkdir(exist_ok=True)
    _open_library(page, url)
    page.locator("#library-query textarea").fill("a dog barking")
    page.locator("#library-text-btn").click()
    expect(page.locator("#library-results")).to_contain_text("gallery", timeout=60_000)
    expect(page.locator("#library-playing")).to_contain_text("Plays 0.0–", timeout=30_000)
    expect(page.locator("#library-playing")).to_contain_text("(result 1, gallery)")
    cells = page.locator("#library-results [role=gridcell]")
    start, end = (float(v) for v in cells.all_inner_texts()[4:6])  # row 1: rank .. start, end
    src, seconds, _ = _audio(page, "src && d > 0")
    assert seconds == pytest.approx(end - start, abs=0.02)  # the matching span, cut on the server
    page.locator("#library-player button[aria-label='Play']").click()
    _audio(page, "t > 0", timeout_s=10)  # it played
    # Selecting the third row plays that result.
    cells.nth(2 * 6 + 1).click()
    expect(page.locator("#library-playing")).to_contain_text("(result 3, gallery)", timeout=30_000)
    _audio(page, f"src && src !== {src!r} && d > 0")  # another excerpt
    page.screenshot(path=str(OUT / "library_search.png"), full_page=True)

    names = ["whistle.wav", HOSTILE, "broken.wav"]
    page.locator("#library-files input[type=file]").set_input_files(
        [str(uploads / n) for n in names]
    )
    page.wait_for_timeout(1500)
    page.locator("#library-add-btn").click()
    mine = page.locator("#library-mine")
    expect(mine).to_contain_text("Added 2 of 3 files", timeout=60_000)
    expect(mine).to_contain_text("broken.wav could not be read as audio")
    expect(mine).to_contain_text(HOSTILE)  # the name as typed, as text
    # No link made of it (the file list's own download links carry the name in their URL only).
    assert page.locator("a[href='evil.example'], #library-mine a, #library-mine del").count() == 0
    expect(page.locator("#library-size-info")).to_contain_text("your clips")
    page.locator("#library-query textarea").fill("a whistle")
    page.locator("#library-text-btn").click()
    expect(page.locator("#library-results")).to_contain_text("your clips", timeout=60_000)
    page.screenshot(path=str(OUT / "library_uploads.png"), full_page=True)

    # Phone: six tabs still fit, none hidden in an overflow menu.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    for tab in ("Classify", "Match", "Explore", "Library", "Sizes", "About"):
        expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Library").click()
    # The empty results table: every header on one line, its text inside its cell.
    headers = page.locator("#library-results th .header")
    expect(headers.first).to_be_visible()
    # "inside": no part of the text is cut off, by its own box or by the header cell's.
    fits = headers.evaluate_all(
        """els => els.map(s => { const th = s.closest('th');
            return [s.innerText, s.getBoundingClientRect().height,
            parseFloat(getComputedStyle(s).lineHeight),
            s.scrollWidth <= s.clientWidth && th.scrollWidth <= th.clientWidth
            && s.getBoundingClientRect().right <= th.getBoundingClientRect().right + 0.5]; })"""
    )
    assert [f[0] for f in fits] == ["rank", "file", "source", "score", "start s", "end s"]
    page.screenshot(path=str(OUT / "library_phone.png"), full_page=True)
    th = page.locator("#library-results th").first.evaluate("e => e.outerHTML")
    assert all(height < 1.5 * line and inside for _, height, line, inside in fits), (fits, th)
    page.set_viewport_size({"width": 1400, "height": 900})
    assert page.hosts <= {"127.0.0.1"}, f"the page contacted other hosts: {page.hosts}"
    assert not page.errors, page.errors


def test_served_library_sizes_show_bytes_and_measured_recall_in_browser(served_app, page):
    url, demo = served_app
    expect = sync_api.expect
    stats = demo.library.stats
    small = demo.engine.dims[-1]
    measured = next(
        r for r in stats["recall_at_10"] if r["dim"] == small and r["quantization"] == "int8"
    )
    assert stats["rows"] == 150 and measured["recall"] < 1  # the sizes really differ here
    _open_library(page, url)
    info = page.locator("#library-size-info")
    expect(info).to_contain_text(f"{4 * demo.engine.full} bytes per vector")
    expect(info).to_contain_text("library 1.000 (150 rows)")
    expect(page.locator("#library-intro")).to_contain_text("this server's sound library")
    page.locator("#library-dim").get_by_text(str(small), exact=True).click()
    expect(info).to_contain_text(f"{measured['bytes']} bytes per vector", timeout=30_000)
    expect(info).to_contain_text(f"library {measured['recall']:.3f} (150 rows)")
    page.locator("#library-text-btn").click()
    expect(page.locator("#library-results")).to_contain_text("library", timeout=60_000)
    assert re.search(r"set\d/clip_\d{3}\.wav", page.locator("#library-results").inner_text())
    _audio(page, "src && d > 0")
    page.screenshot(path=str(OUT / "library_served_sizes.png"), full_page=True)
    assert not page.errors, page.errors


@pytest.mark.slow
@pytest.mark.skipif(browser._bundled_trained() is None, reason="no trained model bundled")
def test_trained_model_finds_the_gallery_dogs_in_browser(page, serve_demo):
    """With the shipped weights, 'a dog barking' over the gallery library ranks the gallery's dog
    clips first (the gallery shares sources with the training corpus: an end-to-end check of the
    tab with real weights, not a measure of quality)."""
    from demo import build_demo
    from wavlink_core import load_pretrained

    model_dir = browser._bundled_trained()
    demo = build_demo(load_pretrained(model_dir), model_dir=model_dir, warm=False)
    try:
        _open_library(page, serve_demo(demo))
        page.locator("#library-query textarea").fill("a dog barking")
        page.locator("#library-text-btn").click()
        sync_api.expect(page.locator("#library-playing")).to_contain_text("Plays", timeout=60_000)
        cells = page.locator("#library-results [role=gridcell]").all_inner_texts()
        assert cells[1].startswith("dog_") and cells[7].startswith("dog_"), cells[:12]
        _audio(page, "src && d > 0")
        page.screenshot(path=str(OUT / "library_trained.png"), full_page=True)
    finally:
        demo.close()
