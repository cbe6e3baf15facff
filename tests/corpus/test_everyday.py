"""Everyday-sound rules and the package filters that feed them, on real file names of the packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavlink_core.corpus.handlers import generic, triplea
from wavlink_core.corpus.rules import categorize
from wavlink_core.corpus.sources import source_by_name


@pytest.mark.parametrize(
    "rel, category, primary",
    [
        # human body and household (scratch Media/Sounds, frozen-bubble, tuxpaint, lincity)
        ("Media/Sounds/Human/BabyCry.mp3", "baby cry", "Baby cry, infant cry"),
        ("Media/Sounds/Human/Sneeze-female.wav", "sneeze", "Sneeze"),
        ("Media/Sounds/Human/Cough-male.wav", "cough", "Cough"),
        ("Media/Sounds/Human/Laugh-male3.mp3", "laughter", "Laughter"),
        ("usr/share/tuxpaint/sounds/giggle.wav", "laughter", "Laughter"),
        ("Media/Sounds/Human/FingerSnap.wav", "finger snap", "Finger snapping"),
        ("Media/Sounds/Human/PartyNoise.wav", "party chatter", "Chatter"),
        ("games/frozen-bubble/snd/snore.ogg", "snoring", "Snoring"),
        ("games/lincity-ng/sounds/School1.wav", "children playing", "Children playing"),
        ("Media/Sounds/Effects/WaterRunning.mp3", "faucet", "Water tap, faucet"),
        ("homedecor_common/sounds/homedecor_faucet.ogg", "faucet", "Water tap, faucet"),
        ("homedecor_bathroom/sounds/homedecor_shower.ogg", "shower", "Water"),
        ("homedecor_bathroom/sounds/homedecor_toilet_flush.ogg", "toilet flush", "Toilet flush"),
        ("homedecor_doors_and_gates/sounds/homedecor_doorbell.ogg", "doorbell", "Doorbell"),
        ("Media/Sounds/Effects/SewingMachine.mp3", "sewing machine", "Sewing machine"),
        ("qabcs/abcs/all/noises/zipper.ogg", "zipper", "Zipper (clothing)"),
        ("qabcs/abcs/all/noises/watch.ogg", "clock", "Clock"),
        ("qabcs/abcs/all/noises/newspaper.ogg", "paper", "Rustle"),
        ("usr/share/games/brainparty/mouse_click.wav", "mouse click", "Clicking"),
        ("lomiri/camera/click/camera_click.ogg", "camera shutter", "Camera"),
        ("lomiri/ringtones/Alarm clock.ogg", "alarm clock", "Alarm clock"),
        ("lomiri/ringtones/Wind chime.ogg", "wind chime", "Wind chime"),
        ("micropolis/sounds/heavytraffic.wav", "city ambience", "Outside, urban or manmade"),
        ("micropolis/sounds/honkhonk-low.wav", "horn", "Vehicle horn, car horn, honking"),
        ("micropolis/sounds/siren.wav", "siren", "Siren"),
        ("usr/share/games/brainparty/baa2.wav", "sheep", "Sheep"),
        ("Media/Sounds/Effects/WaterDrop.mp3", "dripping", "Drip"),
        ("usr/share/khangman/qml/sounds/chalk.wav", "writing", "Writing"),
        ("stereo/trash-empty.oga", "crumpling paper", "Crumpling, crinkling"),
        ("usr/share/sounds/linphone/rings/oldphone-mono.wav", "telephone", "Telephone"),
        # bells and clocks: a tower clock is a church bell, not a ticking clock
        ("Media/Sounds/Effects/BellToll.wav", "church bell", "Church bell"),
        ("usr/share/tuxmath/sounds/towerclock.wav", "church bell", "Church bell"),
        ("usr/share/tuxmath/sounds/tock.wav", "clock", "Clock"),
        # pets
        ("Media/Sounds/Animal/Dog1.wav", "dog", "Dog"),
        ("Media/Sounds/Animal/Kitten.wav", "cat", "Cat"),
        ("Media/Sounds/Animal/Meow.wav", "cat", "Cat"),
        # crowds and sport
        ("games/tuxfootball/sound/crowdboo.wav", "crowd booing", "Crowd"),
        ("games/tuxfootball/sound/crowdooh.wav", "crowd groan", "Crowd"),
        ("games/tuxfootball/sound/crowdcheer.wav", "crowd cheering", "Cheering"),
        ("games/tuxfootball/sound/refwhistleshort.wav", "whistle", "Whistle"),
        # vehicles: bus split from truck, idling from the running engine
        ("games/simutrans/pak/sound/bus.wav", "bus", "Bus"),
        ("games/simutrans/pak/sound/truck.wav", "truck", "Truck"),
        ("Media/Sounds/Effects/MotorcyclePassing.wav", "motorcycle", "Motorcycle"),
        ("Media/Sounds/Effects/CarPassing.wav", "car passing", "Car passing by"),
        ("qabcs/abcs/all/noises/bicycle.ogg", "bicycle", "Bicycle"),
        ("qabcs/abcs/all/noises/skateboard.ogg", "skateboard", "Skateboard"),
        ("flightgear/Aircraft/c172p/Sounds/engine-idle.wav", "engine idling", "Idling"),
        # power tools: jackhammer, chainsaw and circular saw are their own classes now
        ("games/simutrans/pak/sound/jackhammer.wav", "jackhammer", "Jackhammer"),
        ("hedgewars/Data/Sounds/pickhammer.ogg", "jackhammer", "Jackhammer"),
        ("games/simutrans/pak/sound/tree-cutting.wav", "chainsaw", "Chainsaw"),
        ("games/simutrans/pak/sound/buzzsaw.wav", "circular saw", "Power tool"),
        ("widelands/sound/saw/benchsaw_00.ogg", "saw", "Sawing"),
        ("hedgewars/Data/Sounds/drillgun.ogg", "drill", "Drill"),
    ],
)
def test_everyday_rules(rel: str, category: str, primary: str) -> None:
    rule, _ = categorize(rel)
    assert rule is not None and rule.category == category, (rel, rule)
    assert rule.audioset[0] == primary


@pytest.mark.parametrize(
    "name, rels, kept",
    [
        (
            "scratch",
            [
                "usr/share/scratch/Media/Sounds/Human/BabyCry.mp3",
                "usr/share/scratch/Media/Sounds/Animal/SeaLion.mp3",  # "lion" would be a roar
                "usr/share/scratch/Media/Sounds/Vocals/Come-and-play.mp3",  # singing
                "usr/share/scratch/Media/Sounds/Electronic/Laser1.wav",
            ],
            ["usr/share/scratch/Media/Sounds/Human/BabyCry.mp3"],
        ),
        (
            "minetest-mod-homedecor",
            [
                "mods/homedecor/homedecor_bathroom/sounds/homedecor_toilet_flush.ogg",
                "mods/homedecor/fake_fire/sounds/fire_small.ogg",  # matched an evaluation clip
                "mods/homedecor/fake_fire/sounds/fire_extinguish.ogg",  # a hiss, not a fire
            ],
            ["mods/homedecor/homedecor_bathroom/sounds/homedecor_toilet_flush.ogg"],
        ),
        (
            "simutrans-pak64",
            [
                "games/simutrans/pak/sound/bus.wav",
                "games/simutrans/pak/sound/tree-cutting.wav",  # matched an evaluation chainsaw
            ],
            ["games/simutrans/pak/sound/bus.wav"],
        ),
        (
            "qabcs-data",
            [
                "usr/share/qabcs/abcs/all/noises/zipper.ogg",
                "usr/share/qabcs/abcs/all/noises/rocking_horse.ogg",  # a toy, not a horse
                "usr/share/qabcs/abcs/all/noises/clock.ogg",  # matched an evaluation clock tick
                "usr/share/qabcs/abcs/en/sounds/words/zipper.ogg",  # speech, not a noise
            ],
            ["usr/share/qabcs/abcs/all/noises/zipper.ogg"],
        ),
        (
            "frozen-bubble-data",
            ["games/frozen-bubble/snd/snore.ogg", "games/frozen-bubble/snd/launch.ogg"],
            ["games/frozen-bubble/snd/snore.ogg"],
        ),
        (
            "tuxfootball",
            ["games/tuxfootball/sound/crowdcheer.wav", "games/tuxfootball/sound/kick.wav"],
            ["games/tuxfootball/sound/crowdcheer.wav"],
        ),
    ],
)
def test_package_filters(name: str, rels: list[str], kept: list[str]) -> None:
    specs = generic(source_by_name(name), Path("/nonexistent"), rels, {})
    assert [s.rel for s in specs] == kept


def test_descriptive_name_tearing() -> None:
    rel = "political_action_failure/political_action_failure_01_paper_being_ripped.mp3"
    (spec,) = triplea(source_by_name("triplea"), Path("/nonexistent"), [rel], {})
    assert spec.category == "tearing" and spec.captions[0] == "paper being ripped"
