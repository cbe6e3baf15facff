"""The WavLink demo: ``build_demo(model)`` returns the Gradio Blocks; ``app.py`` only launches it."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import (
    cache_cleaning,
    tab_about,
    tab_classify,
    tab_explore,
    tab_library,
    tab_match,
    tab_sizes,
    views,
)
from .downloads import Downloads
from .engine import Engine
from .errors import UPLOAD_LIMIT
from .gallery import Gallery, load_gallery, pick
from .library_search import gallery_source, served_source
from .session_library import SessionLibraries

CLASSIFY_EXAMPLES = ("dog", "cello", "rain", "car horn", "rooster", "helicopter", "sheep", "thunder")
CSS = (
    "#classify-result h3 {margin: 0.2em 0;} "
    ".banner-untrained {border-left: 4px solid #E45756; padding-left: 8px;} "
    # About's tables: numbers such as 3,780 must not break inside a narrow column.
    "#about-card td, #about-card th {overflow-wrap: normal; word-break: keep-all; hyphens: none;} "
    "#match-heat .js-plotly-plot {overflow-x: auto;} "
    # Phone: six short tabs fit in 390 px when their padding shrinks, instead of a '⋯' menu.
    "@media (max-width: 520px) {.tab-wrapper .tab-container button {padding: 4px 7px !important; "
    "font-size: 14px !important; min-width: 0 !important;} "
    # Library results: six headers in one line at 390 px, never one letter per line (the
    # column widths in tab_library.py are sized for this font and padding).
    "#library-results .cell-wrap {padding: 3px !important;} "
    "#library-results .cell-wrap > span {font-size: 12px !important;} "
    "#library-results th .header {font-size: 11px !important;}} "
    "#library-results th .header {word-break: keep-all; overflow-wrap: normal; white-space: nowrap;}"
)
# Uploads and returned files in Gradio's cache: every 5 minutes, remove those older than 30 minutes.
DELETE_CACHE = (300, 1800)
LAUNCH_KWARGS = dict(
    max_file_size=UPLOAD_LIMIT, footer_links=["gradio", "settings"], css=CSS, theme=gr.themes.Soft()
)


def build_demo(
    model,
    gallery: Gallery | None = None,
    model_dir: str | Path | None = None,
    warm: bool = True,
    compare_model=None,
    delete_cache: tuple[int, int] | None = DELETE_CACHE,
    library: str | Path | None = None,
) -> gr.Blocks:
    """The app for ``model``; ``gallery`` defaults to assets/gallery, ``model_dir`` is the checkpoint folder
    (for eval_results.json and MODEL_CARD.md). ``compare_model``: a second model of the same sizes on
    another audio backbone (e.g. Whisper-AuT), which the Explore tab can switch to. Launch with
    ``demo.launch(**LAUNCH_KWARGS)``. ``delete_cache``: (every s, older than s) for the cleaning of
    uploads and returned files in Gradio's cache (None: none). ``demo.downloads`` holds the app's
    own copies of files it returns; they go at exit, or at once with ``demo.downloads.close()``.
    ``library``: a prebuilt sound library (``python -m wavlink_core index``) that the Library tab
    searches read-only instead of the gallery; it must be built with ``model``.

    Raises:
        LibraryError: ``library`` is missing, not a library, or built with another model."""
    # Opened first: a wrong --library stops the app before any embedding work.
    served = served_source(library, model) if library is not None else None
    engine = Engine(model, gallery if gallery is not None else load_gallery(), model_dir)
    engines = [engine]
    if compare_model is not None:
        other = Engine(compare_model, engine.gallery)
        if other.dims != engine.dims or other.backbone == engine.backbone:
            raise ValueError(
                f"compare_model must have the same sizes on another backbone: got sizes "
                f"{other.dims} on {other.backbone!r} vs {engine.dims} on {engine.backbone!r}"
            )
        engines.append(other)
    if warm:
        for e in engines:
            e.warm()
    downloads = Downloads()
    shared = served or gallery_source(model, engine.gallery, engine.gallery_emb)
    sessions = SessionLibraries(model)
    with gr.Blocks(
        title="WavLink: audio–text embeddings at every size", delete_cache=delete_cache
    ) as demo:
        gr.Markdown(
            f"# WavLink · audio–text embeddings at sizes {', '.join(map(str, engine.dims))}"
        )
        if not engine.trained:
            gr.Markdown(
                views.UNTRAINED_BANNER, elem_id="untrained-banner", elem_classes="banner-untrained"
            )
        with gr.Tabs():
            with gr.Tab("Classify", id="classify"):
                cls = tab_classify.build(
                    engine, pick(engine.gallery, CLASSIFY_EXAMPLES), downloads
                )
            with gr.Tab("Match", id="match"):
                tab_match.build(engine, downloads)
            with gr.Tab("Explore", id="explore") as explore:
                tab_explore.build(engines, downloads, explore)
            with gr.Tab("Library", id="library"):
                tab_library.build(engine, downloads, shared, sessions)
            with gr.Tab("Sizes", id="sizes"):
                siz = tab_sizes.build(engine)
            with gr.Tab("About", id="about"):
                tab_about.build(engine)
        for key in (
            "audio",
            "labels",
            "template",
        ):  # Sizes follows the Classify tab's clip and labels
            cls[key].change(lambda v: v, cls[key], siz[key], api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=2, max_size=64)
    if delete_cache:  # Gradio's own schedule stops under steady uploads: see cache_cleaning
        cache_cleaning.start(demo, *delete_cache)
    demo.engine = engine
    demo.engines = engines
    demo.downloads = downloads
    demo.library = shared
    demo.session_libraries = sessions
    return demo
