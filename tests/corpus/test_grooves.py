"""mma grooves: style map on real groove names, the song writer, MIDI parsing and merging, one render."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavlink_core.corpus import grooves
from wavlink_core.corpus.groove_styles import (
    STYLES,
    groove_audioset,
    groove_captions,
    instrument_nouns,
    program_noun,
)
from wavlink_core.corpus.render import midi_bytes

# The 119 files of mma 21.09's lib/stdlib (Debian bookworm), by stem.
STDLIB = """50srock 60srock 68march 68swing 8beat afro-cuban arpeggio44 arpeggio68 arpeggiowaltz ballad
ballad128 ballad68 basicrock bebop beguine bigband bluefolk bluegrass blues blues128 blues68
boggiewoggie bolero boneym bossanova broadway broadwaywaltz bubblerock bvfunk bwmarch calypso
chacha charleston countryblues countryswing countrywaltz cubanguitar descendingjazz desert dixie
dixiemarch dsoul easyswing evansish fastblues fastjazzwaltz fastswing fastwaltz folk folkballad
folkrock folkyjazz foxtrot frenchwaltz guitarballad gypsyjazz hillcountry hymn jazz-54 jazzcombo
jazzguitar jazzrhumba jazzrock jazzwaltz jive latinwaltz lfusion lighttango lullaby mambo march
mellowjazz merengue metronome metronome3 metronome6 metronome68 modernjazz modernjazzwaltz nitejazz
none pianoballad polka popballad popspiritual quickstep ragtime rb-ballad rb rhumba rock-128
rockballad rockwaltz salsa samba showtune shuffleboggie ska slowblues slowbolero slowbroadway
slowcountry slowjazz slowspiritual softrock softshoe son spiritual stringballad strut swing tango
trance twist vienesewaltz waltz westernswing zydeco""".split()

# Real-format excerpt of stdlib/bossanova.mma (tracks, Voice lines and DefGroove lines).
BOSSANOVA = """
// bossanova
Begin Doc
    This is a great latin rhythm for pieces like "Girl From Ipanema".
End
SeqClear
Time 4
Timesig 4 4
Begin Bass
    Sequence  B13  Basic  /  /
    Voice JazzGuitar
End
Begin Chord
    Voice JazzGuitar
End
DefGroove BossaNova      Standard bossanova beat.
Begin Chord-Sus
    Voice Strings
End
DefGroove BossaNovaSus   Adds sustained strings.
DefGroove BossaNovaPlus  Adds a random-note piano arpeggio.
DefGroove BossaNovaFill  A one-bar fill.
DefGroove BossaNovaIntro A 4-bar introduction.
DefGroove BossaNovaEnd   A 2-bar ending.
DefGroove BossaNova1End  Another ending.
"""


def test_every_stdlib_family_has_a_style() -> None:
    assert set(STDLIB) - set(STYLES) == {"none"}  # the empty groove is skipped on purpose
    assert all(30 <= s.bpm <= 260 and s.audioset for s in STYLES.values())


def test_list_grooves_keeps_playing_variants(tmp_path: Path) -> None:
    (tmp_path / "bossanova.mma").write_text(BOSSANOVA)
    (tmp_path / "none.mma").write_text("DefGroove None  Nothing.\n")
    (tmp_path / "waltz.mma").write_text("Time 3\nDefGroove Waltz x\nDefGroove WaltzSusIntro8 x\n")
    got = grooves.list_grooves(tmp_path)
    assert got == [
        ("bossanova", "BossaNova", 4),
        ("bossanova", "BossaNovaSus", 4),
        ("bossanova", "BossaNovaPlus", 4),
        ("waltz", "Waltz", 3),
    ]
    assert [g[1] for g in grooves.spread(got, 2)] == ["BossaNova", "Waltz"]  # every style first


def test_captions_on_real_groove_names() -> None:
    bossa = groove_captions(STYLES["bossanova"], ["acoustic guitar", "bass", "drums"])
    assert bossa[0] == "a bossa nova groove with acoustic guitar, bass and drums"
    assert "bossa nova accompaniment" in bossa and "latin music: bossa nova" in bossa
    waltz = groove_captions(STYLES["waltz"], ["piano", "bass"], meter="3/4")
    assert waltz[0] == "a waltz in three-four time with piano and bass"
    jazz = groove_captions(STYLES["jazzwaltz"], ["piano"], meter="3/4")
    assert "an instrumental jazz waltz backing track in three-four time" in jazz
    walk = groove_captions(STYLES["swing"], ["piano", "upright bass", "drums"], walking=True)
    assert "a swing jazz accompaniment with a walking bass line" in walk
    named = {"cubanguitar", "guitarballad", "jazzguitar"}  # style names with an instrument word
    for family, style in STYLES.items():
        caps = groove_captions(style, ["piano"], meter="4/4")
        assert 3 <= len(caps) <= 5 and len(set(caps)) == len(caps)
        # only instruments that play are named; no other instrument word sneaks in
        words = ("guitar", "drums", "trumpet", "violin", "strings", "organ", "bass ")
        assert family in named or not any(w in c for c in caps for w in words), caps
    assert groove_audioset(STYLES["salsa"], ["piano", "drums"]) == (
        "Salsa music",
        "Music of Latin America",
        "Piano",
        "Drum kit",
        "Music",
    )


def test_instrument_nouns() -> None:
    assert program_noun(0) == "piano" and program_noun(26) == "electric guitar"
    assert program_noun(32) == "upright bass" and program_noun(122) is None
    assert instrument_nouns({33, 0, 48}, set()) == ["piano", "strings", "bass"]
    assert instrument_nouns(set(), {36, 42}) == ["drums"]
    assert instrument_nouns(set(), {39, 63, 75}) == ["hand claps", "percussion"]
    assert instrument_nouns(set(), {76, 77}) == ["woodblock"]


def test_song_text() -> None:
    song = grooves.song_text("BossaNova", "bossanova", 4)
    lines = song.splitlines()
    assert "Tempo 130" in lines and "Groove BossaNova" in lines and "RndSeed 1" in lines
    chords = [line for line in lines if line[0].isdigit()]
    # 130 bpm, 4 beats: 10 s needs 5.4 bars -> 6, plus one bar of slack
    assert len(chords) == 7 and chords[:4] == ["1 C", "2 Am", "3 Dm7", "4 G7"]
    assert grooves.song_text("BossaNova", "bossanova", 4) == song  # stable
    blues = grooves.song_text("SlowBlues", "slowblues", 4).splitlines()
    # 70 bpm: 4 bars of the 12-bar blues
    assert [line.split()[1] for line in blues if line[0].isdigit()] == ["C7", "F7", "C7", "C7"]


def _type1(tpq: int = 96) -> bytes:
    """Two tracks like mma writes: a tempo/meter track, and piano + drums with running status."""
    meta = b"\x00\xff\x51\x03" + (1_000_000).to_bytes(3, "big")  # 60 bpm
    meta += b"\x00\xff\x58\x04\x03\x02\x18\x08"  # 3/4
    meta += bytes([tpq, 0xFF, 0x51, 3]) + (500_000).to_bytes(3, "big")  # 120 bpm after 1 beat
    meta += b"\x00\xff\x2f\x00"
    notes = b"\x00\xc0\x00\x00\x90\x3c\x64" + bytes([tpq]) + b"\x3c\x00"  # running status off
    notes += bytes([tpq]) + b"\x99\x24\x64\x00\xff\x2f\x00"
    tracks = b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in (meta, notes))
    return b"MThd" + struct.pack(">IHHH", 6, 1, 2, tpq) + tracks


def test_read_midi_and_sounding() -> None:
    events, meter = grooves.read_midi(_type1())
    assert meter == "3/4"
    times = [round(t, 3) for t, _ in events]
    assert times == [0.0, 0.0, 1.0, 1.5]  # beat 1 at 60 bpm, beat 2 at 120 bpm
    assert grooves.sounding(events, 10.0) == ({0}, {36})
    assert grooves.sounding(events, 1.2) == ({0}, set())
    events, meter = grooves.read_midi(midi_bytes([(0, 24, 60, 100), (9, 0, 42, 100)]))
    assert meter is None and instrument_nouns(*grooves.sounding(events, 99)) == [
        "acoustic guitar",
        "drums",
    ]


def test_merged_midi_slots() -> None:
    song = grooves.read_midi(_type1())[0]
    blob = grooves.merged_midi([song, song], clip_s=1.2, slot_s=2.0)
    merged, _ = grooves.read_midi(blob)
    notes = [(round(t, 3), m[0]) for t, m in merged if m[0] & 0xF0 == 0x90 and m[2]]
    assert notes == [(0.0, 0x90), (2.0, 0x90)]  # the 1.5 s drum hit is past clip_s
    sound_off = [round(t, 3) for t, m in merged if m[0] & 0xF0 == 0xB0 and m[1] == 120]
    assert sound_off == [1.2] * 16 + [3.2] * 16
    assert blob.count(bytes([0xF0, 5, 0x7E, 0x7F, 0x09, 0x01, 0xF7])) == 2  # GM reset per slot


WORK = Path(os.environ.get("WAVLINK_CORPUS_WORK", "/work/corpus_work"))


@pytest.mark.skipif(
    shutil.which("fluidsynth") is None
    or not (WORK / "x/mma/usr/share/mma/lib/stdlib/.mmaDB").exists()
    or not list((WORK / "debs").glob("fluid-soundfont-gm_*.deb")),
    reason="needs fluidsynth and a work folder with mma unpacked (a grooves build)",
)
def test_render_one_groove(tmp_path: Path) -> None:
    for name in ("debs", "x"):
        (tmp_path / name).symlink_to(WORK / name)
    clips = grooves.render_grooves(tmp_path, max_grooves=1)
    assert len(clips) == 1
    src, spec, path = clips[0]
    x, sr = sf.read(path)
    assert src.name == "mma" and spec.subset == "grooves" and spec.group_key == "50srock"
    assert len(x) == grooves.CLIP_S * sr and np.sqrt(np.mean(x**2)) > 0.01
    assert "drums" in spec.captions[0] and spec.modifiers["meter"] == "4/4"
