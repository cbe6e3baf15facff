"""Text a user typed (labels, captions, templates) or a file name carries, made safe to show.

Gradio renders Markdown (with HTML inside it) and toasts as HTML, and Plotly renders a subset of HTML
in titles, tick labels and hover text. A label like ``<img src=http://host/pixel.gif>`` would
become a real element that the browser fetches, and ``[x](javascript:...)`` a link. These functions
turn such text into entities and backslash escapes, so it is displayed as the characters typed and
never interpreted.
"""

from __future__ import annotations

import html

# Entities for what HTML would parse; a backslash before what Markdown gives meaning to (emphasis,
# code, links, images, tables, headings, lists, strike-through); other punctuation stays readable.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD = {c: "\\" + c for c in "\\`*_{}[]()#+-!|~"}
# A dollar sign starts LaTeX in gr.Markdown; an entity keeps it literal without a visible backslash.
_MD["$"] = "&#36;"
_MD_TABLE = str.maketrans({**_MD, **_HTML, "\n": " ", "\r": " "})


def md(text: object) -> str:
    """``text`` for a Markdown component: shown literally, on one line, nothing rendered."""
    return str(text).translate(_MD_TABLE)


def plain(text: object) -> str:
    """``text`` for an HTML context (Plotly labels and hover text, Gradio toasts): entities only."""
    return html.escape(str(text), quote=False)
