"""The few-shot panel in a real browser (Debian's chromium), with the shipped model when bundled.

Screenshot: test-output/demo_fewshot.png.
"""

from __future__ import annotations

import pytest
from test_demo_browser import OUT, _bundled_trained, page, sync_api  # noqa: F401

from demo.gallery import Gallery, load_gallery


def gallery_of(*prefixes: str) -> Gallery:
    """The bundled gallery cut down to the clips whose names start with ``prefixes``."""
    g = load_gallery()
    keep = [i for i, n in enumerate(g.names) if n.startswith(prefixes)]
    return Gallery(*(tuple(getattr(g, f)[i] for i in keep) for f in Gallery.__dataclass_fields__))


@pytest.mark.slow
@pytest.mark.skipif(_bundled_trained() is None, reason="no trained model bundled in assets/ yet")
def test_fewshot_panel_teaches_cow_and_horse_in_browser(page, tmp_path, serve_demo):  # noqa: F811
    """Two gallery cows (picked) and two horses (uploaded) as examples: the third cow is named."""
    import os

    from demo import build_demo
    from wavlink_core import load_pretrained

    os.environ["WAVLINK_CACHE"] = str(tmp_path)
    gallery = gallery_of("cow", "horse", "sheep")
    demo = build_demo(load_pretrained(_bundled_trained()), gallery=gallery, warm=False)
    url = serve_demo(demo)
    paths = dict(zip(gallery.names, gallery.paths))
    expect = sync_api.expect
    try:
        page.goto(url)
        page.locator("#classify-audio input[type=file]").set_input_files(paths["cow_03"])
        page.wait_for_selector("#classify-audio audio", state="attached", timeout=30_000)
        page.locator("#fewshot").get_by_text("Few-shot: teach labels").click()
        page.locator("#fewshot-label input, #fewshot-label textarea").first.fill("cow")
        picks = page.locator("#fewshot-picks input")
        for name in ("cow_01", "cow_02"):
            picks.click()
            picks.fill(name)
            page.get_by_role("option", name=name, exact=True).click()
        page.locator("#fewshot-add").click()
        expect(page.locator("#fewshot-note")).to_contain_text("Added 2 example", timeout=60_000)
        page.locator("#fewshot-label input, #fewshot-label textarea").first.fill("horse")
        page.locator("#fewshot-files input[type=file]").set_input_files(
            [paths["horse_01"], paths["horse_02"]]
        )
        page.wait_for_timeout(1500)  # the upload finishes before the click is handled
        page.locator("#fewshot-add").click()
        expect(page.locator("#fewshot-table")).to_contain_text("horse", timeout=60_000)
        table = page.locator("#fewshot-table").inner_text()
        # each label keeps only its own examples (the pickers are emptied after Add)
        assert table.count("cow_01.ogg") == 1 and "horse_01.ogg, horse_02.ogg" in table
        page.locator("#fewshot-run").click()
        expect(page.locator("#fewshot-fs")).to_contain_text("Few-shot: cow", timeout=60_000)
        expect(page.locator("#fewshot-zs")).to_contain_text("Zero-shot:")
        page.wait_for_selector("#fewshot-fs-bars .js-plotly-plot", timeout=30_000)
        OUT.mkdir(exist_ok=True)
        page.locator("#fewshot").scroll_into_view_if_needed()
        page.screenshot(path=str(OUT / "demo_fewshot.png"), full_page=True)
        assert page.hosts <= {"127.0.0.1"}, f"the page contacted other hosts: {page.hosts}"
        assert not page.errors, page.errors
    finally:
        demo.close()
