"""Explore: the embedding map at two Matryoshka sizes side by side, neighbours at both sizes, export.

With two models (one on vanilla Whisper, one on a Whisper-AuT adapted encoder) a switch shows the
same gallery, clips and captions through either audio backbone.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from wavlink_core.matryoshka import truncate_np

from . import escape, views
from .engine import METHODS, STATE_TTL_S
from .errors import UPLOAD_NOTE, each, guard, show_failure, warn
from .gallery import pick as pick_examples

EXAMPLE_LABELS = ("dog", "rain", "violin")
MAX_ITEMS = 200  # clips and captions a session adds to the map; older ones drop out


def build(engines, downloads, tab=None) -> None:
    """``engines``: one Engine per audio backbone, the app's main one first; same gallery, same sizes.
    ``downloads``: the app's :class:`~demo.downloads.Downloads`, where exported files are written."""
    by_name = {e.backbone: e for e in engines}
    engine = engines[0]
    g = engine.gallery
    # this user's items: [{"name", "kind", "group", "path", "emb": {backbone: (D,) vector}}]
    user = gr.State([], time_to_live=STATE_TTL_S)
    small_default = engine.dims[-1]
    with gr.Row():
        method = gr.Radio(list(METHODS), value="PCA", label="Projection", elem_id="explore-method")
        small = gr.Radio(
            list(engine.dims[1:]) or [engine.full],
            value=small_default,
            label=f"Compare size {engine.full} with",
            elem_id="explore-small",
        )
        colour = gr.Radio(["label", "category", "modality"], value="category", label="Colour by")
    backbone = gr.Radio(
        list(by_name),
        value=engine.backbone,
        label="Audio backbone",
        visible=len(by_name) > 1,
        elem_id="explore-backbone",
    )
    with gr.Row():
        uploads = gr.File(
            file_count="multiple", file_types=["audio"], label="Add your clips to the map"
        )
        captions = gr.Textbox(
            "",
            lines=3,
            label="Add captions to the map (one per line)",
            placeholder="a dog barking\nwaves on a beach",
        )
    gr.Markdown(UPLOAD_NOTE, elem_classes="upload-note")
    ex = pick_examples(g, EXAMPLE_LABELS)
    if ex:
        gr.Examples(
            [[[g.paths[i] for i in ex[:1]], "\n".join(g.captions[i] for i in ex)]],
            inputs=[uploads, captions],
            example_labels=[
                f"a {g.labels[ex[0]]} clip + {len(ex)} captions ({', '.join(g.labels[i] for i in ex)})"
            ],
            label="Example",
            elem_id="explore-examples",
        )
    with gr.Row():
        add_btn = gr.Button("Add to map", elem_id="explore-add")
        draw_btn = gr.Button("Draw maps", variant="primary", elem_id="explore-draw")
        export_btn = gr.Button("Export embeddings (CSV + NPY)")
        html_btn = gr.Button("Download maps (HTML)", elem_id="explore-html-btn")
    sizes = gr.Markdown("", elem_id="explore-bytes")
    # On a phone the two maps stack; showing one at a time on the same axes keeps the comparison.
    view = gr.Radio(
        ["side by side", f"size {engine.full} only", "smaller size only"],
        value="side by side",
        label="Show (both maps share their axes, so flicking between sizes compares them point "
        "by point; the toolbar's camera saves a PNG)",
        elem_id="explore-view",
    )
    with gr.Row():
        # No component label: it would cover the plot toolbar; the titles name the sizes.
        map_full = gr.Plot(label=f"size {engine.full}", show_label=False, elem_id="map-full")
        map_small = gr.Plot(label="smaller size", show_label=False, elem_id="map-small")
    gr.Markdown("### Neighbours of one item at both sizes")
    with gr.Row():
        item = gr.Dropdown(
            list(g.names),
            value=g.names[0] if len(g) else None,
            label="Item",
            scale=3,
            elem_id="explore-item",
        )
        k = gr.Slider(1, 20, value=5, step=1, label="k", scale=1)
        nb_btn = gr.Button("Find neighbours", scale=1)
    overlap = gr.Markdown("", elem_id="explore-overlap")
    table = gr.Dataframe(
        headers=["rank", f"neighbour @ {engine.full}", "cosine", "neighbour @ small", "cosine"],
        interactive=False,
        label="Nearest neighbours (click a name to play it)",
        elem_id="explore-neighbours",
    )
    with gr.Row():
        player = gr.Audio(label="Selected neighbour", interactive=False, elem_id="explore-player")
        files = gr.File(
            label="Downloads: embeddings, maps", file_count="multiple", elem_id="explore-files"
        )

    def pick(name):
        if name not in by_name:
            raise gr.Error(f"unknown backbone {name!r}; choose one of {list(by_name)}")
        return by_name[name]

    def items(state, name):
        e = pick(name)
        names = list(g.names) + [d["name"] for d in state]
        kinds = ["gallery"] * len(g) + [d["kind"] for d in state]
        labels = list(g.labels) + [d["group"] for d in state]
        cats = list(g.categories) + [d["group"] for d in state]
        paths = list(g.paths) + [d["path"] for d in state]
        emb = np.vstack([e.gallery_emb] + [d["emb"][name][None] for d in state])
        return names, kinds, labels, cats, paths, emb

    @guard
    def add(paths, text, state):
        paths = [p if isinstance(p, str) else p.name for p in (paths or [])]
        caps = [t.strip() for t in (text or "").splitlines() if t.strip()]
        if not paths and not caps:
            raise gr.Error("Upload a clip or type a caption first.")
        state = list(state)
        have = {d["name"] for d in state}
        # Embedded through every backbone now, so switching backbones keeps the user's items.
        good, _ = each(paths, lambda p: {n: e.clip(p) for n, e in by_name.items()})
        for p, clips in good:
            if clips[engine.backbone].warning:
                warn(clips[engine.backbone].warning)
            name = f"you: {Path(p).name}"
            if name not in have:
                emb = {n: c.emb for n, c in clips.items()}
                state.append(
                    {
                        "name": name,
                        "kind": "your clip",
                        "group": "your clips",
                        "path": p,
                        "emb": emb,
                    }
                )
        if caps:
            per = {n: e.texts(caps) for n, e in by_name.items()}
            for i, t in enumerate(caps):
                name = f"“{t}”"
                if name not in have:
                    emb = {n: v[i] for n, v in per.items()}
                    state.append(
                        {
                            "name": name,
                            "kind": "caption",
                            "group": "captions",
                            "path": None,
                            "emb": emb,
                        }
                    )
        state = state[-MAX_ITEMS:]
        return state, gr.update(choices=items(state, engine.backbone)[0])

    @guard
    def draw(meth, size, col, state, selected, name):
        e = pick(name)
        names, kinds, labels, cats, _, emb = items(state, name)
        groups = {
            "label": labels,
            "category": cats,
            "modality": ["audio" if k != "caption" else "text" for k in kinds],
        }[col]
        extra = emb[len(g) :]
        hi = names.index(selected) if selected in names else None
        figs = []
        tag = f"<br><sub>{name}</sub>" if len(by_name) > 1 else ""  # too long for one line
        layouts = {d: e.layout(meth, d, extra) for d in (engine.full, int(size))}
        ranges = views.shared_ranges(*layouts.values())
        for d, xy in layouts.items():
            note = "" if d == engine.full else f"<br><sub>aligned to size {engine.full} (Procrustes)</sub>"
            title = f"{meth} at size {d}{note}{tag}"
            shown = [escape.plain(n) for n in names], [escape.plain(x) for x in groups]
            figs.append(views.map_figure(xy, *shown, kinds, title, hi, ranges))
        if len(figs) == 1:  # the small size equals the full one
            figs.append(figs[0])
        text = (
            f"**Bytes per vector:** size {engine.full}: {views.bytes_per_vector(engine.full)} · size {int(size)}: "
            f"{views.bytes_per_vector(int(size))} ({engine.full // int(size)}× smaller). Maps are fitted on the "
            f"{len(g)} gallery clips; your clips and captions are placed on them, not refitted"
            + (
                " (t-SNE: at the weighted mean of their 5 nearest gallery clips)."
                if meth == "t-SNE"
                else "."
            )
        )
        return figs[0], figs[1], text

    @guard
    def neighbours(selected, kk, size, state, name):
        names, kinds, _, _, paths, emb = items(state, name)
        if selected not in names:
            raise gr.Error("Choose an item from the list.")
        q = names.index(selected)
        full, sm = emb, truncate_np(emb, int(size))
        rows, a, b = views.neighbour_rows(full @ full[q], sm @ sm[q], names, int(kk), exclude=q)
        ov = views.overlap_at_k(a, b)
        msg = (
            f"**Top-{int(kk)} overlap between size {engine.full} and size {int(size)}: {ov:.0%}** "
            f"({len(set(a) & set(b))} of {len(a)} neighbours shared)"
        )
        table_paths = [[paths[i] for i in a], [paths[j] for j in b]]
        return (
            msg,
            gr.update(
                value=rows,
                headers=[
                    "rank",
                    f"neighbour @ {engine.full}",
                    "cosine",
                    f"neighbour @ {int(size)}",
                    "cosine",
                ],
            ),
            table_paths,
        )

    nb_paths = gr.State([[], []])

    def play(paths, evt: gr.SelectData):
        r, c = evt.index
        col = 0 if c <= 2 else 1
        try:
            path = paths[col][r]
        except (IndexError, TypeError):
            return None
        return path if path and Path(path).is_file() else None  # an upload may have expired

    @guard
    def export(size, state, name):
        names, kinds, labels, _, _, emb = items(state, name)
        out = downloads.new_folder()  # one request's files together
        files = []
        for d in dict.fromkeys((engine.full, int(size))):
            e = truncate_np(emb, d)
            npy = downloads.new_path(f"embeddings_{d}.npy", out)
            np.save(npy, e)
            rows = [
                [n, kd, lb] + [f"{v:.6f}" for v in row]
                for n, kd, lb, row in zip(names, kinds, labels, e, strict=False)
            ]
            header = ["name", "kind", "label"] + [f"e{i}" for i in range(d)]
            files += [str(npy), downloads.csv(f"embeddings_{d}.csv", header, rows, out)]
        return files

    @guard
    def maps_html(meth, size, col, state, selected, name):
        """Both maps as they are drawn now, each one self-contained HTML file (works offline)."""
        full, small_fig, _ = draw(meth, size, col, state, selected, name)
        out = downloads.new_folder()
        return [
            downloads.html(f"map_{meth}_size{d}.html", fig, out)
            for d, fig in ((engine.full, full), (int(size), small_fig))
        ]

    added = add_btn.click(add, [uploads, captions, user], [user, item], api_name="explore_add")
    show_failure(added, add, [sizes])
    added.success(
        draw,
        [method, small, colour, user, item, backbone],
        [map_full, map_small, sizes],
        api_visibility="private",
    )
    drawn = draw_btn.click(
        draw,
        [method, small, colour, user, item, backbone],
        [map_full, map_small, sizes],
        api_name="explore_map",
    )
    show_failure(drawn, draw, [sizes, map_full, map_small], (None, None))
    if (
        tab is not None
    ):  # draw the default maps when the tab is first opened (PCA: memoised, milliseconds)
        tab.select(
            draw,
            [method, small, colour, user, item, backbone],
            [map_full, map_small, sizes],
            api_visibility="private",
        )
    redrawn = gr.on(
        [method.change, small.change, colour.change, backbone.change],
        draw,
        [method, small, colour, user, item, backbone],
        [map_full, map_small, sizes],
        api_visibility="private",
    )
    show_failure(redrawn, draw, [sizes, map_full, map_small], (None, None))
    nb_btn.click(
        neighbours,
        [item, k, small, user, backbone],
        [overlap, table, nb_paths],
        api_name="neighbours",
    ).then(
        draw,
        [method, small, colour, user, item, backbone],
        [map_full, map_small, sizes],
        api_visibility="private",
    )
    table.select(play, [nb_paths], player, api_visibility="private")
    export_btn.click(export, [small, user, backbone], files, api_name="export")
    html_btn.click(
        maps_html,
        [method, small, colour, user, item, backbone],
        files,
        api_name="export_maps_html",
    )
    view.change(
        lambda v: (
            gr.update(visible=v != "smaller size only"),
            gr.update(visible=v != f"size {engine.full} only"),
        ),
        view,
        [map_full, map_small],
        api_visibility="private",
    )
