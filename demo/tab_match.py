"""Match: clips × captions heatmap, best caption per clip and best clip per caption; text → audio search."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from wavlink_core.inference import parse_labels
from wavlink_core.matryoshka import truncate_np

from . import views
from .engine import STATE_TTL_S
from .errors import UPLOAD_NOTE, each, guard, show_failure, skipped_note, warn
from .gallery import pick
from .heatmap import heatmap_figure

N_PLAY = 3
EXAMPLE_LABELS = ("dog", "rain", "car horn", "violin", "sheep", "helicopter")
MAX_MINE = 64  # clips a session keeps for search; older ones drop out, so memory stays bounded


def _paths(files) -> list[str]:
    return [f if isinstance(f, str) else f.name for f in (files or [])]


def build(engine, downloads) -> None:
    mine = gr.State([], time_to_live=STATE_TTL_S)  # this user's clips: [{"name", "path", "emb"}]
    with gr.Row():
        dim = gr.Radio(
            list(engine.dims), value=engine.full, label="Matryoshka size", elem_id="match-dim"
        )
    with gr.Row():
        with gr.Column(scale=1):
            files = gr.File(
                file_count="multiple",
                file_types=["audio"],
                label="Audio clips (several)",
                elem_id="match-files",
            )
            gr.Markdown(UPLOAD_NOTE, elem_classes="upload-note")
        with gr.Column(scale=1):
            captions = gr.Textbox(
                "a dog barking\nrain falling\na car horn\nsomeone playing the violin",
                lines=5,
                label="Captions (one per line; commas stay inside a caption)",
                elem_id="match-captions",
            )
            button = gr.Button("Match", variant="primary", elem_id="match-btn")
    g = engine.gallery
    ex = pick(g, EXAMPLE_LABELS)
    if ex:
        gr.Examples(
            [[[g.paths[i] for i in ex], "\n".join(g.captions[i] for i in ex)]],
            inputs=[files, captions],
            example_labels=[
                f"{len(ex)} clips + captions ({', '.join(g.labels[i] for i in ex)})"
            ],
            label="Example",
            elem_id="match-examples",
        )
    # Where the result goes: a failed run's reason, or the files a batch skipped.
    status = gr.Markdown("", elem_id="match-status")
    # Full width, sized to its content (demo/heatmap.py): a half-width column squeezed it to 256×64.
    heat = gr.Plot(label="Similarity heatmap", elem_id="match-heat")
    with gr.Row():
        best_cap = gr.Dataframe(
            headers=["clip", "best caption", "cosine"],
            label="Best caption per clip",
            interactive=False,
            wrap=True,
            column_widths=["35%", "47%", "18%"],
            elem_id="match-best-caption",
        )
        best_clip = gr.Dataframe(
            headers=["caption", "best clip", "cosine"],
            label="Best clip per caption",
            interactive=False,
            wrap=True,
            column_widths=["47%", "35%", "18%"],
            elem_id="match-best-clip",
        )
    csv_file = gr.File(label="Download the similarity matrix (CSV)", elem_id="match-csv")
    gr.Markdown("### Search the gallery and your clips by text")
    with gr.Row():
        query = gr.Textbox("a cow mooing", label="Describe a sound", scale=3)
        k = gr.Slider(1, 20, value=5, step=1, label="Results", scale=1)
        search_btn = gr.Button("Search", scale=1, elem_id="search-btn")
    results = gr.Dataframe(
        headers=["rank", "clip", "source", "label", "cosine"],
        label="Results",
        interactive=False,
        wrap=True,
        elem_id="search-results",
    )
    with gr.Row():
        players = [gr.Audio(label=f"Result {i + 1}", interactive=False) for i in range(N_PLAY)]

    @guard
    def match(paths, caption_text, size, state):
        paths = _paths(paths)
        if not paths:
            raise gr.Error("Upload at least one audio clip.")
        # One caption per line: a list, so parse_labels never splits a caption at its commas.
        caps = parse_labels((caption_text or "").splitlines())
        good, failed = each(paths, engine.clip)
        for _, c in good:
            if c.warning:
                warn(c.warning)
        paths = [p for p, _ in good]
        clips = [c.emb for _, c in good]
        names = [Path(p).name for p in paths]
        size = int(size)
        sim = truncate_np(np.stack(clips), size) @ truncate_np(engine.texts(caps), size).T
        per_clip, per_cap = views.best_matches(sim, names, caps)
        known = {d["path"] for d in state}
        state = state + [
            {"name": n, "path": p, "emb": e}
            for n, p, e in zip(names, paths, clips, strict=False)
            if p not in known
        ]
        table = downloads.csv(
            f"match_size{size}.csv",
            ["clip"] + caps,
            [[n] + [round(float(v), 4) for v in row] for n, row in zip(names, sim, strict=True)],
        )
        note = skipped_note(failed, len(failed) + len(good))
        heat = heatmap_figure(sim, names, caps, size)
        return heat, per_clip, per_cap, state[-MAX_MINE:], note, table

    @guard
    def search(text, top, size, state):
        if not text or not text.strip():
            raise gr.Error("Type a description to search for.")
        size = int(size)
        embs = [engine.gallery_emb] + ([np.stack([d["emb"] for d in state])] if state else [])
        pool = truncate_np(np.vstack(embs), size)
        paths = list(engine.gallery.paths) + [d["path"] for d in state]
        names = list(engine.gallery.names) + [d["name"] for d in state]
        src = ["gallery"] * len(engine.gallery) + ["your clip"] * len(state)
        labs = list(engine.gallery.labels) + ["—"] * len(state)
        sims = pool @ truncate_np(engine.texts([text.strip()]), size)[0]
        top_idx = views.top_k(sims, int(top))
        rows = [
            [r + 1, names[i], src[i], labs[i], round(float(sims[i]), 4)]
            for r, i in enumerate(top_idx)
        ]
        # An upload the cache cleaning has removed is still searchable, just no longer playable.
        audio = [paths[i] if Path(paths[i]).is_file() else None for i in top_idx[:N_PLAY]]
        audio += [None] * (N_PLAY - len(audio))
        return [rows] + audio

    ins = [files, captions, dim, mine]
    outs = [heat, best_cap, best_clip, mine, status, csv_file]
    # A failure clears the old result: the reason goes where the skipped files are listed.
    on_fail = ([status, heat, best_cap, best_clip, csv_file], (None, None, None, None))
    show_failure(button.click(match, ins, outs, api_name="match"), match, *on_fail)
    # A new size re-runs the last match (nothing happens before the first one).
    rerun = dim.change(
        lambda p, c, d, s: match(p, c, d, s) if _paths(p) else [gr.skip()] * len(outs),
        ins,
        outs,
        api_visibility="private",
    )
    show_failure(rerun, match, *on_fail)
    search_btn.click(search, [query, k, dim, mine], [results] + players, api_name="search")
    query.submit(search, [query, k, dim, mine], [results] + players, api_visibility="private")
