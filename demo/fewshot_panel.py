"""Few-shot panel of the Classify tab: teach labels with a few example clips, compare with zero-shot.

The user adds examples per label (uploads or gallery clips); they are embedded once and kept in this
user's ``gr.State`` as ``{label: [(name, full-size embedding), ...]}``. "Compare" ranks the Classify
tab's clip twice over the same labels: zero-shot (label prompts) and few-shot (the core's
:class:`wavlink_core.FewShotClassifier`), each with the model's open-set verdict when it has one.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from wavlink_core import AudioError, FewShotClassifier
from wavlink_core.openset import OpenSetVerdict
from wavlink_core.templates import fill_template

from . import escape, views
from .errors import explain, guard

MAX_LABELS = 20
MAX_EXAMPLES = 50  # per user, all labels together: each is one encoder pass


def verdict_line(verdict: OpenSetVerdict | None) -> str:
    if verdict is None:
        return "_no open-set calibration shipped with this model_"
    if verdict.no_match:
        return f"**No label fits** ({verdict.score_kind} {verdict.score:.3f} < {verdict.threshold:.3f})"
    return (
        f"The top label fits ({verdict.score_kind} {verdict.score:.3f} ≥ {verdict.threshold:.3f})"
    )


def summary_rows(store: dict) -> list[list]:
    return [[label, len(items), ", ".join(n for n, _ in items)] for label, items in store.items()]


def add_examples(engine, store: dict, label: str, uploads, picks) -> tuple[dict, list, str]:
    """Embed new examples for ``label``; bad files are skipped and named, the rest are kept."""
    label = (label or "").strip()
    if not label:
        raise ValueError("type the label these examples belong to")
    paths = [str(getattr(u, "name", u)) for u in (uploads or [])]
    names = dict(zip(engine.gallery.names, engine.gallery.paths))
    unknown = [p for p in (picks or []) if p not in names]
    if unknown:
        raise ValueError(f"not gallery clips: {', '.join(unknown)}")
    paths += [names[p] for p in picks or []]
    if not paths:
        raise ValueError(
            f"give at least one example clip for {label!r}: upload or pick from the gallery"
        )
    if label not in store and len(store) >= MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels; clear the examples to start again")
    total = sum(len(v) for v in store.values())
    if total + len(paths) > MAX_EXAMPLES:
        raise ValueError(f"at most {MAX_EXAMPLES} examples in all; you have {total}")
    store = {k: list(v) for k, v in store.items()}
    added, skipped = [], []
    for p in paths:
        try:
            added.append((Path(p).name, engine.clip(p).emb))
        except AudioError as exc:  # one bad file never sinks the others
            skipped.append(explain(exc))
    if added:
        store.setdefault(label, []).extend(added)
    note = f"Added {len(added)} example(s) to **{escape.md(label)}**."
    if skipped:
        note += " Skipped: " + "; ".join(escape.md(s) for s in skipped)
    return store, summary_rows(store), note


def compare(
    engine, store: dict, path: str | None, template: str, dim
) -> tuple[str, object, str, object]:
    """Zero-shot and few-shot rankings of one clip over the labels that have examples."""
    if not store:
        raise ValueError("add examples for at least one label first")
    clip = engine.clip(path)
    dim = engine.model.check_dim(int(dim))
    labels = list(store)
    prompts = [fill_template(template, label) for label in labels]
    calibration = getattr(engine.model, "openset", None)
    cos, probs = engine.scores(clip.emb, prompts, dim)
    zs_order = np.argsort(-cos, kind="stable")
    zs_verdict = calibration and calibration.verdict("zeroshot", dim, cos, int(zs_order[0]))
    items = [(i, emb) for i, label in enumerate(labels) for _, emb in store[label]]
    clf = FewShotClassifier(
        engine.model,
        tuple(labels),
        engine.texts(prompts),
        np.stack([e for _, e in items]),
        np.array([i for i, _ in items]),
        tuple(n for label in labels for n, _ in store[label]),
        (template,),
        dim,
    ).with_head(dims=(dim,))  # the library's default: a linear head when there are enough
    logits, nearest, _ = (x[0] for x in clf.scores(clip.emb[None]))
    fs_probs = np.exp(logits - logits.max())
    fs_probs /= fs_probs.sum()
    fs_order = np.argsort(-logits, kind="stable")
    fs_verdict = calibration and calibration.verdict("fewshot", dim, nearest, int(fs_order[0]))

    def side(order, p, verdict, kind):
        ranked = [labels[i] for i in order]
        text = (
            f"### {kind}: **{escape.md(ranked[0])}** (probability {p[order[0]]:.3f})  \n"
            + verdict_line(verdict or None)
        )
        shown = [escape.plain(n) for n in ranked]
        fig = views.bars_figure(shown, [float(p[i]) for i in order], "softmax", dim, len(labels))
        fig.update_layout(title=f"{kind} · size {dim}")
        return text, fig

    z_text, z_fig = side(zs_order, probs, zs_verdict, "Zero-shot")
    f_text, f_fig = side(fs_order, fs_probs, fs_verdict, "Few-shot")
    return z_text, z_fig, f_text, f_fig


def build(engine, audio, template, dim) -> dict:
    """The panel, wired to the Classify tab's ``audio``, ``template`` and ``dim`` inputs."""
    store = gr.State({})
    with gr.Accordion("Few-shot: teach labels with a few examples", open=False, elem_id="fewshot"):
        gr.Markdown(
            "Give each label a few example clips (upload, or pick gallery clips), then compare "
            "zero-shot and few-shot on the clip above."
        )
        with gr.Row():
            label = gr.Textbox(label="Label", placeholder="e.g. my kettle", elem_id="fewshot-label")
            uploads = gr.File(
                file_count="multiple",
                file_types=["audio"],
                label="Example clips",
                elem_id="fewshot-files",
            )
            picks = gr.Dropdown(
                list(engine.gallery.names),
                multiselect=True,
                label="or gallery clips",
                elem_id="fewshot-picks",
            )
        with gr.Row():
            add = gr.Button("Add examples", elem_id="fewshot-add")
            clear = gr.Button("Clear examples", elem_id="fewshot-clear")
            run = gr.Button(
                "Compare zero-shot and few-shot", variant="primary", elem_id="fewshot-run"
            )
        note = gr.Markdown("", elem_id="fewshot-note")
        table = gr.Dataframe(
            headers=["label", "examples", "files"],
            label="Examples",
            interactive=False,
            elem_id="fewshot-table",
        )
        with gr.Row():
            with gr.Column():
                z_text = gr.Markdown("", elem_id="fewshot-zs")
                z_bars = gr.Plot(label="Zero-shot", elem_id="fewshot-zs-bars")
            with gr.Column():
                f_text = gr.Markdown("", elem_id="fewshot-fs")
                f_bars = gr.Plot(label="Few-shot", elem_id="fewshot-fs-bars")

    def add_and_reset(s, lab, up, pk):
        # The file and gallery pickers are emptied so the next label starts from nothing.
        return (*add_examples(engine, s, lab, up, pk), None, [])

    add.click(
        guard(add_and_reset),
        [store, label, uploads, picks],
        [store, table, note, uploads, picks],
        api_name="fewshot_add",
    )
    clear.click(
        lambda: ({}, [], "Examples cleared."), None, [store, table, note], api_name="fewshot_clear"
    )
    run.click(
        guard(lambda s, p, t, d: compare(engine, s, p, t, d)),
        [store, audio, template, dim],
        [z_text, z_bars, f_text, f_bars],
        api_name="fewshot_compare",
    )
    return {"store": store}
