"""Caption paraphrases: count, slots, truthful distance forms, determinism."""

from __future__ import annotations

from pathlib import Path

from wavlink_core.corpus.captions import fill, make_captions
from wavlink_core.corpus.rules import categorize, extract_modifiers


def _captions(rel: str) -> list[str]:
    rule, text = categorize(rel)
    assert rule is not None
    return make_captions(rule.phrases, extract_modifiers(text), rel)


def test_footsteps_surface_and_gait() -> None:
    caps = _captions("audio/actor/Footsteps/Footstep_Gravel_Running.ogg")
    assert caps[0] == "running footsteps on gravel"
    assert 3 <= len(caps) <= 5 and len(set(caps)) == len(caps)


def test_door_material_and_action() -> None:
    assert (
        fill("a {mat}door {door}", {"surface": "metal", "action": "close"})
        == "a metal door closing"
    )
    assert _captions("doors/door1-open.ogg")[0] == "a door opening"


def test_distance_forms_only_when_true() -> None:
    far = make_captions(("thunder rumbling",), {"distance": "far"}, "k")
    assert "thunder rumbling in the distance" in far
    assert not any(c.startswith("close-up of") for c in far)
    near = make_captions(("a dog barking",), {}, "any key")
    assert not any("in the distance" in c for c in near)


def test_description_comes_first_and_keys_are_deterministic() -> None:
    caps = make_captions(
        ("a train passing",), {}, "k1", description="Steam train station departure"
    )
    assert caps[0] == "Steam train station departure" and "a train passing" in caps
    assert make_captions(("a dog barking",), {}, "x") == make_captions(("a dog barking",), {}, "x")


def test_user_typed_forms_appear_across_clips() -> None:
    seen = set()
    for i in range(40):
        for cap in make_captions(("a cow mooing", "cattle mooing"), {}, f"clip{i}"):
            seen.add(
                cap.split(" a cow")[0] if cap.startswith(("the sound of", "close-up of")) else cap
            )
    assert "the sound of" in seen and "close-up of" in seen


def test_surface_from_file_name_when_folder_matched() -> None:
    from wavlink_core.corpus import handlers
    from wavlink_core.corpus.sources import source_by_name

    spec = handlers.generic(
        source_by_name("ufoai-sound"), Path("."), ["sound/footsteps/carpet3.ogg"], {}
    )[0]
    assert spec.category == "footsteps" and spec.captions[0] == "footsteps on carpet"
