"""Speech clips with exact transcripts: transcript parsers and the speech caption format.

Captions follow ``a woman says in French: "…"``; the transcript is also kept in its own field
so a model can be trained for speech-text retrieval separately.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from pathlib import Path

LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "ru": "Russian",
    "de": "German",
    "ca": "Catalan",
    "ro": "Romanian",
    "bg": "Bulgarian",
    "be": "Belarusian",
    "el": "Greek",
    "da": "Danish",
    "nl": "Dutch",
    "pt": "Portuguese",
    "pt_BR": "Brazilian Portuguese",
    "ml": "Malayalam",
    "cs": "Czech",
    "hu": "Hungarian",
    "lt": "Lithuanian",
    "uk": "Ukrainian",
    "pl": "Polish",
    "sv": "Swedish",
    "fi": "Finnish",
    "nb": "Norwegian",
    "nn": "Norwegian",
    "ga": "Irish",
    "sl": "Slovenian",
    "sk": "Slovak",
    "tr": "Turkish",
    "zh": "Mandarin Chinese",
    "ja": "Japanese",
    "ar": "Arabic",
    "he": "Hebrew",
    "eu": "Basque",
    "gl": "Galician",
    "et": "Estonian",
    "lv": "Latvian",
    "hr": "Croatian",
    "sr": "Serbian",
    "is": "Icelandic",
    "eo": "Esperanto",
    "br": "Breton",
    "ast": "Asturian",
    "oc": "Occitan",
    "km": "Khmer",
    "kk": "Kazakh",
    "ko": "Korean",
    "hi": "Hindi",
    "ta": "Tamil",
    "te": "Telugu",
    "fa": "Persian",
    "id": "Indonesian",
    "vi": "Vietnamese",
}
_SPEAKER = {"f": "a woman", "m": "a man", None: "a person"}


def language_name(code: str) -> str:
    """English name of a language code (``pt_BR`` -> Brazilian Portuguese); the code if unknown."""
    return LANGUAGES.get(code) or LANGUAGES.get(code.split("_")[0].split("-")[0], code)


def speech_captions(
    transcript: str, language: str, gender: str | None = None, *, channel: str | None = None
) -> list[str]:
    """Captions for a clip with an exact transcript.

    >>> speech_captions("Thank you.", "en", "f")[0]
    'a woman says in English: "Thank you."'
    """
    who = _SPEAKER.get(gender, "a person")
    lang = language_name(language)
    text = transcript.strip()
    tail = f" {channel}" if channel else ""
    out = [
        f'{who} says in {lang}{tail}: "{text}"',
        f"{who} speaking {lang}{tail}",
        f'"{text}" spoken in {lang} by {who}',
        f"{lang} speech{tail}",
    ]
    return list(dict.fromkeys(out))


def word_captions(
    concept: str, language: str, kind: str = "word", gender: str | None = None
) -> list[str]:
    """Captions for an isolated word, letter or syllable (ktuberling, klettres)."""
    who = _SPEAKER.get(gender, "a person")
    lang = language_name(language)
    if kind == "word":
        first = f'{who} says the word for "{concept}" in {lang}'
    else:
        first = f'{who} says the {kind} "{concept}" in {lang}'
    return [
        first,
        f"{who} pronouncing a single {kind} in {lang}",
        f"a single {lang} {kind} spoken aloud",
    ]


def parse_asterisk_text(text: str) -> dict[str, str]:
    """``key: sentence`` lines of an asterisk ``core-sounds-LANG.txt``; tone markers ``[...]`` dropped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith(";") or ":" not in line:
            continue
        key, _, sentence = line.partition(":")
        sentence = sentence.strip()
        if key.strip() and sentence and not sentence.startswith("["):
            out[key.strip()] = re.sub(r"\s+", " ", sentence)
    return out


def load_asterisk_transcripts(companion_root: Path) -> dict[str, str]:
    """All transcripts shipped in a ``asterisk-core-sounds-LANG`` package (``.txt`` or ``.txt.gz``)."""
    out: dict[str, str] = {}
    for path in sorted(companion_root.rglob("core-sounds-*.txt*")):
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        out.update(parse_asterisk_text(raw.decode("utf-8", "replace")))
    return out


def asterisk_voice(folder: str) -> tuple[str, str | None]:
    """Language and speaker gender from a voice folder such as ``en_US_f_Allison``."""
    m = re.match(r"([a-z]{2})(?:_[A-Z]{2})?_([fm])_", folder)
    if m:
        return m.group(1), m.group(2)
    return folder.split("_")[0], None


def parse_tuxpaint_text(text: str) -> dict[str, str]:
    """Stamp description file: line 1 English, then ``LANG.utf8=text`` lines; returns {lang: text}."""
    lines = text.splitlines()
    out: dict[str, str] = {}
    if lines and "=" not in lines[0]:
        out["en"] = lines[0].strip()
    for line in lines[1:]:
        m = re.match(r"([A-Za-z_@]+)\.utf8=(.*)$", line.strip())
        if m and m.group(2).strip():
            out[m.group(1).split("@")[0]] = m.group(2).strip()
    return out


def tuxpaint_desc_language(stem: str) -> str | None:
    """Language of a ``*_desc[_LANG]`` file stem (no suffix = English); None if not a description."""
    m = re.search(r"_desc(?:_([A-Za-z]{2,3}(?:_[A-Z]{2})?))?$", stem)
    if not m:
        return None
    return m.group(1) or "en"


def parse_sound_xml(text: str) -> list[tuple[str, str]]:
    """``(name, file)`` pairs of ``<sound name=".." file=".."/>`` entries (klettres, ktuberling)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return [
            (m.group(1), m.group(2))
            for m in re.finditer(r'<sound\s+name="([^"]*)"\s+file="([^"]*)"', text)
        ]
    return [(el.get("name", ""), el.get("file", "")) for el in root.iter("sound") if el.get("file")]
