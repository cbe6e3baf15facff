"""Classify: one clip, typed or preset labels, an editable prompt template, top-k bars at a chosen size."""

from __future__ import annotations

import gradio as gr

from wavlink_core import DEFAULT_TEMPLATE
from wavlink_core.inference import label_prompts

from . import escape, views
from .errors import UPLOAD_NOTE, guard, show_failure, warn


def build(engine, examples: list[str]) -> dict:
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",
                label="Audio clip",
                elem_id="classify-audio",
            )
            gr.Markdown(UPLOAD_NOTE, elem_classes="upload-note")
            info = gr.Markdown("", elem_id="classify-info")
            preset = gr.Dropdown(
                list(views.LABEL_SETS), value=views.DEFAULT_SET, label="Preset label set"
            )
            labels = gr.Textbox(
                views.LABEL_SETS[views.DEFAULT_SET],
                lines=4,
                label="Labels (comma or new line)",
                elem_id="classify-labels",
            )
            template = gr.Textbox(
                DEFAULT_TEMPLATE,
                label="Prompt template ({} is replaced by each label)",
                elem_id="classify-template",
            )
            with gr.Row():
                dim = gr.Radio(
                    list(engine.dims),
                    value=engine.full,
                    label="Matryoshka size (trained sizes only)",
                    elem_id="classify-dim",
                )
                mode = gr.Radio(
                    [("softmax probability", "softmax"), ("cosine similarity", "cosine")],
                    value="softmax",
                    label="Score",
                )
            k = gr.Slider(1, 20, value=5, step=1, label="Show top k")
            button = gr.Button("Classify", variant="primary", elem_id="classify-btn")
        with gr.Column(scale=1):
            headline = gr.Markdown("", elem_id="classify-result")
            bars = gr.Plot(label="Top labels", elem_id="classify-bars")
            prompts = gr.Dataframe(
                headers=["rank", "label", "softmax", "cosine", "prompt"],
                label="All labels",
                interactive=False,
                wrap=True,
            )
    if examples:
        gr.Examples([[p] for p in examples], inputs=[audio], label="Gallery clips to try")

    preset.change(lambda name: views.LABEL_SETS[name], preset, labels, api_visibility="private")

    @guard
    def classify(path, label_text, tmpl, size, score, top):
        clip = engine.clip(path)
        if clip.warning:
            warn(clip.warning)
        names, texts = label_prompts(label_text, tmpl)
        cos, probs = engine.scores(clip.emb, texts, int(size))
        shown = probs if score == "softmax" else cos
        order = sorted(range(len(names)), key=lambda i: -cos[i])
        ranked = [names[i] for i in order]
        vals = [float(shown[i]) for i in order]
        table = [
            [r + 1, names[i], round(float(probs[i]), 4), round(float(cos[i]), 4), texts[i]]
            for r, i in enumerate(order)
        ]
        return (
            f"**Clip:** {clip.info}",
            views.result_headline(ranked[0], vals[0], score, engine.trained),
            views.bars_figure([escape.plain(n) for n in ranked], vals, score, int(size), int(top)),
            table,
        )

    run = button.click(
        classify,
        [audio, labels, template, dim, mode, k],
        [info, headline, bars, prompts],
        api_name="classify",
    )
    show_failure(run, classify, [headline, info, bars, prompts], ("", None, None))
    return {"audio": audio, "labels": labels, "template": template}
