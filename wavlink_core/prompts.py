"""Prompt ensembles: one text embedding per label from several templates, averaged as CLIP does.

Each label is put into every template with :func:`wavlink_core.templates.fill_template`, the
prompts are embedded, and the label's vector is the mean of the unit-norm prompt vectors,
re-normalised (Radford et al. 2021, §3.1.4: averaging in embedding space costs one text pass per
template and nothing at inference). Averaging happens at full size and the mean is truncated
afterwards, so every Matryoshka size sees the same ensemble.

The default set was written before any evaluation and chosen by no score: eight phrasings a
caption of an everyday sound could take, from the bare label to the project's default template.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .matryoshka import truncate_np
from .templates import check_template, fill_template

if TYPE_CHECKING:
    from .model import WavLink

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "This is a sound of {}.",
    "a sound of {}.",
    "the sound of {}.",
    "a recording of {}.",
    "an audio clip of {}.",
    "{} can be heard.",
    "a {} sound.",
    "{}",
)


def check_templates(templates: str | Iterable[str]) -> tuple[str, ...]:
    """Templates as a non-empty tuple, each checked (exactly one ``{}``), repeats dropped."""
    items = [templates] if isinstance(templates, str) else list(templates)
    out = tuple(dict.fromkeys(check_template(t) for t in items))
    if not out:
        raise ValueError("templates is empty: give at least one template with a '{}' for the label")
    return out


def ensemble_prompts(labels: Sequence[str], templates: Sequence[str]) -> list[list[str]]:
    """``prompts[i][j]``: label ``i`` put into template ``j``."""
    return [[fill_template(t, label) for t in templates] for label in labels]


def label_embeddings(
    model: WavLink, labels: Sequence[str], templates: str | Iterable[str], dim: int | None = None
) -> np.ndarray:
    """(C, dim) unit-norm text embeddings of ``labels``, one per label, averaged over ``templates``.

    With one template this is exactly ``embed_text`` of the filled prompts.
    """
    from .inference import embed_text

    templates = check_templates(templates)
    dim = model.check_dim(dim)
    flat = [p for row in ensemble_prompts(labels, templates) for p in row]
    emb = embed_text(model, flat).reshape(len(labels), len(templates), -1)
    return truncate_np(emb.mean(axis=1), dim)
