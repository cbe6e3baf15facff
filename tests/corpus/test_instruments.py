"""Drum-kit XML, instrument names, guitar strums, organ stops and GM rendering grid."""

from __future__ import annotations

import struct
from pathlib import Path

from wavlink_core.corpus import handlers
from wavlink_core.corpus.instruments import match_instrument, midi_note_name, velocity_words
from wavlink_core.corpus.render import GM_DRUMS, GM_PROGRAMS, grid, midi_bytes
from wavlink_core.corpus.rules import normalize_name
from wavlink_core.corpus.sources import source_by_name

KIT = """<?xml version="1.0"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>The Black Pearl 1.0</name>
 <license>CC-BY-SA-3.0</license>
 <instrumentList>
  <instrument><id>0</id><name>Pearl Snare Rimshot</name>
   <layer><filename>PearlSnareRimshot-Softest.wav</filename><min>0</min><max>0.2</max></layer>
   <layer><filename>PearlSnareRimshot-Hardest.wav</filename><min>0.8</min><max>1</max></layer>
  </instrument>
  <instrument><id>1</id><name>Sabian Hat Swish</name>
   <layer><filename>SabianHatSwish-Hard.wav</filename><min>0</min><max>1</max></layer>
  </instrument>
 </instrumentList>
</drumkit_info>"""


def test_hydrogen_drumkit_xml(tmp_path: Path) -> None:
    kit = tmp_path / "usr/share/hydrogen/data/drumkits/The Black Pearl 1.0"
    kit.mkdir(parents=True)
    (kit / "drumkit.xml").write_text(KIT)
    rels = [
        f"usr/share/hydrogen/data/drumkits/The Black Pearl 1.0/{n}"
        for n in (
            "PearlSnareRimshot-Softest.wav",
            "PearlSnareRimshot-Hardest.wav",
            "SabianHatSwish-Hard.wav",
        )
    ]
    specs = {
        s.rel.split("/")[-1]: s
        for s in handlers.hydrogen(source_by_name("hydrogen-drumkits"), tmp_path, rels, {})
    }
    soft, hard = specs["PearlSnareRimshot-Softest.wav"], specs["PearlSnareRimshot-Hardest.wav"]
    assert soft.category == "rimshot" and soft.captions[0] == "a snare rimshot played softly"
    assert hard.captions[0] == "a snare rimshot played hard"
    assert soft.group_key == hard.group_key  # velocity layers never cross splits
    assert soft.licence == "CC-BY-SA-3.0"
    assert specs["SabianHatSwish-Hard.wav"].category == "hi-hat closed"


def test_instrument_names_from_samples() -> None:
    assert match_instrument(normalize_name("drum_snare_hard.flac"))[0] == "snare drum"
    assert match_instrument(normalize_name("drum_cymbal_open.flac"))[0] == "hi-hat open"
    assert match_instrument(normalize_name("tabla_na_o.flac"))[0] == "tabla"
    assert match_instrument(normalize_name("violoncello-7.wav"))[0] == "cello"
    assert velocity_words("drum snare hard") == "hard"
    assert velocity_words("x", 0.1) == "softly"


def test_guitar_strum_and_organ() -> None:
    strum = handlers._strum(
        source_by_name("hydrogen-drumkits-effects"),
        "kits/belofilms_GuitarStrums/Amajor_DOWN_00.flac",
    )
    assert (
        strum is not None
        and strum.captions[0] == "an acoustic guitar strumming an A major chord, downstroke"
    )
    organ = handlers.organ(
        source_by_name("grandorgue-demo"), Path("."), ["x.orgue/Bourdon8/054-F#.wav"], {}
    )
    assert organ[0].captions[0] == "a pipe organ playing F#3 on the bourdon stop"
    assert midi_note_name(60) == "C4"


def test_gm_grid_and_midi_file() -> None:
    slots = grid()
    assert len(GM_PROGRAMS) == 128
    assert len(slots) == 128 * 3 * 2 + len(GM_DRUMS) * 2
    assert all(ch != 9 for ch, *_ in slots[: 128 * 6]) and all(
        ch == 9 for ch, *_ in slots[128 * 6 :]
    )
    blob = midi_bytes(slots[:4])
    assert blob[:4] == b"MThd" and blob[14:18] == b"MTrk"
    (length,) = struct.unpack(">I", blob[18:22])
    assert length == len(blob) - 22 and blob.endswith(b"\xff\x2f\x00")
