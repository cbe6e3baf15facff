"""Modifier words read from a normalised file name: surface, action, gait, size and distance.

They fill the caption slots of the rules table (``captions.fill``) and end up in the manifest's
``modifiers`` field.
"""

from __future__ import annotations

_SURFACES = {
    "grass": "grass",
    "gravel": "gravel",
    "sand": "sand",
    "snow": "snow",
    "wood": "wood",
    "wooden": "wood",
    "metal": "metal",
    "steel": "metal",
    "stone": "stone",
    "water": "water",
    "ice": "ice",
    "dirt": "dirt",
    "mud": "mud",
    "concrete": "concrete",
    "carpet": "carpet",
    "glass": "glass",
    "asphalt": "asphalt",
    "tile": "tiles",
    "leaves": "leaves",
}
_ACTIONS = {
    "open": "open",
    "opening": "open",
    "close": "close",
    "closing": "close",
    "closed": "close",
    "slam": "slam",
    "start": "start",
    "starting": "start",
    "startup": "start",
    "stop": "stop",
    "shutdown": "stop",
    "idle": "idle",
    "hit": "hit",
    "miss": "miss",
    "attack": "attack",
    "die": "die",
    "break": "break",
    "fall": "fall",
    "falling": "fall",
    "move": "move",
    "moving": "move",
}
_GAITS = {
    "walk": "walking",
    "walking": "walking",
    "run": "running",
    "running": "running",
    "sprint": "running",
}
_SIZES = {
    "small": "small",
    "little": "small",
    "tiny": "small",
    "large": "large",
    "big": "large",
    "huge": "large",
    "heavy": "large",
    "light": "small",
    "medium": "medium",
}
_DISTANCES = {
    "distant": "far",
    "far": "far",
    "faint": "far",
    "close": "near",
    "near": "near",
    "inside": "inside",
    "interior": "inside",
    "indoor": "inside",
    "outside": "outside",
    "exterior": "outside",
    "outdoor": "outside",
}


def extract_modifiers(text: str) -> dict[str, str]:
    """Surface, action, gait, size and distance words found in a normalised name.

    ``close`` is read as an action for doors and as a distance elsewhere; the caller decides by
    category (see ``captions.fill``), so both are reported here when present.
    """
    mods: dict[str, str] = {}
    for word in text.split():
        if word in _SURFACES and "surface" not in mods:
            mods["surface"] = _SURFACES[word]
        if word in _ACTIONS and "action" not in mods:
            mods["action"] = _ACTIONS[word]
        if word in _GAITS and "gait" not in mods:
            mods["gait"] = _GAITS[word]
        if word in _SIZES and "size" not in mods:
            mods["size"] = _SIZES[word]
        if word in _DISTANCES and "distance" not in mods and word != "close":
            mods["distance"] = _DISTANCES[word]
    return mods
