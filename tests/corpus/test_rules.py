"""Category rules and modifiers on real file names from the source catalogue."""

from __future__ import annotations

import pytest

from wavlink_core.corpus.rules import RULES, categorize, extract_modifiers, normalize_name


@pytest.mark.parametrize(
    "rel, category",
    [
        # footsteps by surface and gait
        ("audio/actor/Footsteps/Footstep_Gravel_Running.ogg", "footsteps"),
        ("default_snow_footstep.1.ogg", "footsteps"),
        ("steps/step_leather1.ogg", "footsteps"),
        # animals (a dying cow is still a cow)
        ("audio/actor/fauna/animal/pig_10.ogg", "pig"),
        ("sounds/cow_die2.wav", "cow"),
        ("misc/rooster.wav", "chicken"),
        ("sheep/sounds/sheep4.wav", "sheep"),
        ("animals/crickets1_00.ogg", "crickets"),
        ("animals/wolf_02.ogg", "wolf"),
        ("misc/gull1.wav", "seagull"),
        ("misc/frogs.wav", "frog"),
        # weather, water, fire
        ("dark_forest/sounds/rain.ogg", "rain"),
        ("weather/windstorm_11.ogg", "wind"),
        ("environment/river_loop.ogg", "stream"),
        ("misc/oceanwaves.wav", "ocean waves"),
        ("environment/open_fire_loop.ogg", "fire"),
        ("environment/cave_droplets_loop.ogg", "dripping"),
        # weapons win over "fire": game idiom
        ("weapons/bullet-rifle-3x.ogg", "gunshot"),
        ("impact/arrow_metal_11.ogg", "arrow"),
        ("audio/attack/impact/sling_stone_12.ogg", "sling"),
        ("sounds/swordman_attack3.wav", "sword"),
        ("explosions/large.wav", "explosion"),
        # vehicles
        ("misc/helicopter.wav", "helicopter"),
        ("misc/carhorn2.wav", "horn"),
        ("Sounds/tires-screech-asphalt.wav", "tire skid"),
        ("ugv/diesel-move.ogg", "truck"),
        ("Sounds/engine-idle.wav", "engine idling"),
        ("Sounds/engine-crank.wav", "engine"),
        # household and tools
        ("doors/door1-open.ogg", "door"),
        ("misc/breakglass04.ogg", "glass"),
        ("household/vacuum_cleaner.ogg", "vacuum cleaner"),
        ("saw/benchsaw_00.ogg", "saw"),
        ("smiths/smith_00.ogg", "anvil"),
        ("default_dig_choppy.1.ogg", "wood chopping"),
        ("resource/LRHeart_beat_01_LA.ogg", "heartbeat"),
        ("resource/LRApplauses_1_LA.ogg", "applause"),
    ],
)
def test_category_rules(rel: str, category: str) -> None:
    rule, _ = categorize(rel)
    assert rule is not None and rule.category == category, (rel, rule)


@pytest.mark.parametrize(
    "rel",
    [
        "bull/sounds/bull_ack1.wav",  # unit acknowledgement voice line
        "archer_select1.wav",
        "audio/voice/greek/civ/civ_male_attack_1.ogg",  # voice folder wins over "attack"
        "music/Northern_Frontier.ogg",
        "audio/interface/click.ogg",
    ],
)
def test_voice_music_ui_are_not_sfx(rel: str) -> None:
    rule, _ = categorize(rel)
    assert rule is not None and rule.category.startswith("_"), (rel, rule)


def test_unmatched_name_returns_none() -> None:
    rule, text = categorize("sounds/zorblax_7.wav")
    assert rule is None and text == "zorblax"


def test_normalize_name() -> None:
    assert normalize_name("LRRain_in_garden_01_LA_cut.ogg") == "lr rain in garden"
    assert normalize_name("hstep_run_dirt_MN_11.ogg") == "hstep run dirt mn"
    assert normalize_name("FootstepGravelRunning.wav") == "footstep gravel running"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("footstep gravel running", {"surface": "gravel", "gait": "running"}),
        ("door open", {"action": "open"}),
        ("doors steel door close", {"surface": "metal", "action": "close"}),
        ("helicopter engine outside", {"distance": "outside"}),
        ("thunder faint", {"distance": "far"}),
        ("explosion large", {"size": "large"}),
    ],
)
def test_modifiers(name: str, expected: dict) -> None:
    mods = extract_modifiers(name)
    for key, value in expected.items():
        assert mods.get(key) == value, (name, mods)


def test_table_is_well_formed() -> None:
    cats = [r.category for r in RULES]
    assert len(RULES) >= 100
    for rule in RULES:
        assert rule.phrases and all(p.strip() for p in rule.phrases)
        if not rule.category.startswith("_") and rule.category not in {
            "kiss"
        }:  # no AudioSet class exists
            assert rule.audioset, f"rule {rule.category!r} maps to no AudioSet class"
    # the voice/music/ui guards must come before every real category
    assert cats.index("_voice") == 0 and cats.index("_ui") < cats.index("footsteps")
