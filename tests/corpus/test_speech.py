"""Transcript parsers and the speech caption format."""

from __future__ import annotations

import gzip
from pathlib import Path

from wavlink_core.corpus import handlers, speech
from wavlink_core.corpus.sources import source_by_name


def test_speech_caption_format() -> None:
    caps = speech.speech_captions("Thank you.", "fr", "f")
    assert caps[0] == 'a woman says in French: "Thank you."'
    assert 3 <= len(caps) <= 5
    tel = speech.speech_captions("Goodbye.", "it", "m", channel="over the telephone")
    assert tel[0] == 'a man says in Italian over the telephone: "Goodbye."'
    assert (
        speech.speech_captions("Hola.", "pt_BR")[0]
        == 'a person says in Brazilian Portuguese: "Hola."'
    )


def test_asterisk_text_and_voice_folder() -> None:
    text = (
        "; Core Asterisk Sounds in English\n\nagent-alreadyon: That agent is already logged on.  Please enter "
        "your agent number followed by the pound key.\nbeep: [this is a simple beep tone]\ndigits/h-8: eighth\n"
    )
    parsed = speech.parse_asterisk_text(text)
    assert parsed["agent-alreadyon"].startswith("That agent is already logged on. Please")
    assert parsed["digits/h-8"] == "eighth" and "beep" not in parsed
    assert speech.asterisk_voice("en_US_f_Allison") == ("en", "f")
    assert speech.asterisk_voice("it_IT_m_Carlo") == ("it", "m")


def test_asterisk_handler_matches_companion(tmp_path: Path) -> None:
    wav_root, txt_root = tmp_path / "wav", tmp_path / "txt"
    rel = "usr/share/asterisk/sounds/fr_CA_f_June/vm-saved.wav"
    (wav_root / rel).parent.mkdir(parents=True)
    (wav_root / rel).write_bytes(b"")
    doc = txt_root / "usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz"
    doc.parent.mkdir(parents=True)
    doc.write_bytes(gzip.compress("vm-saved: Message sauvegardé.\n".encode()))
    src = source_by_name("asterisk-core-sounds-fr-wav")
    specs = handlers.asterisk(src, wav_root, [rel], {"asterisk-core-sounds-fr": txt_root})
    assert len(specs) == 1
    assert specs[0].transcript == "Message sauvegardé." and specs[0].language == "fr"
    assert (
        specs[0].captions[0] == 'a woman says in French over the telephone: "Message sauvegardé."'
    )


def test_tuxpaint_text_and_desc_language() -> None:
    parsed = speech.parse_tuxpaint_text(
        "A dog.\nca.utf8=Un gos.\nfr.utf8=Un chien.\npt_BR.utf8=Um cachorro.\n"
    )
    assert parsed == {"en": "A dog.", "ca": "Un gos.", "fr": "Un chien.", "pt_BR": "Um cachorro."}
    assert speech.tuxpaint_desc_language("dog_desc_fr") == "fr"
    assert speech.tuxpaint_desc_language("dog_desc") == "en"
    assert speech.tuxpaint_desc_language("Strawberry2_desc_pt_BR") == "pt_BR"
    assert speech.tuxpaint_desc_language("dog") is None


def test_tuxpaint_handler_splits_speech_and_sfx(tmp_path: Path) -> None:
    folder = tmp_path / "usr/share/tuxpaint/stamps/animals/mammals/dogs"
    folder.mkdir(parents=True)
    (folder / "dog.txt").write_text("A dog.\nfr.utf8=Un chien.\n")
    rels = [
        f"usr/share/tuxpaint/stamps/animals/mammals/dogs/{n}"
        for n in ("dog.ogg", "dog_desc_fr.ogg")
    ]
    specs = {
        s.rel.split("/")[-1]: s
        for s in handlers.tuxpaint(source_by_name("tuxpaint-stamps-default"), tmp_path, rels, {})
    }
    assert (
        specs["dog_desc_fr.ogg"].transcript == "Un chien."
        and specs["dog_desc_fr.ogg"].subset == "speech"
    )
    assert specs["dog.ogg"].category == "dog" and specs["dog.ogg"].subset == "sfx"
    assert "the sound of a dog" in specs["dog.ogg"].captions


def test_sound_xml_klettres_and_ktuberling() -> None:
    xml = (
        '<klettres><language code="ru"><alphabet><sound name="Б" file="ru/alpha/be.ogg"/>'
        "</alphabet></language></klettres>"
    )
    assert speech.parse_sound_xml(xml) == [("Б", "ru/alpha/be.ogg")]
    assert speech.word_captions("hat", "fr")[0] == 'a person says the word for "hat" in French'
    assert speech.word_captions("Б", "ru", "letter")[0] == 'a person says the letter "Б" in Russian'


def test_fillets_dialogue_lines(tmp_path: Path) -> None:
    script = tmp_path / "data/usr/share/games/fillets-ng/script/city/dialogs_cs.lua"
    script.parent.mkdir(parents=True)
    script.write_text(
        'dialogId("vit-hs-klid1", "font_statue", "Citizens, please remain calm.")\n'
        'dialogStr("Občané. Zachovejte klid a rozvahu.")\n',
        encoding="utf-8",
    )
    rel = "usr/share/games/fillets-ng/sound/city/cs/vit-hs-klid1.ogg"
    specs = handlers.fillets(
        source_by_name("fillets-ng-data-cs"),
        tmp_path / "audio",
        [rel],
        {"fillets-ng-data": tmp_path / "data"},
    )
    assert specs[0].transcript == "Občané. Zachovejte klid a rozvahu." and specs[0].language == "cs"
    assert specs[0].modifiers["english"] == "Citizens, please remain calm."
    assert specs[0].captions[0] == 'a person says in Czech: "Občané. Zachovejte klid a rozvahu."'


def test_gcin_bopomofo_syllables() -> None:
    rels = [
        "usr/share/gcin/ogg/ㄓㄨㄥ4/3.ogg",
        "usr/share/gcin/ogg/ㄓㄨㄥ4/5.ogg",
        "usr/share/gcin/ogg/readme/x.ogg",
    ]
    specs = handlers.gcin(source_by_name("gcin-voice"), Path("."), rels, {})
    assert [s.transcript for s in specs] == ["ㄓㄨㄥ4", "ㄓㄨㄥ4"]
    assert specs[1].licence == "CC-BY-3.0" and specs[0].licence is None
    assert specs[0].group_key == specs[1].group_key
