"""Instrument and drum names -> canonical class, caption phrase and AudioSet classes.

Used for drum-kit XML instrument names (hydrogen), sample file names (sonic-pi, lmms,
sound-icons, gcompris instruments) and organ stops.
"""

from __future__ import annotations

import re

# (pattern on normalised name, class, phrase, audioset); ordered: specific first.
INSTRUMENT_RULES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        r"\b(side ?stick|cross ?stick|rim ?click)\b",
        "side stick",
        "a side-stick click on a snare drum",
        ("Rimshot",),
    ),
    (r"\b(rim ?shot|rimshot)\b", "rimshot", "a snare rimshot", ("Rimshot", "Snare drum")),
    (
        r"\b(kick|bd|bass ?drum|kickdrum|bassdrum)\b",
        "kick drum",
        "a kick drum hit",
        ("Bass drum", "Drum kit"),
    ),
    (r"\b(snare|sn|sd)\b", "snare drum", "a snare drum hit", ("Snare drum", "Drum")),
    (
        r"\b(hat ?pedal|pedal ?hat|hh ?pedal|foot ?hat)\b",
        "hi-hat pedal",
        "a pedal hi-hat chick",
        ("Hi-hat",),
    ),
    (
        r"\b(hat ?open|open ?hat|hh ?open|hhopen|ohh|hat op|cymbal open)\b",
        "hi-hat open",
        "an open hi-hat",
        ("Hi-hat",),
    ),
    (
        r"\b(hat|hihat|hi hat|hh|hhclosed|chh|hat closed|hat choke|hat swish)\b",
        "hi-hat closed",
        "a closed hi-hat tick",
        ("Hi-hat",),
    ),
    (r"\b(ride ?bell|bell ?ride)\b", "ride bell", "a ride cymbal bell", ("Cymbal",)),
    (r"\b(ride|ridebow)\b", "ride cymbal", "a ride cymbal", ("Cymbal",)),
    (r"\b(crash)\b", "crash cymbal", "a crash cymbal", ("Cymbal",)),
    (r"\b(splash)\b", "splash cymbal", "a splash cymbal", ("Cymbal",)),
    (r"\b(china)\b", "china cymbal", "a china cymbal", ("Cymbal",)),
    (r"\b(cymbal|cymbals)\b", "cymbal", "a cymbal crash", ("Cymbal",)),
    (r"\b(floor ?tom|tom ?floor)\b", "floor tom", "a floor tom hit", ("Drum", "Drum kit")),
    (r"\b(tom|toms|tomhi|tomlo|tommid)\b", "tom", "a tom drum hit", ("Drum", "Drum kit")),
    (r"\b(clap|claps|handclap)\b", "hand clap", "a hand clap", ("Clapping",)),
    (r"\b(snap|finger ?snap|fingersnap)\b", "finger snap", "a finger snap", ("Finger snapping",)),
    (r"\b(cowbell)\b", "cowbell", "a cowbell", ("Cowbell",)),
    (r"\b(tambourine|tamb)\b", "tambourine", "a tambourine shake", ("Tambourine",)),
    (
        r"\b(maraca|maracas|shaker|shake)\b",
        "shaker",
        "a maraca shaking",
        ("Maraca", "Rattle (instrument)"),
    ),
    (r"\b(cajon|cajons)\b", "cajon", "a cajon being hit", ("Drum", "Percussion")),
    (
        r"\b(djembe|dununba|sangban|kenkeni|dundun)\b",
        "djembe",
        "an African hand drum",
        ("Drum", "Percussion"),
    ),
    (r"\b(bongo|bongos|conga|congas)\b", "bongo", "a bongo drum", ("Drum", "Percussion")),
    (r"\b(tabla)\b", "tabla", "a tabla drum stroke", ("Tabla", "Drum")),
    (r"\b(clave|claves)\b", "clave", "claves clicking", ("Wood block", "Percussion")),
    (r"\b(wood ?block|woodblock)\b", "woodblock", "a woodblock knock", ("Wood block",)),
    (r"\b(castanets?)\b", "castanets", "castanets clicking", ("Percussion",)),
    (r"\b(triangle)\b", "triangle", "a triangle ringing", ("Percussion", "Chime")),
    (r"\b(timpani)\b", "timpani", "a timpani roll", ("Timpani",)),
    (r"\b(gong)\b", "gong", "a gong", ("Gong",)),
    (r"\b(xylofon|xylophone|marimba)\b", "xylophone", "a xylophone note", ("Marimba, xylophone",)),
    (r"\b(glass ?water|water ?glass|glass)\b", "glass", "a glass tapped", ("Chink, clink",)),
    (
        r"\b(strum|strums|chord|guitar ?strums?)\b",
        "guitar strum",
        "an acoustic guitar strumming",
        ("Strum", "Acoustic guitar"),
    ),
    (r"\b(electric ?guitar)\b", "electric guitar", "an electric guitar", ("Electric guitar",)),
    (r"\b(guit|guitar|guitars)\b", "guitar", "a guitar", ("Guitar", "Acoustic guitar")),
    (r"\b(bass)\b", "bass", "a bass note", ("Bass guitar",)),
    (r"\b(banjo)\b", "banjo", "a banjo", ("Banjo",)),
    (r"\b(harp)\b", "harp", "a harp", ("Harp",)),
    (r"\b(violin|fiddle)\b", "violin", "a violin", ("Violin, fiddle",)),
    (r"\b(violoncello|cello)\b", "cello", "a cello", ("Cello",)),
    (r"\b(flute|flute traversiere)\b", "flute", "a flute", ("Flute",)),
    (r"\b(clarinet)\b", "clarinet", "a clarinet", ("Clarinet",)),
    (r"\b(saxophone|sax)\b", "saxophone", "a saxophone", ("Saxophone",)),
    (r"\b(trumpet)\b", "trumpet", "a trumpet", ("Trumpet",)),
    (r"\b(trombone)\b", "trombone", "a trombone", ("Trombone",)),
    (r"\b(tuba)\b", "tuba", "a tuba", ("Brass instrument",)),
    (r"\b(horn|french ?horn)\b", "french horn", "a french horn", ("French horn",)),
    (r"\b(accordion)\b", "accordion", "an accordion", ("Accordion",)),
    (r"\b(harmonica)\b", "harmonica", "a harmonica", ("Harmonica",)),
    (r"\b(cembalo|harpsichord)\b", "harpsichord", "a harpsichord", ("Harpsichord",)),
    (r"\b(piano)\b", "piano", "a piano", ("Piano",)),
    (r"\b(organ)\b", "organ", "an organ", ("Organ",)),
    (r"\b(drum ?kit|drums?|perc)\b", "drum", "a drum hit", ("Drum",)),
    (
        r"\b(vinyl|scratch)\b",
        "vinyl scratch",
        "a vinyl record scratch",
        ("Scratching (performance technique)",),
    ),
    (r"\b(loop|break|breaks|beat|beats|amen)\b", "drum loop", "a drum loop", ("Drum kit", "Drum")),
    (r"\b(crow)\b", "crow", "a crow cawing", ("Crow", "Caw")),
    (r"\b(door)\b", "door", "a door knock", ("Door",)),
    (r"\b(till)\b", "cash register", "a cash register", ("Cash register",)),
    (r"\b(canary)\b", "birds", "a canary singing", ("Bird",)),
)
_COMPILED = tuple((re.compile(p), c, ph, a) for p, c, ph, a in INSTRUMENT_RULES)

_VELOCITY = {
    "softest": "very softly",
    "soft": "softly",
    "ghost": "very softly",
    "med": "at medium strength",
    "medium": "at medium strength",
    "hard": "hard",
    "hardest": "very hard",
    "lo": "softly",
    "hi": "hard",
}


def match_instrument(text: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``(class, phrase, audioset)`` for a normalised instrument name, or None."""
    for pattern, cls, phrase, audioset in _COMPILED:
        if pattern.search(text):
            return cls, phrase, audioset
    return None


def velocity_words(text: str, level: float | None = None) -> str | None:
    """How hard a hit was, from a layer's velocity (0-1) or words in its name."""
    if level is not None:
        return "softly" if level < 0.34 else ("at medium strength" if level < 0.67 else "hard")
    for word in reversed(text.split()):
        if word in _VELOCITY:
            return _VELOCITY[word]
    return None


NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_note_name(note: int) -> str:
    """MIDI note number -> scientific pitch name (60 -> C4)."""
    return f"{NOTE_NAMES[note % 12]}{note // 12 - 1}"
