"""Groove captions: mma style families mapped to genre phrases, and GM instruments named from MIDI.

The family is the stdlib file a groove is defined in (``bossanova.mma`` defines BossaNova,
BossaNovaSus, BossaNova1Plus ...); its entry gives the genre phrase, the AudioSet classes and
a natural tempo for the rendering song (mma counts quarter notes; the library's docs ask for a
doubled tempo on 2/4 styles, which the numbers below follow). Instruments are never taken from
the family: they are read from the clip's own MIDI events, so a caption names only what plays.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """One groove family.

    Attributes:
        head: Canonical phrase of the first caption ("a bossa nova groove").
        name: Short genre name ("bossa nova"); also the category (``groove <name>``).
        kind: Broader genre for the "kind: name" paraphrase ("latin music").
        audioset: AudioSet genre classes, most specific first.
        bpm: Tempo of the rendering song, in mma beats (quarter notes) per minute.
        meter: Time signature when the file's own ``Timesig`` is wrong (else the MIDI's is used).
    """

    head: str
    name: str
    kind: str
    audioset: tuple[str, ...]
    bpm: int
    meter: str | None = None


_S = Style
_LATIN, _JAZZ, _ROCK, _POP = "latin music", "jazz", "rock music", "pop music"
_DANCE, _COUNTRY, _BLUES, _MARCH = "ballroom dance music", "country music", "blues", "march music"
_LA, _SW = ("Music of Latin America",), ("Swing music", "Jazz")
STYLES: dict[str, Style] = {
    "50srock": _S("a fifties rock and roll beat", "fifties rock and roll", _ROCK, ("Rock and roll", "Rock music"), 150),
    "60srock": _S("a sixties rock beat", "sixties rock", _ROCK, ("Rock music",), 130),
    "68march": _S("a march in six-eight time", "six-eight march", _MARCH, ("Music",), 110),
    "68swing": _S("a swing rhythm in six-eight time", "six-eight swing", _JAZZ, _SW, 180),
    "8beat": _S("an eight-beat rock groove", "eight-beat rock", _ROCK, ("Rock music",), 120),
    "afro-cuban": _S("an Afro-Cuban rhythm in six-eight time", "Afro-Cuban", _LATIN, _LA, 140),
    "arpeggio44": _S("an arpeggiated accompaniment", "arpeggio", "easy listening", ("Music",), 90),
    "arpeggio68": _S("an arpeggiated accompaniment in six-eight time", "six-eight arpeggio", "easy listening", ("Music",), 150),
    "arpeggiowaltz": _S("an arpeggiated waltz", "arpeggio waltz", "easy listening", ("Music",), 120),
    "ballad": _S("a slow ballad", "ballad", _POP, ("Pop music",), 72),
    "ballad128": _S("a ballad in twelve-eight feel", "twelve-eight ballad", _POP, ("Pop music",), 60),
    "ballad68": _S("a ballad in six-eight feel", "six-eight ballad", _POP, ("Pop music",), 110),
    "basicrock": _S("a basic rock beat", "rock", _ROCK, ("Rock music",), 120),
    "bebop": _S("a bebop groove", "bebop", _JAZZ, ("Jazz",), 140),
    "beguine": _S("a beguine rhythm", "beguine", _LATIN, (*_LA, "Dance music"), 110),
    "bigband": _S("a big band swing groove", "big band swing", _JAZZ, _SW, 150),
    "bluefolk": _S("a blues-folk backing", "blues-folk", "folk music", ("Folk music", "Blues"), 100),
    "bluegrass": _S("a bluegrass groove", "bluegrass", _COUNTRY, ("Bluegrass", "Country"), 180),
    "blues": _S("a blues groove", "blues", _BLUES, ("Blues",), 100),
    "blues128": _S("a blues in twelve-eight feel", "twelve-eight blues", _BLUES, ("Blues",), 60),
    "blues68": _S("a blues in six-eight time", "six-eight blues", _BLUES, ("Blues",), 150),
    "boggiewoggie": _S("a boogie-woogie groove", "boogie-woogie", _BLUES, ("Blues",), 150),
    "bolero": _S("a bolero rhythm", "bolero", _LATIN, _LA, 110),
    "boneym": _S("a disco groove", "disco", "dance music", ("Disco", "Dance music"), 120),
    "bossanova": _S("a bossa nova groove", "bossa nova", _LATIN, _LA, 130),
    "broadway": _S("a Broadway show rhythm", "Broadway show", "musical theatre", ("Music",), 240),
    "broadwaywaltz": _S("a Broadway waltz", "Broadway waltz", "musical theatre", ("Music",), 140),
    "bubblerock": _S("a bubblegum rock beat", "bubblegum rock", _POP, ("Pop music", "Rock music"), 130),
    "bvfunk": _S("a funk groove", "funk", "funk music", ("Funk",), 110),
    "bwmarch": _S("a Broadway march", "Broadway march", _MARCH, ("Music",), 220),
    "calypso": _S("a calypso groove", "calypso", "Caribbean music", _LA, 130),
    "chacha": _S("a cha-cha-cha rhythm", "cha-cha-cha", _LATIN, (*_LA, "Dance music"), 120),
    "charleston": _S("a 1920s Charleston", "Charleston", _DANCE, ("Dance music", "Jazz"), 220),
    "countryblues": _S("a country blues groove", "country blues", _BLUES, ("Blues", "Country"), 100),
    "countryswing": _S("a country swing rhythm", "country swing", _COUNTRY, ("Country",), 140),
    "countrywaltz": _S("a country waltz", "country waltz", _COUNTRY, ("Country",), 130),
    "cubanguitar": _S("a gentle Cuban guitar accompaniment", "Cuban guitar", _LATIN, _LA, 90),
    "descendingjazz": _S("a jazz groove with a descending line", "descending jazz", _JAZZ, ("Jazz",), 120),
    "desert": _S("an exotic, Eastern-flavoured jazz groove", "exotic jazz", _JAZZ, ("Jazz",), 120),
    "dixie": _S("a Dixieland jazz groove", "Dixieland jazz", _JAZZ, ("Jazz",), 200),
    "dixiemarch": _S("a Dixieland march", "Dixieland march", _JAZZ, ("Jazz",), 180),
    "dsoul": _S("a disco soul groove", "disco soul", "soul music", ("Soul music", "Disco"), 110),
    "easyswing": _S("an easy swing groove", "easy swing", _JAZZ, _SW, 110),
    "evansish": _S("a mellow jazz trio groove", "jazz trio", _JAZZ, ("Jazz",), 100),
    "fastblues": _S("a fast blues groove", "fast blues", _BLUES, ("Blues",), 160),
    "fastjazzwaltz": _S("a fast jazz waltz", "fast jazz waltz", _JAZZ, ("Jazz",), 200),
    "fastswing": _S("a fast swing groove", "fast swing", _JAZZ, _SW, 220),
    "fastwaltz": _S("a fast waltz", "fast waltz", _DANCE, ("Dance music",), 200),
    "folk": _S("a finger-picked folk accompaniment", "folk", "folk music", ("Folk music",), 110),
    "folkballad": _S("a slow folk ballad", "folk ballad", "folk music", ("Folk music",), 80),
    "folkrock": _S("a sixties folk rock groove", "folk rock", _ROCK, ("Folk music", "Rock music"), 120),
    "folkyjazz": _S("a folky jazz groove", "folk jazz", _JAZZ, ("Jazz", "Folk music"), 110),
    "foxtrot": _S("a foxtrot", "foxtrot", _DANCE, ("Dance music",), 120),
    "frenchwaltz": _S("a French café waltz", "French musette waltz", _DANCE, ("Dance music",), 150),
    "guitarballad": _S("a guitar ballad", "guitar ballad", _POP, ("Pop music",), 80),
    "gypsyjazz": _S("a gypsy jazz groove", "gypsy jazz", _JAZZ, ("Jazz",), 180),
    "hillcountry": _S("a hillbilly country beat", "hillbilly country", _COUNTRY, ("Country",), 130),
    "hymn": _S("a church hymn accompaniment", "hymn", "church music", ("Christian music",), 90),
    "jazz-54": _S("a jazz groove in five-four time", "five-four jazz", _JAZZ, ("Jazz",), 170),
    "jazzcombo": _S("a jazz combo groove", "jazz combo", _JAZZ, ("Jazz",), 160),
    "jazzguitar": _S("a jazz guitar accompaniment", "jazz guitar", _JAZZ, ("Jazz",), 100),
    "jazzrhumba": _S("a jazz rhumba", "jazz rhumba", "latin jazz", ("Jazz", *_LA), 120),
    "jazzrock": _S("an upbeat jazz-rock groove", "jazz-rock", _JAZZ, ("Jazz", "Rock music"), 130),
    "jazzwaltz": _S("a jazz waltz", "jazz waltz", _JAZZ, ("Jazz",), 150),
    "jive": _S("a jive rhythm", "jive", "rock and roll", ("Rock and roll", "Dance music"), 150),
    "latinwaltz": _S("a latin waltz", "latin waltz", _LATIN, _LA, 140),
    "lfusion": _S("a latin fusion groove", "latin fusion", _LATIN, (*_LA, "Jazz"), 120),
    "lighttango": _S("a light tango", "tango", _LATIN, (*_LA, "Dance music"), 120),
    "lullaby": _S("a gentle lullaby accompaniment", "lullaby", "children's music", ("Lullaby",), 80),
    "mambo": _S("a mambo", "mambo", _LATIN, (*_LA, "Dance music"), 180),
    "march": _S("a military march", "march", _MARCH, ("Music",), 200),
    "mellowjazz": _S("a mellow jazz groove", "mellow jazz", _JAZZ, ("Jazz",), 70),
    "merengue": _S("a merengue", "merengue", _LATIN, (*_LA, "Dance music"), 220),
    "metronome": _S("metronome clicks", "metronome", "count-in", ("Wood block",), 120),
    "metronome3": _S("metronome clicks", "metronome", "count-in", ("Wood block",), 120),
    "metronome6": _S("metronome clicks", "metronome", "count-in", ("Wood block",), 120),
    "metronome68": _S("metronome clicks", "metronome", "count-in", ("Wood block",), 160),
    "modernjazz": _S("a modern jazz groove", "modern jazz", _JAZZ, ("Jazz",), 130),
    "modernjazzwaltz": _S("a modern jazz waltz", "modern jazz waltz", _JAZZ, ("Jazz",), 150),
    "nitejazz": _S("a late-night jazz groove", "late-night jazz", _JAZZ, ("Jazz",), 60),
    "pianoballad": _S("a piano ballad", "piano ballad", _POP, ("Pop music",), 70),
    "polka": _S("a polka", "polka", "folk dance music", ("Dance music",), 220),
    "popballad": _S("a pop ballad", "pop ballad", _POP, ("Pop music",), 76),
    "popspiritual": _S("a gospel-style pop ballad", "pop spiritual", "gospel music", ("Gospel music",), 70),
    "quickstep": _S("a quickstep", "quickstep", _DANCE, ("Dance music",), 200),
    "ragtime": _S("a ragtime accompaniment", "ragtime", "early jazz", ("Music",), 200),
    "rb-ballad": _S("a rhythm and blues ballad", "R&B ballad", "rhythm and blues", ("Rhythm and blues",), 70),
    "rb": _S("a rhythm and blues groove", "R&B", "rhythm and blues", ("Rhythm and blues",), 110),
    "rhumba": _S("a rhumba", "rhumba", _LATIN, (*_LA, "Dance music"), 120),
    "rock-128": _S("a fifties doo-wop rock beat", "doo-wop rock", _ROCK, ("Rock and roll",), 70),
    "rockballad": _S("a rock ballad", "rock ballad", _ROCK, ("Rock music",), 80),
    "rockwaltz": _S("a rock waltz", "rock waltz", _ROCK, ("Rock music",), 140),
    "salsa": _S("a salsa groove", "salsa", _LATIN, ("Salsa music", *_LA), 180),
    "samba": _S("a samba", "samba", _LATIN, _LA, 200),
    "showtune": _S("an orchestral show tune accompaniment", "show tune", "musical theatre", ("Music",), 110),
    "shuffleboggie": _S("a boogie shuffle", "shuffle boogie", _BLUES, ("Blues",), 130),
    "ska": _S("a ska groove", "ska", "Jamaican music", ("Ska",), 220),
    "slowblues": _S("a slow blues", "slow blues", _BLUES, ("Blues",), 70),
    "slowbolero": _S("a slow bolero", "slow bolero", _LATIN, _LA, 80),
    "slowbroadway": _S("a Broadway show rhythm", "Broadway show", "musical theatre", ("Music",), 110),
    "slowcountry": _S("a slow country ballad", "slow country", _COUNTRY, ("Country",), 75),
    "slowjazz": _S("an easy-going slow jazz groove", "slow jazz", _JAZZ, ("Jazz",), 80),
    "slowspiritual": _S("a slow gospel-style ballad", "slow spiritual", "gospel music", ("Gospel music",), 60),
    "softrock": _S("a soft rock beat", "soft rock", _ROCK, ("Rock music",), 130),
    "softshoe": _S("a soft-shoe dance rhythm", "soft-shoe", "vaudeville music", ("Dance music",), 120),
    "son": _S("a Cuban son montuno", "son montuno", _LATIN, _LA, 160),
    "spiritual": _S("a spiritual", "spiritual", "gospel music", ("Gospel music", "Christian music"), 140),
    "stringballad": _S("a slow string ballad", "string ballad", "easy listening", ("Music",), 66),
    "strut": _S("a driving rock strut", "rock strut", _ROCK, ("Rock music",), 110),
    "swing": _S("a swing jazz accompaniment", "swing", _JAZZ, _SW, 140),
    "tango": _S("a tango", "tango", _LATIN, (*_LA, "Dance music"), 120),
    "trance": _S("a trance dance beat", "trance", "electronic dance music", ("Trance music", "Electronic dance music"), 135),
    "twist": _S("a sixties twist beat", "twist", "rock and roll", ("Rock and roll",), 160),
    "vienesewaltz": _S("a Viennese waltz", "Viennese waltz", _DANCE, ("Dance music",), 180, "3/4"),  # file: Time 3, Timesig 4 4
    "waltz": _S("a waltz in three-four time", "waltz", _DANCE, ("Dance music",), 150),
    "westernswing": _S("a western swing groove", "western swing", _COUNTRY, ("Country", "Swing music"), 150),
    "zydeco": _S("a zydeco groove", "zydeco", "Louisiana music", ("Music",), 140),
}  # fmt: skip

# GM program ranges -> caption noun (None: sound effects, never named); see render.GM_PROGRAMS.
_PROGRAM_NOUNS = (
    (0, "piano"), (4, "electric piano"), (6, "harpsichord"), (7, "clavinet"), (8, "celesta"),
    (9, "glockenspiel"), (10, "music box"), (11, "vibraphone"), (12, "marimba"),
    (13, "xylophone"), (14, "tubular bells"), (15, "dulcimer"), (16, "organ"), (21, "accordion"),
    (22, "harmonica"), (23, "accordion"), (24, "acoustic guitar"), (26, "electric guitar"),
    (29, "distorted guitar"), (31, "guitar"), (32, "upright bass"), (33, "bass"),
    (38, "synth bass"), (40, "violin"), (41, "viola"), (42, "cello"), (43, "double bass"),
    (44, "strings"), (46, "harp"), (47, "timpani"), (48, "strings"), (50, "synth strings"),
    (52, "choir"), (54, "synth voice"), (55, "orchestra hits"), (56, "trumpet"),
    (57, "trombone"), (58, "tuba"), (59, "muted trumpet"), (60, "french horn"), (61, "brass"),
    (62, "synth brass"), (64, "saxophone"), (68, "oboe"), (69, "english horn"), (70, "bassoon"),
    (71, "clarinet"), (72, "piccolo"), (73, "flute"), (74, "recorder"), (75, "pan flute"),
    (76, "blown bottle"), (77, "shakuhachi"), (78, "whistling"), (79, "ocarina"),
    (80, "synth lead"), (88, "synth pad"), (96, None), (104, "sitar"), (105, "banjo"),
    (106, "shamisen"), (107, "koto"), (108, "kalimba"), (109, "bagpipes"), (110, "fiddle"),
    (111, "shehnai"), (112, "bells"), (113, "agogo"), (114, "steel drums"), (115, "woodblock"),
    (116, "taiko drum"), (117, "toms"), (118, "synth drums"), (119, None),
)  # fmt: skip
_STARTS = [p for p, _ in _PROGRAM_NOUNS]
_BASS = ("upright bass", "double bass", "bass", "synth bass", "tuba")
# GM drum keys of a kit (kick, snare, toms, hi-hats, cymbals); other keys are hand percussion.
_KIT_KEYS = frozenset(
    {35, 36, 37, 38, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 57, 59}
)
_CLAP_KEY = 39
_WOODBLOCK_KEYS = frozenset({76, 77})
_AUDIOSET_INSTRUMENT = {
    "piano": "Piano", "electric piano": "Electric piano", "harpsichord": "Harpsichord",
    "organ": "Organ", "accordion": "Accordion", "harmonica": "Harmonica",
    "acoustic guitar": "Acoustic guitar", "electric guitar": "Electric guitar",
    "distorted guitar": "Electric guitar", "guitar": "Guitar", "upright bass": "Double bass",
    "double bass": "Double bass", "bass": "Bass guitar", "violin": "Violin, fiddle",
    "fiddle": "Violin, fiddle", "cello": "Cello", "strings": "String section", "harp": "Harp",
    "trumpet": "Trumpet", "muted trumpet": "Trumpet", "trombone": "Trombone",
    "french horn": "French horn", "brass": "Brass instrument", "tuba": "Brass instrument",
    "saxophone": "Saxophone", "clarinet": "Clarinet", "flute": "Flute", "banjo": "Banjo",
    "vibraphone": "Vibraphone", "marimba": "Marimba, xylophone", "xylophone": "Marimba, xylophone",
    "glockenspiel": "Glockenspiel", "synth lead": "Synthesizer", "synth pad": "Synthesizer",
    "synth bass": "Synthesizer", "synth strings": "Synthesizer", "synth brass": "Synthesizer",
    "timpani": "Timpani", "steel drums": "Steelpan", "tubular bells": "Tubular bells",
    "sitar": "Sitar", "bagpipes": "Bagpipes", "drums": "Drum kit", "percussion": "Percussion",
    "hand claps": "Clapping",
}  # fmt: skip
_METER_WORDS = {
    "2/4": "two-four time", "3/4": "three-four time", "5/4": "five-four time",
    "6/8": "six-eight time", "12/8": "twelve-eight time",
}  # fmt: skip


def program_noun(program: int) -> str | None:
    """Caption noun of a GM program (0-127), or None for sound-effect programs."""
    return _PROGRAM_NOUNS[bisect.bisect_right(_STARTS, program) - 1][1]


def instrument_nouns(programs: set[int], drum_keys: set[int]) -> list[str]:
    """Nouns of what plays: melodic programs by GM order, bass next, then drums and percussion.

    >>> instrument_nouns({0, 32}, {36, 38, 42, 75})
    ['piano', 'upright bass', 'drums', 'percussion']
    """
    nouns = list(dict.fromkeys(n for p in sorted(programs) if (n := program_noun(p))))
    nouns = [n for n in nouns if n not in _BASS] + [n for n in nouns if n in _BASS]
    if drum_keys & _KIT_KEYS:
        nouns.append("drums")
    if _CLAP_KEY in drum_keys:
        nouns.append("hand claps")
    if drum_keys - _KIT_KEYS - {_CLAP_KEY}:
        nouns.append("woodblock" if drum_keys <= _WOODBLOCK_KEYS else "percussion")
    return nouns


def join_nouns(nouns: list[str], limit: int = 5) -> str:
    """``a, b and c``; more than ``limit`` nouns end in "and other instruments"."""
    if len(nouns) > limit:
        nouns = [*nouns[: limit - 1], "other instruments"]
    return nouns[0] if len(nouns) == 1 else f"{', '.join(nouns[:-1])} and {nouns[-1]}"


def groove_captions(
    style: Style, nouns: list[str], *, meter: str | None = None, walking: bool = False
) -> list[str]:
    """3-5 true paraphrases of one rendered groove, the most precise first.

    Args:
        style: The groove's family entry.
        nouns: What plays, from :func:`instrument_nouns` (may be empty).
        meter: Time signature from the MIDI file (``"3/4"``), stated only when it is not 4/4.
        walking: The variant has a walking-bass track (``...Walk`` grooves).
    """
    inst = join_nouns(nouns) if nouns else ""
    meter_words = _METER_WORDS.get(meter or "")
    if style.name == "metronome":
        beat = f" in {meter_words}" if meter_words else ""
        return [
            f"metronome clicks on a woodblock{beat}",
            "a metronome ticking",
            "a steady click track",
        ]
    forms = [f"{style.head} with {inst}" if inst else style.head]
    if walking and any(n in _BASS for n in nouns):
        forms.append(f"{style.head} with a walking bass line")
    forms.append(f"{style.name} accompaniment")
    forms.append(
        f"{style.kind}: {style.name}"
        if style.kind.split()[0] not in style.name.lower()
        else f"instrumental {style.name} music"
    )
    if meter_words and meter_words.split()[0] not in f"{style.head} {style.name}":
        forms.append(f"an instrumental {style.name} backing track in {meter_words}")
    elif inst:
        forms.append(f"{style.name} played by {inst}")
    else:
        forms.append(f"an instrumental {style.name} backing track")
    return list(dict.fromkeys(forms))[:5]


def groove_audioset(style: Style, nouns: list[str]) -> tuple[str, ...]:
    """The family's genre classes, then the classes of the instruments that play, then Music."""
    inst = [_AUDIOSET_INSTRUMENT[n] for n in nouns if n in _AUDIOSET_INSTRUMENT]
    return tuple(dict.fromkeys([*style.audioset, *inst, "Music"]))
