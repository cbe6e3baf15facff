"""Rendered instrument notes: General-MIDI programs and drums through fluidsynth (the one-long-MIDI trick).

One MIDI file holds every note, one every 3 s; fluidsynth renders it once (~400x real time,
because the soundfont is loaded once) and the result is sliced at the known offsets. Slices
quieter than -60 dBFS (notes outside an instrument's range) are dropped.
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from wavlink_core.corpus.captions import make_captions
from wavlink_core.corpus.clip import ClipSpec
from wavlink_core.corpus.extract import unpack_archive
from wavlink_core.corpus.fetch import fetch
from wavlink_core.corpus.instruments import midi_note_name
from wavlink_core.corpus.sources import Source, source_by_name

log = logging.getLogger(__name__)

GM_PROGRAMS = (
    "acoustic grand piano",
    "bright acoustic piano",
    "electric grand piano",
    "honky-tonk piano",
    "electric piano",
    "chorused electric piano",
    "harpsichord",
    "clavinet",
    "celesta",
    "glockenspiel",
    "music box",
    "vibraphone",
    "marimba",
    "xylophone",
    "tubular bells",
    "dulcimer",
    "drawbar organ",
    "percussive organ",
    "rock organ",
    "church organ",
    "reed organ",
    "accordion",
    "harmonica",
    "tango accordion",
    "nylon-string acoustic guitar",
    "steel-string acoustic guitar",
    "jazz electric guitar",
    "clean electric guitar",
    "muted electric guitar",
    "overdriven guitar",
    "distortion guitar",
    "guitar harmonics",
    "acoustic bass",
    "fingered electric bass",
    "picked electric bass",
    "fretless bass",
    "slap bass",
    "slap bass",
    "synth bass",
    "synth bass",
    "violin",
    "viola",
    "cello",
    "contrabass",
    "tremolo strings",
    "pizzicato strings",
    "orchestral harp",
    "timpani",
    "string ensemble",
    "slow string ensemble",
    "synth strings",
    "synth strings",
    "choir singing aah",
    "voice singing ooh",
    "synth voice",
    "orchestra hit",
    "trumpet",
    "trombone",
    "tuba",
    "muted trumpet",
    "french horn",
    "brass section",
    "synth brass",
    "synth brass",
    "soprano saxophone",
    "alto saxophone",
    "tenor saxophone",
    "baritone saxophone",
    "oboe",
    "english horn",
    "bassoon",
    "clarinet",
    "piccolo",
    "flute",
    "recorder",
    "pan flute",
    "blown bottle",
    "shakuhachi",
    "whistle",
    "ocarina",
    "square-wave synth lead",
    "sawtooth synth lead",
    "calliope synth lead",
    "chiff synth lead",
    "charang synth lead",
    "voice synth lead",
    "fifths synth lead",
    "bass and lead synth",
    "new age synth pad",
    "warm synth pad",
    "polysynth pad",
    "choir synth pad",
    "bowed synth pad",
    "metallic synth pad",
    "halo synth pad",
    "sweep synth pad",
    "rain synth effect",
    "soundtrack synth effect",
    "crystal synth effect",
    "atmosphere synth effect",
    "brightness synth effect",
    "goblin synth effect",
    "echoes synth effect",
    "sci-fi synth effect",
    "sitar",
    "banjo",
    "shamisen",
    "koto",
    "kalimba",
    "bagpipe",
    "fiddle",
    "shanai",
    "tinkle bell",
    "agogo",
    "steel drums",
    "woodblock",
    "taiko drum",
    "melodic tom",
    "synth drum",
    "reverse cymbal",
    "guitar fret noise",
    "breath noise",
    "seashore",
    "bird tweet",
    "telephone ring",
    "helicopter",
    "applause",
    "gunshot",
)
GM_DRUMS = {
    35: "acoustic bass drum",
    36: "bass drum",
    37: "side stick",
    38: "acoustic snare",
    39: "hand clap",
    40: "electric snare",
    41: "low floor tom",
    42: "closed hi-hat",
    43: "high floor tom",
    44: "pedal hi-hat",
    45: "low tom",
    46: "open hi-hat",
    47: "low-mid tom",
    48: "hi-mid tom",
    49: "crash cymbal",
    50: "high tom",
    51: "ride cymbal",
    52: "chinese cymbal",
    53: "ride bell",
    54: "tambourine",
    55: "splash cymbal",
    56: "cowbell",
    57: "crash cymbal",
    58: "vibraslap",
    59: "ride cymbal",
    60: "high bongo",
    61: "low bongo",
    62: "muted high conga",
    63: "open high conga",
    64: "low conga",
    65: "high timbale",
    66: "low timbale",
    67: "high agogo",
    68: "low agogo",
    69: "cabasa",
    70: "maracas",
    71: "short whistle",
    72: "long whistle",
    73: "short guiro",
    74: "long guiro",
    75: "claves",
    76: "high woodblock",
    77: "low woodblock",
    78: "muted cuica",
    79: "open cuica",
    80: "muted triangle",
    81: "open triangle",
}
_FAMILY_AUDIOSET = (
    "Piano",
    "Mallet percussion",
    "Organ",
    "Guitar",
    "Bass guitar",
    "Bowed string instrument",
    "String section",
    "Brass instrument",
    "Wind instrument, woodwind instrument",
    "Wind instrument, woodwind instrument",
    "Synthesizer",
    "Synthesizer",
    "Synthesizer",
    "Plucked string instrument",
    "Percussion",
    "Sound effect",
)
SLOT_S, NOTE_S, SR = 3.0, 2.0, 22050
PITCHES = (48, 60, 72)
VELOCITIES = ((50, "softly"), (110, "loudly"))


def vlq(n: int) -> bytes:
    """MIDI variable-length quantity (delta times, meta lengths)."""
    out = [n & 0x7F]
    while n > 127:
        n >>= 7
        out.append((n & 0x7F) | 0x80)
    return bytes(reversed(out))


def smf_type0(track: bytes, tpq: int) -> bytes:
    """A type-0 standard MIDI file around one track's events (ending with End of Track)."""
    return (
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, tpq)
        + b"MTrk"
        + struct.pack(">I", len(track))
        + track
    )


def grid() -> list[tuple[int, int, int, int]]:
    """Every ``(channel, program, note, velocity)`` slot in render order (channel 9 = drums)."""
    slots = []
    melodic = [c for c in range(16) if c != 9]
    i = 0
    for prog in range(128):
        for note in PITCHES:
            for vel, _ in VELOCITIES:
                slots.append((melodic[i % len(melodic)], prog, note, vel))
                i += 1
    for key in GM_DRUMS:
        for vel, _ in VELOCITIES:
            slots.append((9, 0, key, vel))
    return slots


def midi_bytes(slots: list[tuple[int, int, int, int]], tpq: int = 480, bpm: int = 60) -> bytes:
    """A type-0 standard MIDI file playing each slot for NOTE_S at SLOT_S intervals (1 beat = 1 s)."""
    ev = bytearray(b"\x00\xff\x51\x03" + (60_000_000 // bpm).to_bytes(3, "big"))
    slot_t, note_t = int(SLOT_S * tpq), int(NOTE_S * tpq)
    gap = 0  # delta time carried into the next slot's first event
    for ch, prog, note, vel in slots:
        ev += vlq(gap) + bytes([0xC0 | ch, prog]) + vlq(0) + bytes([0x90 | ch, note, vel])
        ev += vlq(note_t) + bytes([0x80 | ch, note, 0])
        gap = slot_t - note_t
    ev += vlq(gap)
    ev += b"\xff\x2f\x00"
    return smf_type0(bytes(ev), tpq)


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _caption(
    ch: int, prog: int, note: int, vel: int
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    dyn = dict(VELOCITIES)[vel]
    if ch == 9:
        name = GM_DRUMS[note]
        return (
            f"drum {name}",
            (f"{_a(name)} hit {dyn}", _a(name), f"a single {name} stroke"),
            ("Drum", "Percussion"),
        )
    name = GM_PROGRAMS[prog]
    pitch = midi_note_name(note)
    return (
        f"gm {name}",
        (
            f"{_a(name)} playing the note {pitch} {dyn}",
            f"{_a(name)} note",
            f"a single {pitch} played {dyn} on {_a(name)}",
        ),
        (_FAMILY_AUDIOSET[prog // 8], "Music"),
    )


def find_soundfont(work: Path) -> Path | None:
    """FluidR3_GM.sf2 from the ``fluid-soundfont-gm`` package (fetched and unpacked once), or None."""
    src = source_by_name("fluid-soundfont-gm")
    root = unpack_archive(fetch(src.name, src.registry, work), work / "x" / src.name)
    return next(iter(sorted(root.rglob("FluidR3_GM.sf2"))), None)


def fluidsynth_mono(
    fluidsynth: str, sf2: Path, midi: Path, wav: Path, *, extra: tuple[str, ...] = ()
) -> np.ndarray:
    """Renders ``midi`` through ``sf2`` into ``wav`` (one fluidsynth run at nice 19, ``SR``, gain
    0.5, ``extra`` options before the output) and returns its samples, mixed to mono."""
    cmd = [fluidsynth, "-ni", "-q", "-g", "0.5", *extra, "-r", str(SR), "-F", str(wav)]
    subprocess.run(["nice", "-n", "19", *cmd, str(sf2), str(midi)], check=True, capture_output=True)
    audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    return audio.mean(axis=1)


def render_gm(work: Path) -> list[tuple[Source, ClipSpec, Path]]:
    """Render the GM grid once (cached in ``work/gm``) and return the clips for the builder.

    Returns an empty list (with a warning) when fluidsynth is not installed.
    """
    src = source_by_name("fluid-soundfont-gm")
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None:
        log.warning(
            "fluidsynth is not installed (apt-get install fluidsynth): skipping the gm subset"
        )
        return []
    sf2 = find_soundfont(work)
    if sf2 is None:
        log.warning("FluidR3_GM.sf2 not found in %s: skipping the gm subset", work / "x")
        return []
    gm_dir = work / "gm"
    slots = grid()
    done = gm_dir / ".rendered"
    if not done.exists():
        gm_dir.mkdir(parents=True, exist_ok=True)
        (gm_dir / "all.mid").write_bytes(midi_bytes(slots))
        mono = fluidsynth_mono(fluidsynth, sf2, gm_dir / "all.mid", gm_dir / "all.wav")
        for i in range(len(slots)):
            seg = mono[int(i * SLOT_S * SR) : int((i + 1) * SLOT_S * SR)]
            if seg.size and np.sqrt(np.mean(seg**2)) > 1e-3:
                sf.write(gm_dir / f"slot{i:04d}.wav", seg, SR, subtype="PCM_16")
        (gm_dir / "all.wav").unlink()
        done.touch()
    out = []
    for i, (ch, prog, note, vel) in enumerate(slots):
        path = gm_dir / f"slot{i:04d}.wav"
        if not path.exists():
            continue
        cat, phrases, audioset = _caption(ch, prog, note, vel)
        group = f"drum/{note}" if ch == 9 else f"prog/{prog}"
        out.append(
            (
                src,
                ClipSpec(
                    rel=f"gm/slot{i:04d}.wav",
                    category=cat,
                    subset="gm",
                    captions=make_captions(phrases, {}, f"gm:{i}"),
                    group_key=group,
                    modifiers={"velocity": dict(VELOCITIES)[vel], "note": midi_note_name(note)},
                    audioset=audioset,
                ),
                path,
            )
        )
    return out
