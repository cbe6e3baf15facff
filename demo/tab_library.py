"""Library: search the gallery (or the server's ``--library``) and your own uploads by text or by an
example clip; each result plays from the moment that matched; sizes show their bytes and recall."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from wavlink_core import load_audio_with_info
from wavlink_core.audio import SAMPLE_RATE

from . import escape
from .engine import HARD_MAX_S, MAX_CLIP_S, STATE_TTL_S
from .errors import UPLOAD_NOTE, guard, show_failure, skipped_note, warn
from .library_search import Result, Source, cut_excerpt, search, size_facts
from .session_library import MAX_FILES, MAX_SECONDS, SessionLibraries

HEADERS = ["rank", "file", "source", "score", "start s", "end s"]
MAX_K = 50


def size_note(shared: Source, mine: Source | None, dim: int, full: int) -> str:
    """Markdown: bytes per vector at ``dim`` and the recall@10 measured on each library searched."""
    facts = size_facts(shared.stats, dim)
    if dim == full:
        head = f"**Size {dim}**: exact search over the full float32 vectors, **{facts['bytes']:,} bytes per vector**."
    else:
        head = (
            f"**Size {dim}**: a shortlist on the first {dim} numbers stored as "
            f"{facts['quantization']}, **{facts['bytes']:,} bytes per vector**, re-ranked by the "
            f"full {full}-number vectors ({4 * full:,} bytes each)."
        )
    parts = []
    for source in (shared, mine):
        if source is None:
            continue
        f = size_facts(source.stats, dim)
        recall = "not measurable yet" if f["recall"] is None else f"**{f['recall']:.3f}**"
        # Below the shortlist's length every row is re-ranked exactly: say why it is 1.000.
        short = dim < full and f["rows"] <= f["shortlist"]
        whole = f", all in the {f['shortlist']}-row shortlist" if short else ""
        parts.append(f"{source.label} {recall} ({f['rows']:,} rows{whole})")
    return (
        f"{head}  \nRecall@10 against exact full-size search, measured on the libraries searched "
        f"(their own rows as queries): {'; '.join(parts)}."
    )


def build(engine, downloads, shared: Source, sessions: SessionLibraries) -> None:
    full = engine.full
    mine = gr.State(None, time_to_live=STATE_TTL_S, delete_callback=sessions.remove)
    hits = gr.State([], time_to_live=STATE_TTL_S)  # the last results, with their server paths
    what = "the gallery" if shared.label == "gallery" else "this server's sound library"
    gr.Markdown(
        f"Search {what} and your own clips by a description or by an example clip. Long files "
        "are indexed in overlapping 10-s segments too, so a result plays from the moment that "
        f"matched. {what[0].upper() + what[1:]} is read-only; your clips stay in this session.",
        elem_id="library-intro",
    )
    with gr.Row():
        dim = gr.Radio(
            list(engine.dims), value=full, label="Matryoshka size", elem_id="library-dim"
        )
        k = gr.Slider(1, MAX_K, value=10, step=1, label="Results", elem_id="library-k")
    size_info = gr.Markdown(size_note(shared, None, full, full), elem_id="library-size-info")
    with gr.Row():
        with gr.Column():
            query = gr.Textbox("a dog barking", label="Describe a sound", elem_id="library-query")
            text_btn = gr.Button("Search by text", variant="primary", elem_id="library-text-btn")
        with gr.Column():
            example = gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",
                label="…or an example clip",
                elem_id="library-example",
            )
            example_btn = gr.Button("Search by example", elem_id="library-example-btn")
    status = gr.Markdown("", elem_id="library-status")
    results = gr.Dataframe(
        headers=HEADERS,
        label="Results (select a row to play it)",
        interactive=False,
        wrap=True,
        # Sized so each header fits on one line at 390 px (11-px headers on phones, see CSS).
        column_widths=["11%", "23%", "18%", "16%", "18%", "14%"],
        elem_id="library-results",
    )
    with gr.Row():
        with gr.Column(scale=1):
            rank = gr.Number(
                1, precision=0, minimum=1, label="Result to play", elem_id="library-rank"
            )
            play_btn = gr.Button("Play", elem_id="library-play-btn")
        with gr.Column(scale=3):
            playing = gr.Markdown("", elem_id="library-playing")
            player = gr.Audio(label="Excerpt", interactive=False, elem_id="library-player")
    gr.Markdown("### Your clips")
    with gr.Row():
        with gr.Column():
            files = gr.File(
                file_count="multiple",
                file_types=["audio"],
                label="Add audio files to your library (several at once)",
                elem_id="library-files",
            )
            gr.Markdown(
                f"{UPLOAD_NOTE} Your library holds up to {MAX_FILES} files and "
                f"{MAX_SECONDS / 60:.0f} minutes; it is deleted when your session ends.",
                elem_classes="upload-note",
            )
        with gr.Column():
            add_btn = gr.Button("Add to my library", variant="primary", elem_id="library-add-btn")
            mine_status = gr.Markdown("Your library is empty.", elem_id="library-mine")

    def run(query_value, top, size, state):
        size = engine.model.check_dim(int(size))
        with sessions.source(state) as own:
            found = search([shared] + ([own] if own else []), query_value, int(top), size)
        table = [
            [r.rank, r.name, r.source, round(r.score, 4), round(r.start, 2), round(r.end, 2)]
            for r in found
        ]
        if not found:
            return table, "No results: the libraries are empty.", [], None, ""
        audio, caption = excerpt(1, found)
        return table, "", found, audio, caption

    @guard
    def search_text(text, top, size, state):
        if not text or not text.strip():
            raise gr.Error("Type a description to search for.")
        return run(text.strip(), top, size, state)

    @guard
    def search_example(path, top, size, state):
        if not path:
            raise gr.Error("Upload or record an example clip to search with.")
        name = Path(path).name
        wave, _ = load_audio_with_info(path, max_seconds=HARD_MAX_S, name=name)
        if len(wave) > MAX_CLIP_S * SAMPLE_RATE:
            seconds = len(wave) / SAMPLE_RATE
            warn(f"{name} is {seconds:.1f} s long; only the first {MAX_CLIP_S:.0f} s are used")
            wave = wave[: int(MAX_CLIP_S * SAMPLE_RATE)]
        return run((SAMPLE_RATE, wave), top, size, state)

    def excerpt(number, found: list[Result]):
        if not found:
            raise gr.Error("Search first: there are no results to play yet.")
        number = int(number or 0)
        if not 1 <= number <= len(found):
            raise gr.Error(f"Result {number} does not exist; choose 1 to {len(found)}.")
        hit = found[number - 1]
        name = downloads.file_name(f"{Path(hit.name).stem}_{hit.start:.1f}-{hit.end:.1f}s.wav")
        audio, start, end = cut_excerpt(hit, downloads.new_folder(), name)
        note = f"Plays **{start:.1f}–{end:.1f} s** of **{escape.md(hit.name)}** (result {number}, {hit.source})"
        if end < hit.end:
            note += f"; the match spans {hit.start:.1f}–{hit.end:.1f} s"
        return audio, note + "."

    @guard
    def play(number, found: list[Result]):
        return excerpt(number, found)

    @guard
    def play_selected(found: list[Result], evt: gr.SelectData):
        return *excerpt(evt.index[0] + 1, found), evt.index[0] + 1

    @guard
    def add(paths, state, size):
        paths = [p if isinstance(p, str) else p.name for p in (paths or [])]
        if not paths:
            raise gr.Error("Choose one or more audio files to add.")
        state, added, failed = sessions.add(state, paths)
        lines = [
            f"Added {len(added)} of {len(paths)} files; your library: {len(state['names'])} files, "
            f"{state['seconds'] / 60:.1f} minutes."
        ]
        if added:
            lines.append("Added: " + ", ".join(escape.md(n) for n in added) + ".")
        lines.append(skipped_note(failed, len(paths)))
        with sessions.source(state) as own:
            note = size_note(shared, own, int(size), full)
        return state, "\n\n".join(line for line in lines if line), note

    @guard
    def sizes(size, state):
        with sessions.source(state) as own:
            return size_note(shared, own, engine.model.check_dim(int(size)), full)

    search_ins = [k, dim, mine]
    search_outs = [results, status, hits, player, playing]
    # A failed search clears the old results, also the ones "Play" would cut.
    on_fail = ([status, results, player, playing, hits], (None, None, "", []))
    event = text_btn.click(
        search_text, [query] + search_ins, search_outs, api_name="library_search"
    )
    show_failure(event, search_text, *on_fail)
    event = query.submit(search_text, [query] + search_ins, search_outs, api_visibility="private")
    show_failure(event, search_text, *on_fail)
    event = example_btn.click(
        search_example, [example] + search_ins, search_outs, api_name="library_search_example"
    )
    show_failure(event, search_example, *on_fail)
    event = play_btn.click(play, [rank, hits], [player, playing], api_name="library_play")
    show_failure(event, play, [playing, player], (None,))
    event = results.select(play_selected, [hits], [player, playing, rank], api_visibility="private")
    show_failure(event, play_selected, [playing, player, rank], (None, gr.skip()))
    event = add_btn.click(
        add, [files, mine, dim], [mine, mine_status, size_info], api_name="library_add"
    )
    show_failure(event, add, [mine_status])
    dim.change(sizes, [dim, mine], size_info, api_name="library_size")
