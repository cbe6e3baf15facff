"""Marker styles that keep ~100 groups apart on a map: 24 colours × 4 shapes, never reused."""

from __future__ import annotations

from plotly.colors import qualitative

# Dark24 stays visible on white; a 14-colour list repeated itself 4-5 times over ~60 gallery labels.
COLOURS = tuple(qualitative.Dark24)
SHAPES = ("circle", "square", "triangle-up", "diamond-wide")


def group_style(index: int) -> tuple[str, str]:
    """(colour, gallery marker shape) of the ``index``-th group: the colour changes first, the
    shape after every 24 groups, so 96 groups get 96 different markers."""
    return COLOURS[index % len(COLOURS)], SHAPES[(index // len(COLOURS)) % len(SHAPES)]
