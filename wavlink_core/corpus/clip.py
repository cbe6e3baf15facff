"""The labelled-clip record that handlers produce and the builder decodes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wavlink_core.corpus.rules import normalize_name


@dataclass
class ClipSpec:
    """One source audio file with its labels, before decoding.

    Attributes:
        rel: Path of the audio file relative to the unpacked package root.
        category: Category key (rules table, instrument table, ``speech``, ``gm note``...).
        captions: 3-5 caption paraphrases.
        subset: ``sfx``, ``instruments``, ``speech``, ``gm`` or ``grooves``.
        group_key: Variants of one sound share it (numbered takes, velocity layers).
        modifiers: Surface, action, size, distance ... (free keys).
        transcript: Exact spoken text (speech only).
        language: BCP-47-ish code of the speech, or ``None``.
        licence: Per-file licence when it differs from the package's.
        audioset: AudioSet class names this clip counts towards.
        mode: ``oneshot`` keeps the first window of long clips; ``loop`` windows them all.
    """

    rel: str
    category: str
    captions: list[str]
    subset: str
    group_key: str
    modifiers: dict[str, str] = field(default_factory=dict)
    transcript: str | None = None
    language: str | None = None
    licence: str | None = None
    audioset: tuple[str, ...] = ()
    mode: str = "oneshot"


def variant_group(rel: str) -> str:
    """Group key shared by numbered variants of one sound: folder + name without digits/suffixes.

    >>> variant_group("audio/impact/arrow_metal_11.ogg") == variant_group("audio/impact/arrow_metal_03.ogg")
    True
    """
    parts = rel.split("/")
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", parts[-1])
    stem = re.sub(
        r"[-_ ]?(\d+[a-z]?|[a-d]|hard|soft|hardest|softest|med|medium|left|right|l|r)$",
        "",
        stem,
        flags=re.I,
    )
    stem = re.sub(
        r"[-_ ]?(\d+[a-z]?|[a-d]|hard|soft|hardest|softest|med|medium|left|right|l|r)$",
        "",
        stem,
        flags=re.I,
    )
    folder = parts[-2] if len(parts) > 1 else ""
    return f"{folder}/{normalize_name(stem) or stem.lower()}"
