"""Prompt templates: the one place a label is put into a template like ``"This is a sound of {}."``.

A template is user text, so it is never given to ``str.format``: that would let ``{0:>50000000}``
allocate gigabytes and ``{0.__class__.__mro__}`` print interpreter internals. Here ``{}`` is the
only field, ``{{`` and ``}}`` are literal braces, and anything else in braces is refused by name.
The API, the CLI, the evaluation command and the demo all call these functions.
"""

from __future__ import annotations

import re

# `{{`, `}}`, `{}`, or any other `{...}` / stray brace, in the order they appear.
_TOKEN = re.compile(r"\{\{|\}\}|\{\}|\{[^{}]*\}|[{}]")
MAX_TEMPLATE_CHARS = 1000


def _parts(template: str) -> list[str | None]:
    """Literal text pieces, with None where the label goes; raises on any other field."""
    if not isinstance(template, str):
        raise ValueError(f"template must be text with a '{{}}' for the label; got {template!r}")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(
            f"template is {len(template)} characters; at most {MAX_TEMPLATE_CHARS} are allowed"
        )
    parts: list[str | None] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        parts.append(template[pos : m.start()])
        token = m.group()
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token == "{}":
            parts.append(None)
        elif token in ("{", "}"):
            raise ValueError(
                f"template {template!r} has an unmatched {token!r} at character {m.start() + 1}; "
                "write {{ or }} for a literal brace"
            )
        else:
            raise ValueError(
                f"template {template!r} has the field {token!r}: only '{{}}' (the label) is "
                "allowed; write {{ and }} for literal braces"
            )
        pos = m.end()
    parts.append(template[pos:])
    return parts


def check_template(template: str) -> str:
    """Return ``template`` if it holds exactly one ``{}`` and no other field, else raise ValueError."""
    holes = sum(p is None for p in _parts(template))
    if holes != 1:
        raise ValueError(
            f"template {template!r} needs exactly one '{{}}' where the label goes; it has {holes}"
        )
    return template


def fill_template(template: str, label: str) -> str:
    """``template`` with its one ``{}`` replaced by ``label`` (literally, never formatted)."""
    check_template(template)
    return "".join(label if p is None else p for p in _parts(template))
