"""Markdown tables as a reader sees them: a table written with an empty header row (``| | |``, a
common way to get a key/value list) gets column names, so the browser draws a real header instead
of an empty grey bar."""

from __future__ import annotations

import re

_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def fill_empty_headers(md: str) -> str:
    lines = md.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if (
            i + 2 < len(lines)
            and line.strip().startswith("|")
            and not any(_cells(line))
            and _RULE.match(lines[i + 1])
            and lines[i + 2].strip().startswith("|")
        ):
            n = len(_cells(line))
            names = ["item", "details"] if n == 2 else [f"column {j + 1}" for j in range(n)]
            out.append("| " + " | ".join(names) + " |")
            i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)
