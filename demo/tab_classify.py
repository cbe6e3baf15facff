"""Classify: one clip, typed or preset labels, an editable prompt template, top-k bars at a chosen size."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from wavlink_core import DEFAULT_TEMPLATE
from wavlink_core.inference import label_prompts

from . import escape, fewshot_panel, views
from .errors import UPLOAD_NOTE, guard, show_failure, warn
from .label_sets import preset_for, with_gallery


def build(engine, examples: list[int], downloads) -> dict:
    """``examples``: gallery indices offered as example clips, each shown with its label."""
    sets = with_gallery(engine.gallery.labels)
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
                list(sets),
                value=views.DEFAULT_SET,
                label="Preset label set",
                elem_id="classify-preset",
            )
            labels = gr.Textbox(
                sets[views.DEFAULT_SET],
                lines=4,
                label="Labels (comma or new line)",
                elem_id="classify-labels",
            )
            template = gr.Textbox(
                DEFAULT_TEMPLATE,
                label="Prompt template ({} is replaced by each label; Enter runs it)",
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
                column_widths=["9%", "26%", "15%", "15%", "35%"],
                elem_id="classify-table",
            )
            csv_file = gr.File(label="Download this result (CSV)", elem_id="classify-csv")
    g = engine.gallery
    if examples:
        gr.Examples(
            [[g.paths[i], preset_for(g.categories[i], g.labels[i], sets)] for i in examples],
            inputs=[audio, preset],
            # Clicking one fills its preset's labels even when the preset was already chosen.
            outputs=[labels],
            fn=lambda _path, name: sets[name],
            run_on_click=True,
            api_visibility="private",
            example_labels=[f"{g.labels[i]} ({g.names[i]})" for i in examples],
            label="Gallery clips to try: the true label is on each; the preset holds it",
            elem_id="classify-examples",
        )
    fewshot_panel.build(engine, audio, template, dim)

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
        header = ["rank", "label", "softmax", "cosine", "prompt"]
        stem = Path(path).stem
        download = downloads.csv(
            f"classify_{stem}_size{int(size)}.csv",
            ["clip", "size"] + header,
            [[stem, int(size)] + row for row in table],
        )
        return (
            f"**Clip:** {clip.info}",
            views.result_headline(ranked[0], vals[0], score, engine.trained),
            views.bars_figure([escape.plain(n) for n in ranked], vals, score, int(size), int(top)),
            table,
            download,
        )

    inputs = [audio, labels, template, dim, mode, k]
    outputs = [info, headline, bars, prompts, csv_file]
    # A failure clears the old result: the reason goes where the headline was.
    on_fail = ([headline, info, bars, prompts, csv_file], ("", None, None, None))
    show_failure(button.click(classify, inputs, outputs, api_name="classify"), classify, *on_fail)

    def rerun(path, *rest):
        """The last result again with the new setting; nothing before a clip is loaded."""
        return classify(path, *rest) if path else [gr.skip()] * len(outputs)

    # A preset fills the labels and re-runs; size, score and k re-run; Enter in the template runs.
    preset_run = preset.change(
        lambda name: sets[name], preset, labels, api_visibility="private"
    ).then(rerun, inputs, outputs, api_visibility="private")
    setting_run = gr.on(
        [dim.change, mode.change, k.release, template.submit],
        rerun,
        inputs,
        outputs,
        api_visibility="private",
    )
    for event in (preset_run, setting_run):
        show_failure(event, classify, *on_fail)
    return {"audio": audio, "labels": labels, "template": template}
