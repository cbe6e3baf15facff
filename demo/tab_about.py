"""About: the model card shipped with the checkpoint, or the config and an honest 'untrained' note."""

from __future__ import annotations

import gradio as gr

from . import views
from .engine import MAX_CLIP_S, WINDOW_S
from .markdown_tables import fill_empty_headers


def build(engine) -> None:
    card = None
    if engine.model_dir and (engine.model_dir / "MODEL_CARD.md").is_file():
        card = (engine.model_dir / "MODEL_CARD.md").read_text()
    gr.Markdown(
        fill_empty_headers(
            views.model_card(
                engine.model.config.to_dict(), engine.trained, engine.model.training_info, card
            )
        ),
        elem_id="about-card",
    )
    gr.Markdown(
        "### About this demo\n"
        "WavLink (arXiv 2601.15118) appends one learned global token to a Whisper encoder and projects it, "
        "with a text encoder's output, into one shared space trained with Matryoshka losses, so the first "
        f"{', '.join(str(d) for d in engine.dims[1:])} numbers of each {engine.full}-number vector work as "
        "embeddings on their own. Gallery clips: `assets/gallery/ATTRIBUTION.md` (CC0, CC-BY, CC-BY-SA, GPL-2).\n\n"
        f"**Long clips in this demo:** a clip is embedded {WINDOW_S:.0f} s at a time and the window "
        f"embeddings are averaged (weighted by duration), as the API does; the demo uses the first "
        f"{MAX_CLIP_S:.0f} s ({MAX_CLIP_S / WINDOW_S:.0f} windows) of a longer upload and says so next "
        "to the result. Uploads are limited to 20 MB.",
        elem_id="about-demo",
    )
