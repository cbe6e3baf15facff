"""Preset label sets for Classify and Sizes; the default one also names every gallery label."""

from __future__ import annotations

from collections.abc import Sequence

from . import views

GALLERY_CATEGORY_SET = {"music": "Instruments and genres"}  # a category's better preset


def with_gallery(gallery_labels: Sequence[str]) -> dict[str, str]:
    """``views.LABEL_SETS`` with the gallery's labels appended to the default set, so every
    example clip's true label is among the candidates."""
    sets = dict(views.LABEL_SETS)
    have = {x.strip() for x in sets[views.DEFAULT_SET].split(",")}
    extra = [x for x in dict.fromkeys(gallery_labels) if x not in have]
    if extra:
        sets[views.DEFAULT_SET] += ", " + ", ".join(extra)
    return sets


def preset_for(category: str, label: str, sets: dict[str, str]) -> str:
    """The preset an example of this gallery category and label fills: one that holds the label."""
    name = GALLERY_CATEGORY_SET.get(category, views.DEFAULT_SET)
    if label not in {x.strip() for x in sets[name].split(",")}:
        name = views.DEFAULT_SET
    return name
