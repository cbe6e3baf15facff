"""Per-package labelling: turn an unpacked package's audio files into ``ClipSpec`` records.

``generic`` runs the rules table; the others use labels the package itself ships (captions in
opensfx, descriptive names in triplea, stamp texts in tuxpaint, drum-kit XML, transcripts).
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from wavlink_core.corpus import speech
from wavlink_core.corpus.captions import make_captions
from wavlink_core.corpus.clip import ClipSpec, variant_group
from wavlink_core.corpus.instruments import match_instrument, midi_note_name, velocity_words
from wavlink_core.corpus.rules import (
    Rule,
    categorize,
    extract_modifiers,
    match_text,
    normalize_name,
)
from wavlink_core.corpus.sources import Source

log = logging.getLogger(__name__)

Handler = Callable[[Source, Path, list[str], dict[str, Path]], list[ClipSpec]]
_LOOP = re.compile(
    r"\b(loop|amb|ambience|ambient|rain|wind|river|stream|waterfall|ocean|forest|city|farm|fire|"
    r"engine|idle|machinery|crickets|night)\b"
)


def _keep(src: Source, rel: str) -> bool:
    if src.include and not re.search(src.include, rel):
        return False
    return not (src.exclude and re.search(src.exclude, rel))


def _from_rule(
    src: Source,
    rel: str,
    rule: Rule,
    text: str,
    *,
    description: str | None = None,
    subset: str | None = None,
) -> ClipSpec:
    # modifiers from the file name too: "footsteps/carpet3.ogg" matched on the folder, the surface is in the name
    mods = extract_modifiers(f"{text} {normalize_name(rel.split('/')[-1])}")
    key = f"{src.name}:{rel}"
    mode = "loop" if _LOOP.search(text) or rule.category.endswith("ambience") else "oneshot"
    return ClipSpec(
        rel=rel,
        category=rule.category,
        subset=subset or src.subset,
        captions=make_captions(rule.phrases, mods, key, description=description),
        group_key=variant_group(rel),
        modifiers=mods,
        audioset=rule.audioset,
        mode=mode,
    )


def generic(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Rules table on file then folder names; instrument table for the instruments subset."""
    out = []
    for rel in rels:
        if not _keep(src, rel):
            continue
        spec = _label(src, rel, as_instrument=src.subset == "instruments")
        if spec is not None:
            out.append(spec)
    return out


def _label(src: Source, rel: str, *, as_instrument: bool) -> ClipSpec | None:
    """The instrument table for instrument samples, else the category rules (None: unlabelled)."""
    if as_instrument:
        return _instrument(src, rel)
    rule, text = categorize(rel)
    if rule is None or rule.category.startswith("_"):
        return None
    return _from_rule(src, rel, rule, text)


def _instrument(
    src: Source,
    rel: str,
    name: str | None = None,
    level: float | None = None,
    group: str | None = None,
) -> ClipSpec | None:
    text = normalize_name(name or rel.split("/")[-1])
    hit = match_instrument(text) or match_instrument(
        normalize_name(rel.split("/")[-2] if "/" in rel else "")
    )
    if hit is None:
        return None
    cls, phrase, audioset = hit
    vel = velocity_words(text, level)
    mods = {"velocity": vel} if vel else {}
    phrases = (f"{phrase} played {vel}",) if vel and "loop" not in cls else (phrase,)
    phrases += (f"{phrase}",) if vel else ()
    return ClipSpec(
        rel=rel,
        category=cls,
        subset="instruments",
        modifiers=mods,
        audioset=audioset,
        captions=make_captions(phrases, {}, f"{src.name}:{rel}"),
        group_key=group or variant_group(rel),
        mode="loop" if "loop" in cls else "oneshot",
    )


def hydrogen(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Drum kits: ``drumkit.xml`` names each instrument and its velocity layers."""
    by_path = {rel: None for rel in rels}
    out: list[ClipSpec] = []
    for xml in sorted(root.rglob("drumkit.xml")):
        kit_rel = xml.parent.relative_to(root).as_posix()
        try:
            tree = ET.parse(xml).getroot()
        except ET.ParseError as err:
            log.warning("bad drumkit.xml %s: %s", xml, err)
            continue
        for el in tree.iter():
            el.tag = el.tag.split("}")[-1]  # drop XML namespaces
        lic = (tree.findtext("license") or "").strip() or None
        for inst in tree.iter("instrument"):
            name = inst.findtext("name") or ""
            for layer in inst.iter("layer"):
                fname = layer.findtext("filename") or ""
                rel = f"{kit_rel}/{fname}"
                if rel not in by_path:
                    continue
                lo, hi = float(layer.findtext("min") or 0), float(layer.findtext("max") or 1)
                level = None if (lo, hi) == (0.0, 1.0) else (lo + hi) / 2
                spec = _instrument(src, rel, name=name, level=level, group=f"{kit_rel}/{name}")
                if spec is None:
                    continue
                if lic:
                    spec.licence = lic[:200]
                by_path[rel] = spec
                out.append(spec)
    for rel, done in by_path.items():  # files not referenced by a kit (guitar strums, extras)
        if done is None and _keep(src, rel):
            spec = _strum(src, rel) or _instrument(src, rel)
            if spec is not None:
                out.append(spec)
    return out


def _strum(src: Source, rel: str) -> ClipSpec | None:
    m = re.search(r"([A-G][#b]?)(major|minor|5|7|m)?_(UP|DOWN)", rel.split("/")[-1])
    if not m:
        return None
    quality = {"major": " major", "minor": " minor", "m": " minor", "5": "5 power", "7": "7"}.get(
        m.group(2) or "", ""
    )
    chord = f"{m.group(1)}{quality}"
    stroke = "downstroke" if m.group(3) == "DOWN" else "upstroke"
    art = "an" if chord[0] in "AEF" else "a"  # "an A major", "an F# minor"
    phrases = (
        f"an acoustic guitar strumming {art} {chord} chord, {stroke}",
        "an acoustic guitar strum",
        f"{art} {chord} chord strummed on an acoustic guitar",
    )
    return ClipSpec(
        rel=rel,
        category="guitar strum",
        subset="instruments",
        audioset=("Strum", "Acoustic guitar"),
        captions=make_captions(phrases, {}, f"{src.name}:{rel}"),
        group_key=variant_group(rel),
        modifiers={"chord": chord, "stroke": stroke},
    )


def organ(src: Source, root: Path, rels: list[str], companions: dict[str, Path]) -> list[ClipSpec]:
    """Pipe organ samples: ``<Stop>/<midi>-<note>.wav``."""
    out = []
    for rel in rels:
        m = re.search(r"([A-Za-z]+)(\d*)/(\d{3})-", rel)
        if not m:
            continue
        stop, note = m.group(1).lower(), midi_note_name(int(m.group(3)))
        phrases = (
            f"a pipe organ playing {note} on the {stop} stop",
            "a pipe organ note",
            f"a church organ playing {note}",
        )
        out.append(
            ClipSpec(
                rel=rel,
                category="pipe organ",
                subset="instruments",
                audioset=("Organ",),
                captions=make_captions(phrases, {}, f"{src.name}:{rel}"),
                group_key=f"{m.group(1)}{m.group(2)}",
                modifiers={"note": note, "stop": stop},
            )
        )
    return out


def opensfx(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """OpenTTD sounds: each carries a human description (credits stripped) plus its licence."""
    out = []
    for cap_file in root.rglob("captions.json"):
        caps = json.loads(cap_file.read_text())
        for fname, raw in caps.items():
            rel = (cap_file.parent / fname).relative_to(root).as_posix()
            if not _keep(src, rel):
                continue
            desc = (
                re.split(r"\.\s+(Original|License|Sound|Created|Recorded|Based)\b", raw)[0]
                .strip()
                .strip('"')
            )
            desc = re.sub(r"^[^:]{1,25}:\s*", "", desc).strip(
                '" .'
            )  # "Tropical: Lion roar" -> "Lion roar"
            if not desc or re.search(r"unused|nothing|silence", desc, re.I):
                continue
            lic = (
                "CC0-1.0"
                if re.search(r"Zero|CC0", raw)
                else "CC-BY-3.0"
                if "Attribution" in raw
                else None
            )
            rule = match_text(normalize_name(desc))
            if rule is None or rule.category.startswith("_"):
                spec = ClipSpec(
                    rel=rel,
                    category="other",
                    subset="sfx",
                    group_key=variant_group(rel),
                    captions=make_captions((), {}, rel, description=desc),
                )
            else:
                spec = _from_rule(src, rel, rule, normalize_name(desc), description=desc)
            spec.licence = lic
            out.append(spec)
    return out


def triplea(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Names read as captions after the event prefix: ``battle_land_02_sword_fighting_with_horse``."""
    out = []
    for rel in rels:
        stem = rel.split("/")[-1].rsplit(".", 1)[0]
        m = re.search(r"_\d{2}_(.+)$", stem)
        if not m or re.search(r"music|jingle|_series|fanfare|march", rel, re.I):
            continue
        desc = m.group(1).replace("_", " ").strip()
        rule = match_text(normalize_name(desc))
        if rule is None or rule.category.startswith("_"):
            out.append(
                ClipSpec(
                    rel=rel,
                    category="other",
                    subset="sfx",
                    group_key=variant_group(rel),
                    captions=make_captions((), {}, rel, description=desc),
                )
            )
        else:
            out.append(_from_rule(src, rel, rule, normalize_name(desc), description=desc))
    return out


def tuxpaint(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Stamps: ``stem.ogg`` is the sound (SFX), ``stem_desc[_LANG].ogg`` a spoken description."""
    out = []
    for rel in rels:
        path = root / rel
        stem = path.name.rsplit(".", 1)[0]
        lang = speech.tuxpaint_desc_language(stem)
        base = re.sub(r"_desc(_[A-Za-z_]+)?$", "", stem)
        txt = path.with_name(base + ".txt")
        texts = (
            speech.parse_tuxpaint_text(txt.read_text("utf-8", "replace")) if txt.exists() else {}
        )
        if lang is not None:
            text = texts.get(lang) or texts.get(lang.split("_")[0])
            if not text:
                continue
            out.append(
                ClipSpec(
                    rel=rel,
                    category="speech",
                    subset="speech",
                    transcript=text,
                    language=lang,
                    captions=speech.speech_captions(text, lang),
                    group_key=f"desc/{base}/{lang}",
                    audioset=("Speech",),
                )
            )
            continue
        rule, text_norm = categorize(rel)
        english = texts.get("en", "").rstrip(".")
        if rule is None or rule.category.startswith("_"):
            continue
        desc = f"the sound of {english[0].lower() + english[1:]}" if english else None
        out.append(_from_rule(src, rel, rule, text_norm, description=desc, subset="sfx"))
    return out


def gcompris(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Activity bundles: instruments, farm animals, memory-sound recordings (``LR<Title>``)."""
    out = []
    for rel in rels:
        if re.search(r"/(music|voices?|intro|bonus)/|explore_world_music|/voices-", rel):
            continue
        spec = _label(src, rel, as_instrument="/instruments/" in rel)
        if spec is not None:
            out.append(spec)
    return out


def bucklespring(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """A Model-M keyboard per scancode: ``-0`` press, ``-1`` release."""
    out = []
    for rel in rels:
        m = re.search(r"([0-9a-f]{2})-([01])\.wav$", rel)
        if not m:
            continue
        what = "pressed" if m.group(2) == "0" else "released"
        phrases = (
            f"a mechanical keyboard key being {what}",
            "a single keystroke on a clicky keyboard",
            "a computer keyboard key click",
        )
        out.append(
            ClipSpec(
                rel=rel,
                category="keyboard typing",
                subset="sfx",
                modifiers={"action": what},
                captions=make_captions(phrases, {}, rel),
                group_key=f"key/{m.group(1)}",
                audioset=("Typing", "Computer keyboard"),
            )
        )
    return out


def asterisk(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Telephone prompts; transcripts live in the companion ``asterisk-core-sounds-LANG`` package."""
    texts: dict[str, str] = {}
    for comp in companions.values():
        texts.update(speech.load_asterisk_transcripts(comp))
    out = []
    for rel in rels:
        m = re.search(r"/sounds/([^/]+)/(.+)\.\w+$", rel)
        if not m:
            continue
        lang, gender = speech.asterisk_voice(m.group(1))
        key = m.group(2)
        text = texts.get(key)
        if not text:
            continue
        out.append(
            ClipSpec(
                rel=rel,
                category="speech",
                subset="speech",
                transcript=text,
                language=lang,
                captions=speech.speech_captions(text, lang, gender, channel="over the telephone"),
                group_key=f"prompt/{key}",
                modifiers={"channel": "telephone"},
                audioset=(
                    "Speech",
                    "Female speech, woman speaking"
                    if gender == "f"
                    else "Male speech, man speaking",
                ),
            )
        )
    return out


def _sound_xml(
    src: Source, root: Path, rels: list[str], kind_of: Callable[[str], str], glob: str
) -> list[ClipSpec]:
    have = set(rels)
    out = []
    for xml in sorted(root.rglob(glob)):
        text = xml.read_text("utf-8", "replace")
        synthetic = (
            "text-to-speech" in text.lower()
        )  # some klettres languages were made with a TTS service
        lang = re.search(r'code="([^"]+)"', text)
        for name, file in speech.parse_sound_xml(text):
            cands = [
                r
                for r in (
                    f"{xml.parent.relative_to(root).as_posix()}/{file}",
                    f"{xml.parent.parent.relative_to(root).as_posix()}/{file}",
                )
                if r in have
            ]
            if not cands or not name:
                continue
            code = lang.group(1) if lang else file.split("/")[0]
            kind = kind_of(file)
            if (
                kind == "word"
            ):  # "egypt_palmtree" -> "palmtree": the prefix is the play scene, not the word
                name = re.sub(
                    r"^(egypt|moon|pizzeria|tv|christmas|xmas|butterflies|potato)_|^tux-|-tux$",
                    "",
                    name,
                )
                name = name.replace("_", " ").replace("-", " ")
                if name in _TUX_EXPRESSIONS:
                    continue  # "tux-zzz", "tux-wow": exclamations whose spoken form is not a known word
            spec = ClipSpec(
                rel=cands[0],
                category="speech",
                subset="speech",
                language=code,
                transcript=name if kind != "word" else None,
                captions=speech.word_captions(name, code, kind),
                group_key=f"{kind}/{code}/{name}",
                audioset=("Speech",),
            )
            if synthetic:
                spec.modifiers["synthetic"] = "tts"
            out.append(spec)
    return out


_TUX_EXPRESSIONS = {"angry", "huh", "idea", "laugh", "love", "sick", "stare", "what", "wow", "zzz"}


def klettres(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Letters and syllables; ``LANG/sounds.xml`` gives the text in native script."""
    return _sound_xml(
        src, root, rels, lambda f: "letter" if "/alpha/" in f else "syllable", "sounds.xml"
    )


def ktuberling(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Object words in 26 languages; the English concept is the key."""
    return _sound_xml(src, root, rels, lambda f: "word", "*.soundtheme")


_FILLETS = re.compile(
    r'dialogId\("([^"]+)",\s*"?[^,]*"?,\s*"((?:[^"\\]|\\.)*)"\)\s*dialogStr\("((?:[^"\\]|\\.)*)"\)'
)


def fillets(
    src: Source, root: Path, rels: list[str], companions: dict[str, Path]
) -> list[ClipSpec]:
    """Acted dialogue: ``script/<level>/dialogs_<lang>.lua`` pairs each line id with English and the
    spoken text; the audio is ``sound/<level>/<lang>/<id>.ogg``."""
    lines: dict[tuple[str, str], tuple[str, str]] = {}
    for comp in companions.values():
        for lua in comp.rglob("dialogs_*.lua"):
            lang = lua.stem.split("_", 1)[1]
            for m in _FILLETS.finditer(lua.read_text("utf-8", "replace")):
                lines[(lang, m.group(1))] = (
                    m.group(3).replace('\\"', '"'),
                    m.group(2).replace('\\"', '"'),
                )
    out = []
    for rel in rels:
        parts = rel.split("/")
        lang, stem = parts[-2], parts[-1].rsplit(".", 1)[0]
        hit = lines.get((lang, stem)) or lines.get((lang, re.sub(r"\d+$", "", stem)))
        if not hit or not hit[0].strip() or re.search(r"%\d", hit[0]):
            continue  # "%1" lines are templates filled in at run time: the audio says something else
        text, english = hit
        spec = ClipSpec(
            rel=rel,
            category="speech",
            subset="speech",
            transcript=text,
            language=lang,
            captions=speech.speech_captions(text, lang),
            group_key=f"line/{parts[-3]}/{stem}",
            audioset=("Speech",),
        )
        spec.modifiers["english"] = english
        out.append(spec)
    return out


def gcin(src: Source, root: Path, rels: list[str], companions: dict[str, Path]) -> list[ClipSpec]:
    """Isolated Mandarin syllables; the folder is the bopomofo spelling plus the tone digit."""
    out = []
    for rel in rels:
        parts = rel.split("/")
        if len(parts) < 2 or not re.match(r"^[\u3100-\u312f]+[1-5]?$", parts[-2]):
            continue
        syl = parts[-2]
        out.append(
            ClipSpec(
                rel=rel,
                category="speech",
                subset="speech",
                transcript=syl,
                language="zh",
                captions=speech.word_captions(syl, "zh", "syllable"),
                group_key=f"syl/{syl}",
                audioset=("Speech",),
                licence="CC-BY-3.0" if rel.endswith("/5.ogg") else None,
            )
        )
    return out


HANDLERS: dict[str, Handler] = {
    "generic": generic,
    "hydrogen": hydrogen,
    "organ": organ,
    "opensfx": opensfx,
    "triplea": triplea,
    "tuxpaint": tuxpaint,
    "gcompris": gcompris,
    "bucklespring": bucklespring,
    "asterisk": asterisk,
    "klettres": klettres,
    "ktuberling": ktuberling,
    "fillets": fillets,
    "gcin": gcin,
}
