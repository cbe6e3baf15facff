"""Sizes: the shipped quality-vs-size results (never invented) and, live, how one clip's ranking moves."""

from __future__ import annotations

import gradio as gr

from wavlink_core import DEFAULT_TEMPLATE
from wavlink_core.inference import label_prompts

from . import escape, views
from .errors import UPLOAD_NOTE, guard, show_failure, warn
from .eval_view import dataset_counts, with_counts
from .label_sets import with_gallery

NO_RESULTS = (
    "**No evaluation results shipped with this model** (no `eval_results.json` in its checkpoint "
    "folder), so there is no measured quality-vs-size chart to show. Nothing is estimated here."
)


def build(engine) -> dict:
    path = engine.model_dir / "eval_results.json" if engine.model_dir else None
    rows, dropped = [], []
    if path and path.is_file():
        try:
            text = path.read_text()
            rows, dropped = with_counts(views.parse_eval_results(text), dataset_counts(text))
        except ValueError:
            rows = []
    gr.Markdown("### Measured quality at each size")
    sizes_md = " · ".join(f"{d}: {views.bytes_per_vector(d)}" for d in engine.dims)
    if rows:
        gr.Markdown(
            f"From `{path.name}` shipped with the model; each metric names the clips it rests on. "
            f"Bytes per vector: {sizes_md}"
            + "".join(f"  \nLeft out: {d}." for d in dropped),
            elem_id="sizes-note",
        )
        gr.Plot(views.sizes_figure(rows), elem_id="sizes-chart")
        gr.Dataframe(
            [[r["metric"], r["dim"], round(100 * r["value"], 1)] for r in rows],
            headers=["metric", "size", "score %"],
            interactive=False,
            wrap=True,
            column_widths=["70%", "12%", "18%"],
        )
    else:
        gr.Markdown(NO_RESULTS + f"  \nBytes per vector: {sizes_md}", elem_id="sizes-none")
    gr.Markdown(
        "### How this clip's ranking changes across sizes (computed live)\nThe clip and labels follow the "
        "Classify tab; you can also upload another here."
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio clip")
            gr.Markdown(UPLOAD_NOTE, elem_classes="upload-note")
            labels = gr.Textbox(
                with_gallery(engine.gallery.labels)[views.DEFAULT_SET], lines=3, label="Labels"
            )
            template = gr.Textbox(DEFAULT_TEMPLATE, label="Prompt template")
            button = gr.Button("Rank at every size", variant="primary", elem_id="sizes-btn")
        with gr.Column():
            summary = gr.Markdown("", elem_id="sizes-summary")
    # Full width: 1 + 2 × sizes columns do not fit half of a 1400-px page.
    n = len(engine.dims)
    table = gr.Dataframe(
        headers=["label"]
        + [f"rank @ {d}" for d in engine.dims]
        + [f"cosine @ {d}" for d in engine.dims],
        interactive=False,
        wrap=True,
        column_widths=["20%"] + [f"{80 / (2 * n):.1f}%"] * (2 * n),
        label="Rank of each label at each size",
        elem_id="sizes-ranks",
    )

    @guard
    def rank(path, label_text, tmpl):
        clip = engine.clip(path)
        if clip.warning:
            warn(clip.warning)
        names, prompts = label_prompts(label_text, tmpl)
        cos = {d: engine.scores(clip.emb, prompts, d)[0] for d in engine.dims}
        header, body = views.rank_table(names, cos)
        tops = ", ".join(
            f"{d}: **{escape.md(body_top)}**"
            for d, body_top in ((d, names[int(cos[d].argmax())]) for d in engine.dims)
        )
        note = "" if engine.trained else " (untrained model: arbitrary)"
        return f"Clip: {clip.info}  \nTop label by size — {tops}{note}", gr.update(
            value=body, headers=header
        )

    run = button.click(rank, [audio, labels, template], [summary, table], api_name="rank_sizes")
    show_failure(run, rank, [summary, table], (None,))
    return {"audio": audio, "labels": labels, "template": template}
