"""Caption paraphrases: 3-5 strings per clip from a phrase template, modifiers or a free description.

Pure functions; the choice among optional forms is seeded by the clip key so a rebuild yields
the same captions.
"""

from __future__ import annotations

import hashlib
import re

_MATERIAL = {
    "wood": "wooden ",
    "metal": "metal ",
    "glass": "glass ",
    "stone": "stone ",
    "ice": "icy ",
}
_DOOR_ING = {"open": "opening", "close": "closing", "slam": "slamming shut"}
_DOOR_S = {"open": "opens", "close": "closes", "slam": "slams"}
_ARTICLE = re.compile(r"^(a|an|the|some|two|three|many|several)\b", re.I)


def fill(template: str, modifiers: dict[str, str]) -> str:
    """Fill a rule phrase's slots (``{on}``, ``{gait}``, ``{gait2}``, ``{mat}``, ``{door}``, ``{door2}``).

    >>> fill("{gait}footsteps{on}", {"gait": "running", "surface": "gravel"})
    'running footsteps on gravel'
    """
    surface = modifiers.get("surface", "")
    action = modifiers.get("action", "")
    slots = {
        "on": f" on {surface}" if surface else "",
        "gait": f"{modifiers['gait']} " if "gait" in modifiers else "",
        "gait2": modifiers.get("gait", "walking"),
        "mat": _MATERIAL.get(surface, ""),
        "door": _DOOR_ING.get(action, "opening and closing"),
        "door2": _DOOR_S.get(action, "opens"),
    }
    return re.sub(r"\s+", " ", template.format(**slots)).strip()


def _pick(key: str, n: int, k: int) -> list[int]:
    # Deterministic choice of k of n optional forms, seeded by the clip key.
    order = sorted(range(n), key=lambda i: hashlib.sha1(f"{key}:{i}".encode()).hexdigest())
    return sorted(order[:k])


def _the_sound_of(phrase: str) -> str:
    return (
        f"the sound of {phrase}"
        if _ARTICLE.match(phrase) or " " in phrase
        else f"the sound of a {phrase}"
    )


def make_captions(
    phrases: tuple[str, ...] | list[str],
    modifiers: dict[str, str],
    key: str,
    *,
    description: str | None = None,
    max_captions: int = 5,
) -> list[str]:
    """3-5 paraphrases: canonical phrase, user-typed forms, alternatives and a free description.

    Distance forms are only used when true: "... in the distance" needs a ``far`` distance
    modifier; otherwise the dry one-shot gets "close-up of ...".

    Args:
        phrases: Rule phrases (templates), first = canonical.
        modifiers: From ``rules.extract_modifiers`` (plus handler extras).
        key: Stable clip key that seeds the optional-form choice.
        description: A human description shipped with the package, used verbatim first.
        max_captions: Upper bound (3-5).

    Returns:
        Unique captions, first = the most precise one.
    """
    filled = [fill(p, modifiers) for p in phrases] if phrases else []
    base = filled[0] if filled else (description or "a sound").rstrip(".").lower()
    must: list[str] = []
    if description:
        must.append(description.rstrip("."))
    must.append(base)
    distance = modifiers.get("distance")
    if distance == "far":
        must.append(f"{base} in the distance")
    elif distance == "inside":
        must.append(f"{base}, heard from inside")
    elif distance == "outside":
        must.append(f"{base}, heard from outside")
    optional = [
        *filled[1:],
        _the_sound_of(base),
        f"close-up of {base}" if distance is None else f"a recording of {base}",
        f"a recording of {base}",
        f"{base} nearby" if distance is None else f"the sound of {base}",
    ]
    optional = [o for o in dict.fromkeys(optional) if o not in must]
    room = max(0, max_captions - len(must))
    want = min(room, max(3 - len(must), 2))
    chosen = [optional[i] for i in _pick(key, len(optional), min(want, len(optional)))]
    out = list(dict.fromkeys(must + chosen))[:max_captions]
    while len(out) < 3:  # tiny phrase tables: pad with neutral forms rather than fail
        out.append(
            ["the sound of " + base, "a recording of " + base, base + " sound"][len(out) % 3]
        )
        out = list(dict.fromkeys(out))
    return out
