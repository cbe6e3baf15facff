"""The Match heatmap: sized to its content, captions wrapped on the axis and shown whole on hover.

Clip names and captions are what a user typed or uploaded: they are shortened first and escaped
last (:func:`escape.plain`), so a cut never splits an entity and Plotly renders no HTML of theirs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .escape import plain

CAPTION_WIDTH = 15  # characters per tick-label line: about one 100-px column at 11 px
CAPTION_LINES = 3
CLIP_CHARS = 28


def short_caption(text: str, width: int = CAPTION_WIDTH, lines: int = CAPTION_LINES) -> str:
    """A caption wrapped to ``lines`` lines of ``width`` characters for an axis label, ending in
    '…' when cut; the full caption stays in the hover text."""
    wrapped = textwrap.wrap(text, width, max_lines=lines, placeholder=" …") or [text]
    return "<br>".join(plain(line) for line in wrapped)


def short_name(name: str, chars: int = CLIP_CHARS) -> str:
    """A clip name without its audio extension, cut to ``chars`` with '…' in the middle; escaped."""
    stem = name.rsplit(".", 1)[0] if "." in name[-6:] else name
    if len(stem) > chars:
        half = (chars - 1) // 2
        stem = stem[:half] + "…" + stem[-(chars - 1 - half) :]
    return plain(stem)


def heatmap_size(n_clips: int, n_captions: int) -> tuple[int, int]:
    """(width, height) in px giving every cell room for its value and every caption 3 lines."""
    width = 200 + 100 * max(n_captions, 1)  # 10 captions: 1,200 px, inside a 1,400-px page
    height = 190 + 36 * max(n_clips, 1)
    return width, height


def heatmap_figure(
    sim: np.ndarray, clips: Sequence[str], captions: Sequence[str], dim: int
) -> go.Figure:
    """Clips down, captions across; numeric axes with text ticks, so two clips or captions that
    abbreviate alike still get their own row or column."""
    n_clips, n_caps = sim.shape
    width, height = heatmap_size(n_clips, n_caps)
    hover = [[[plain(clip), plain(cap)] for cap in captions] for clip in clips]
    fig = go.Figure(
        go.Heatmap(
            z=sim,
            x=list(range(n_caps)),
            y=list(range(n_clips)),
            colorscale="Viridis",
            text=[[f"{v:.2f}" for v in row] for row in sim],
            texttemplate="%{text}",
            textfont=dict(size=12),
            customdata=hover,
            hovertemplate="clip %{customdata[0]}<br>caption “%{customdata[1]}”<br>"
            "cosine %{z:.4f}<extra></extra>",
            colorbar=dict(title="cosine", thickness=12),
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        title=dict(text=f"Clip × caption cosine similarity (size {dim})", x=0, xanchor="left"),
        template="plotly_white",
        width=width,
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    fig.update_xaxes(
        tickvals=list(range(n_caps)),
        ticktext=[short_caption(c) for c in captions],
        tickangle=0,
        side="top",
        tickfont=dict(size=11),
    )
    fig.update_yaxes(
        tickvals=list(range(n_clips)),
        ticktext=[short_name(c) for c in clips],
        autorange="reversed",
        tickfont=dict(size=12),
    )
    return fig
