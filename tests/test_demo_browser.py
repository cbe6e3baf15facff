"""The demo in a real browser: Playwright driving Debian's chromium (never `playwright install`).

Skipped when /usr/bin/chromium is missing (scripts/setup.sh installs it). Screenshots: test-output/.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)
sync_api = pytest.importorskip("playwright.sync_api")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = Path(__file__).resolve().parents[1] / "test-output"


@pytest.fixture(scope="module")
def url(test_model, aut_model, tmp_path_factory, serve_demo):
    from demo import build_demo
    from demo.gallery import load_gallery

    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    demo = build_demo(
        test_model, gallery=load_gallery(limit=32), warm=False, compare_model=aut_model
    )
    yield serve_demo(demo), demo
    demo.close()


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 900},
        )
        pg = ctx.new_page()
        pg.hosts = set()
        pg.errors = []
        pg.on(
            "request",
            lambda r: (
                urlparse(r.url).scheme in ("http", "https", "ws", "wss")
                and pg.hosts.add(urlparse(r.url).hostname)
            ),
        )
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        yield pg
        ctx.close()


def test_classify_then_explore_in_browser(url, page):
    base, demo = url
    expect = sync_api.expect
    OUT.mkdir(exist_ok=True)
    page.goto(base)
    expect(page.locator("#untrained-banner")).to_contain_text("untrained", timeout=30_000)
    clip = demo.engine.gallery.paths[0]
    page.locator("#classify-audio input[type=file]").set_input_files(clip)
    page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
    page.locator("#classify-btn").click()
    expect(page.locator("#classify-result")).to_contain_text("Top label", timeout=60_000)
    expect(page.locator("#classify-info")).to_contain_text("→ 16 kHz mono")
    page.wait_for_selector("#classify-bars .js-plotly-plot", timeout=30_000)
    page.screenshot(path=str(OUT / "demo_classify.png"), full_page=True)

    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-draw").click()
    for plot in ("#map-full", "#map-small"):
        page.wait_for_selector(f"{plot} .js-plotly-plot", timeout=60_000)
        assert page.locator(f"{plot} .scatterlayer .point").count() >= len(demo.engine.gallery)
    expect(page.locator("#explore-bytes")).to_contain_text("Bytes per vector")
    # the backbone switch redraws both maps through the other model's encoder
    aut = demo.engines[1].backbone
    page.locator("#explore-backbone").get_by_text(aut).click()
    expect(page.locator("#map-full")).to_contain_text(aut, timeout=60_000)
    expect(page.locator("#map-small")).to_contain_text(aut, timeout=60_000)
    page.get_by_role("button", name="Find neighbours").click()
    expect(page.locator("#explore-overlap")).to_contain_text("overlap", timeout=30_000)
    page.locator("#explore-neighbours [role=gridcell]").nth(
        1
    ).click()  # a neighbour's name: it loads into the player
    page.wait_for_selector("#explore-player audio", state="attached", timeout=30_000)
    page.screenshot(path=str(OUT / "demo_explore.png"), full_page=True)

    page.get_by_role("tab", name="Match").click()
    page.locator("#search-btn").click()
    expect(page.locator("#search-results")).to_contain_text("gallery", timeout=30_000)
    for tab, name in (("Match", "match"), ("Sizes", "sizes"), ("About", "about")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUT / f"demo_{name}.png"), full_page=True)
    expect(page.locator("#sizes-none")).to_contain_text("No evaluation results shipped")

    assert page.hosts <= {"127.0.0.1"}, f"the page contacted other hosts: {page.hosts}"
    assert not page.errors, page.errors


def _bundled_trained():
    from wavlink_core.cli import BUNDLED_MODEL

    return BUNDLED_MODEL if (BUNDLED_MODEL / "config.json").is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_bundled_trained() is None, reason="no trained model bundled in assets/ yet")
def test_trained_model_names_a_gallery_dog_in_browser(page, serve_demo):
    """With the shipped weights, the real app ranks 'dog' first for a gallery dog clip. The gallery
    comes from the same game and desktop packages as the training corpus, so this checks the app
    with real weights end to end; generalisation is measured by the evaluation command instead."""
    from demo import build_demo
    from wavlink_core import load_pretrained
    from wavlink_core.cli import default_compare_model

    model_dir = _bundled_trained()
    aut = default_compare_model()  # the bundled WavLink on Whisper-AuT, when shipped
    demo = build_demo(
        load_pretrained(model_dir),
        model_dir=model_dir,
        warm=False,
        compare_model=load_pretrained(aut) if aut else None,
    )
    base = serve_demo(demo)
    try:
        # The module's browser is reused: Playwright's sync API allows one instance per thread.
        page.goto(base)
        clip = next(
            path
            for path, label in zip(
                demo.engine.gallery.paths, demo.engine.gallery.labels, strict=True
            )
            if label == "dog"
        )
        page.locator("#classify-audio input[type=file]").set_input_files(clip)
        page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
        page.locator("#classify-labels textarea").fill(
            "dog, rain, car horn, violin, helicopter, applause"
        )
        page.locator("#classify-btn").click()
        sync_api.expect(page.locator("#classify-result")).to_contain_text(
            "Top label: dog", timeout=120_000
        )
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "demo_trained_classify.png"), full_page=True)
        page.get_by_role("tab", name="Sizes").click()
        sync_api.expect(page.locator("#sizes-chart .js-plotly-plot")).to_be_attached(timeout=30_000)
        page.screenshot(path=str(OUT / "demo_trained_sizes.png"), full_page=True)
        page.get_by_role("tab", name="About").click()
        sync_api.expect(page.locator("#about-card")).to_contain_text("WavLink-Tiny")
        page.screenshot(path=str(OUT / "demo_trained_about.png"), full_page=True)
        if aut:  # the Explore tab switches the map to the Whisper-AuT model
            page.get_by_role("tab", name="Explore").click()
            page.locator("#explore-backbone").get_by_text("Whisper-AuT", exact=False).click()
            sync_api.expect(page.locator("#map-full")).to_contain_text(
                "Whisper-AuT", timeout=120_000
            )
            page.screenshot(path=str(OUT / "demo_trained_explore_aut.png"), full_page=True)
        assert page.hosts <= {"127.0.0.1"}, f"the page contacted other hosts: {page.hosts}"
    finally:
        demo.close()


SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "wavlink-tiny"

_NO_SIDEWAYS_SCROLL = """sel => { const el = document.querySelector(sel);
  const boxes = [...el.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 2 &&
    ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
  return boxes.map(e => e.className + ' ' + e.scrollWidth + '>' + e.clientWidth); }"""
_BROKEN_NUMBERS = """() => [...document.querySelectorAll('#about-card td')]
  .filter(td => /^[0-9][0-9,.]*$/.test(td.textContent.trim())).filter(td => {
    const r = document.createRange(); r.selectNodeContents(td);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; })
  .map(td => td.textContent.trim())"""
_OVERLAP = """([a, b]) => { const x = document.querySelector(a), y = document.querySelector(b);
  if (!x || !y) return null; const p = x.getBoundingClientRect(), q = y.getBoundingClientRect();
  return !(p.right <= q.left || q.right <= p.left || p.bottom <= q.top || q.bottom <= p.top); }"""


@pytest.fixture(scope="module")
def newcomer_url(test_model, aut_model, tmp_path_factory, serve_demo):
    """The app as a newcomer opens it: the shipped model folder's card and results, full gallery
    categories (32 clips), the Whisper-AuT switch."""
    from demo import build_demo
    from demo.gallery import load_gallery

    if not (SHIPPED_DIR / "eval_results.json").is_file():
        pytest.skip("no shipped evaluation results in assets/wavlink-tiny")
    os.environ["WAVLINK_CACHE"] = str(tmp_path_factory.mktemp("cache-newcomer"))
    demo = build_demo(
        test_model,
        gallery=load_gallery(limit=32),
        model_dir=SHIPPED_DIR,
        warm=False,
        compare_model=aut_model,
    )
    yield serve_demo(demo), demo
    demo.close()


def test_newcomer_walks_every_tab(newcomer_url, page):
    """Issue 14: examples that explain themselves, settings that re-run, readable heatmap and
    tables at 1400 px, downloads, an honest Sizes chart and About, then a 390-px phone."""
    base, demo = newcomer_url
    expect = sync_api.expect
    g, dims = demo.engine.gallery, demo.engine.dims
    OUT.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base)

    # Classify: an example names its label and fills a preset that holds it
    example = page.locator("#classify-examples button").first
    text = example.inner_text(timeout=30_000)  # "car horn (car_horn_01)"
    label, name = re.fullmatch(r"(.+) \((.+)\)", text.strip()).groups()
    assert g.labels[g.names.index(name)] == label
    example.click()
    page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
    expect(page.locator("#classify-labels textarea")).to_have_value(
        re.compile(rf"(^|, ){re.escape(label)}(,|$)"), timeout=30_000
    )
    page.locator("#classify-btn").click()
    expect(page.locator("#classify-result")).to_contain_text("Top label", timeout=60_000)
    page.wait_for_selector("#classify-bars .js-plotly-plot", timeout=30_000)
    expect(page.locator("#classify-bars")).to_contain_text(f"size {dims[0]}", timeout=30_000)
    page.locator("#classify-dim").get_by_text(str(dims[-1]), exact=True).click()  # re-runs
    expect(page.locator("#classify-bars")).to_contain_text(f"size {dims[-1]}", timeout=30_000)
    page.locator("#classify-template textarea").fill("a recording of {}")
    page.locator("#classify-template textarea").press("Enter")  # Enter runs it
    expect(page.locator("#classify-table")).to_contain_text("a recording of ", timeout=30_000)
    expect(page.locator("#classify-csv")).to_contain_text(".csv", timeout=30_000)
    assert page.evaluate(_NO_SIDEWAYS_SCROLL, "#classify-table") == []
    page.screenshot(path=str(OUT / "newcomer_classify.png"), full_page=True)

    # Match: the example loads clips and their captions; a caption keeps its comma
    page.get_by_role("tab", name="Match").click()
    page.locator("#match-examples button").first.click()
    expect(page.locator("#match-captions textarea")).not_to_have_value("", timeout=30_000)
    captions = page.locator("#match-captions textarea").input_value().splitlines()
    captions[0] = "a dog barks twice, then a car passes by on a wet road"
    page.locator("#match-captions textarea").fill("\n".join(captions))
    page.wait_for_timeout(1500)  # the example's files upload
    page.locator("#match-btn").click()
    page.wait_for_selector("#match-heat .js-plotly-plot", timeout=60_000)
    expect(page.locator("#match-best-clip")).to_contain_text("a car passes by", timeout=30_000)
    cells = page.locator("#match-best-clip [role=gridcell]")
    assert cells.count() == 3 * len(captions)  # one row per line: the comma did not split it
    heat = page.locator("#match-heat .main-svg").first.bounding_box()
    assert heat["width"] >= 100 * len(captions) and heat["height"] >= 36 * len(captions)
    ticks = page.locator("#match-heat .xtick text").count()
    assert ticks == len(captions)
    for table in ("#match-best-clip", "#match-best-caption"):
        assert page.evaluate(_NO_SIDEWAYS_SCROLL, table) == []
    expect(page.locator("#match-csv")).to_contain_text(".csv")
    page.screenshot(path=str(OUT / "newcomer_match.png"), full_page=True)

    # Explore: colour by label keeps the labels apart; one map at a time; HTML and PNG downloads
    page.get_by_role("tab", name="Explore").click()
    page.locator("input[type=radio][value=label]").check()
    page.wait_for_selector("#map-full .js-plotly-plot", timeout=60_000)
    expect(page.locator("#map-full")).to_contain_text(g.labels[0], timeout=30_000)
    legend = page.locator("#map-full .legend .traces")
    assert legend.count() == len(set(g.labels)) + 1  # + the ring around the selected item
    with page.expect_download(timeout=30_000) as png:
        page.locator("#map-full").hover()
        page.locator("#map-full .modebar-btn[data-title='Download plot as a PNG']").click()
    assert png.value.suggested_filename.endswith(".png")
    page.locator("#explore-html-btn").click()
    expect(page.locator("#explore-files")).to_contain_text(".html", timeout=60_000)
    page.screenshot(path=str(OUT / "newcomer_explore.png"), full_page=True)

    # Sizes: clip counts named, R@k full by construction left out with the reason
    page.get_by_role("tab", name="Sizes").click()
    page.wait_for_selector("#sizes-chart .js-plotly-plot", timeout=30_000)
    expect(page.locator("#sizes-chart")).to_contain_text("7 clips, small sample")
    expect(page.locator("#sizes-note")).to_contain_text("100 % by construction")
    assert "t2a_R@10" not in page.locator("#sizes-chart").inner_text()
    page.get_by_role("button", name="Rank at every size").click()  # Classify's clip and labels
    expect(page.locator("#sizes-ranks")).to_contain_text(f"cosine @ {dims[-1]}", timeout=60_000)
    expect(page.locator("#sizes-ranks [role=gridcell]").first).to_be_visible(timeout=30_000)
    assert page.evaluate(_NO_SIDEWAYS_SCROLL, "#sizes-ranks") == []
    page.screenshot(path=str(OUT / "newcomer_sizes.png"), full_page=True)

    # About: every table has a header; no number broken across lines; long clips as the demo does
    page.get_by_role("tab", name="About").click()
    heads = page.locator("#about-card table thead").all_inner_texts()
    assert heads and all(h.strip() for h in heads)
    assert page.evaluate(_BROKEN_NUMBERS) == []
    expect(page.locator("#about-demo")).to_contain_text("averaged")
    page.screenshot(path=str(OUT / "newcomer_about.png"), full_page=True)

    # Phone: every tab reachable, one map at a time on shared axes, toolbar off the legend
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base)
    for tab in ("Classify", "Match", "Explore", "Sizes", "About"):
        expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-draw").click()
    page.wait_for_selector("#map-small .js-plotly-plot", timeout=60_000)
    page.locator("#explore-view").get_by_text("smaller size only").click()
    expect(page.locator("#map-full")).to_be_hidden(timeout=10_000)
    small = page.locator("#map-small .main-svg").first.bounding_box()
    assert small["width"] <= 390
    page.locator("#map-small").hover()
    assert page.evaluate(_OVERLAP, ["#map-small .modebar", "#map-small .legend"]) is False
    assert page.evaluate(_OVERLAP, ["#map-small .modebar", "#map-small .gtitle"]) is False
    page.screenshot(path=str(OUT / "newcomer_phone_explore_small.png"), full_page=True)
    page.locator("#explore-view").get_by_text(f"size {dims[0]} only").click()
    expect(page.locator("#map-small")).to_be_hidden(timeout=10_000)
    page.screenshot(path=str(OUT / "newcomer_phone_explore_full.png"), full_page=True)
    page.get_by_role("tab", name="About").click()
    page.screenshot(path=str(OUT / "newcomer_phone_about.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})

    assert page.hosts <= {"127.0.0.1"}, f"the page contacted other hosts: {page.hosts}"
    assert not page.errors, page.errors


@pytest.fixture
def pixel_server():
    """A local image server that counts requests: a label must never make the browser fetch it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[str] = []

    class Pixel(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/pixel.gif", hits
    server.shutdown()


def test_labels_are_shown_as_text_in_browser(url, page, pixel_server):
    """HTML and Markdown typed as labels or captions reach Classify, Sizes and Match as text: no
    element is created from them and the browser never requests the pixel URL."""
    base, demo = url
    pixel, hits = pixel_server
    expect = sync_api.expect
    hostile = [
        f'<img src="{pixel}?classify">',
        "<img src=x onerror=\"document.title='pwned'\">",
        "<form><input><button>go</button></form>",
        "[x](javascript:alert(1))",
    ]
    page.goto(base)
    page.locator("#classify-audio input[type=file]").set_input_files(demo.engine.gallery.paths[0])
    page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
    for label in hostile:  # each one as the top (only) label, so it reaches the headline
        page.locator("#classify-labels textarea").fill(label)
        page.locator("#classify-btn").click()
        expect(page.locator("#classify-result")).to_contain_text(label, timeout=60_000)
        page.wait_for_selector("#classify-bars .js-plotly-plot", timeout=30_000)
    page.get_by_role("tab", name="Sizes").click()
    page.locator("#sizes-btn").click()
    expect(page.locator("#sizes-summary")).to_contain_text(hostile[-1], timeout=60_000)
    page.get_by_role("tab", name="Match").click()
    page.locator("#match-files input[type=file]").set_input_files(demo.engine.gallery.paths[1])
    page.locator("#match-captions textarea").fill(
        f'<img src="{pixel}?match">\n<form><input><button>go</button></form>'
    )
    page.locator("#match-btn").click()
    clip_name = Path(demo.engine.gallery.paths[1]).name
    expect(page.get_by_role("gridcell", name=clip_name).first).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "demo_hostile_labels_match.png"), full_page=True)
    page.get_by_role("tab", name="Classify").click()
    page.screenshot(path=str(OUT / "demo_hostile_labels_classify.png"), full_page=True)
    assert page.locator(f'img[src*="{pixel}"], img[src="x"]').count() == 0
    assert page.locator("form, button:text-is('go')").count() == 0
    assert page.title() != "pwned"
    assert hits == [], f"the browser fetched the pixel: {hits}"
    assert not page.errors, page.errors


def test_an_error_replaces_the_old_result_in_browser(url, page, tmp_path):
    """After a good result, a failing clip clears it; the reason stays where the result was after
    the toast has gone, in words a person can act on, with no server path."""
    import numpy as np
    import soundfile as sf

    base, demo = url
    expect = sync_api.expect
    silent = tmp_path / "quiet_recording.wav"
    sf.write(silent, np.zeros(16_000, np.float32), 16_000)
    page.goto(base)
    page.locator("#classify-audio input[type=file]").set_input_files(demo.engine.gallery.paths[0])
    page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
    page.locator("#classify-btn").click()
    expect(page.locator("#classify-result")).to_contain_text("Top label", timeout=60_000)
    OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUT / "demo_error_before.png"), full_page=True)

    page.locator("#classify-audio button[aria-label='Clear']").click()
    page.locator("#classify-audio input[type=file]").set_input_files(str(silent))
    page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
    page.locator("#classify-btn").click()
    result = page.locator("#classify-result")
    expect(result).to_contain_text("No result", timeout=60_000)
    expect(result).to_contain_text("quiet_recording.wav is silent")
    expect(result).not_to_contain_text("Top label")
    assert page.locator("#classify-bars .js-plotly-plot").count() == 0
    assert page.locator("#classify-info").inner_text().strip() == ""
    page.wait_for_timeout(11_000)  # longer than the toast stays
    expect(result).to_contain_text("quiet_recording.wav is silent")
    assert "/tmp" not in result.inner_text()
    page.screenshot(path=str(OUT / "demo_error_replaces_result.png"), full_page=True)
    assert not page.errors, page.errors
