"""Rendered music loops: mma (Musical MIDI Accompaniment) grooves through fluidsynth, one long MIDI.

mma's standard library defines 1,163 named grooves (BossaNova, SwingSus, Waltz1 ...), 772 of
which are kept. Each kept groove gets a tiny song (a simple chord progression, long enough for one clip) that
mma turns into MIDI. The MIDI files are merged into one with a fixed slot per groove and a
General-MIDI reset at each slot start, fluidsynth renders it once (the soundfont is loaded once,
as in render.py) and the result is sliced. Captions name the instruments read from each clip's
own MIDI events, so they claim only what plays. Intros, endings and one-bar fills are skipped.

mma is a pure-Python Debian package: it is fetched with ``apt-get download``, unpacked into
the work folder and run from there (``MMA_HOME``) with python3; nothing is installed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from wavlink_core.corpus.clip import ClipSpec
from wavlink_core.corpus.extract import unpack_archive
from wavlink_core.corpus.fetch import fetch
from wavlink_core.corpus.groove_styles import (
    STYLES,
    groove_audioset,
    groove_captions,
    instrument_nouns,
)
from wavlink_core.corpus.render import SR, find_soundfont, fluidsynth_mono, smf_type0, vlq
from wavlink_core.corpus.sources import Source, source_by_name
from wavlink_core.errors import WavLinkError

log = logging.getLogger(__name__)

CLIP_S = 10.0  # kept length

# A slot of 11.52 s = 9 x 1.28 s is a whole number of fluidsynth's 64-sample blocks and of
# milliseconds at 22,050 Hz, so every slot's events are quantised as in a fresh render of that
# groove alone (measured: correlation 0.999 with the single render, vs 0.6-0.9 with 11.5 s).
SLOT_S = 11.52
BATCH = 100  # grooves per fluidsynth run: 19 min of float audio, ~200 MB in memory
VERSION = 1  # bump when the song or the slicing changes, so cached renders are not reused
LICENCE = "GPL-2+ (mma groove library) / MIT (FluidR3_GM soundfont)"
_SKIP = re.compile(r"intro|end\d*$|fill|metronome", re.I)
_DEFGROOVE = re.compile(r"^\s*DefGroove\s+(\S+)", re.I | re.M)
_TIME = re.compile(r"^\s*Time\s+(\d+)", re.I | re.M)
_POP = ("C", "Am", "Dm7", "G7")
_BLUES = ("C7", "F7", "C7", "C7", "F7", "F7", "C7", "C7", "G7", "F7", "C7", "G7")
_GM_ON = bytes([0xF0, 5, 0x7E, 0x7F, 0x09, 0x01, 0xF7])  # SMF sysex: GM System On, resets the synth


class MmaError(WavLinkError):
    """mma failed on a song or on its database; the message holds the end of its output."""


def list_grooves(stdlib: Path) -> list[tuple[str, str, int]]:
    """``(family, groove, beats per bar)`` of every kept groove in mma's ``lib/stdlib``.

    The family is the defining file's stem; families without a :data:`STYLES` entry (``none``)
    and intro/ending/fill variants are left out. Names are unique case-insensitively.
    """
    out, seen = [], set()
    for path in sorted(stdlib.glob("*.mma")):
        family = path.stem.lower()
        if family not in STYLES:
            continue
        text = path.read_text(errors="replace")
        time = _TIME.search(text)
        metronome = family.startswith("metronome")  # these files are nothing but click patterns
        for name in _DEFGROOVE.findall(text):
            if (_SKIP.search(name) and not metronome) or name.lower() in seen:
                continue
            seen.add(name.lower())
            out.append((family, name, int(time.group(1)) if time else 4))
    return out


def spread(grooves: list[tuple[str, str, int]], limit: int | None) -> list[tuple[str, str, int]]:
    """At most ``limit`` grooves, taken round-robin over families so a cap keeps every style."""
    if limit is None or limit >= len(grooves):
        return grooves
    queues: dict[str, list] = {}
    for g in grooves:
        queues.setdefault(g[0], []).append(g)
    picked: list[tuple[str, str, int]] = []
    while len(picked) < limit:
        for q in queues.values():
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    return picked


def song_text(groove: str, family: str, beats: int) -> str:
    """A tiny mma song: the groove at its family's tempo over a simple progression.

    Long enough for :data:`CLIP_S` plus a bar; blues families get a 12-bar blues, the others
    I-vi-ii-V. The key is transposed by a stable hash of the groove name, and ``RndSeed`` makes
    mma's humanising (random timing and volume) reproducible.
    """
    bpm = STYLES[family].bpm
    bars = math.ceil(CLIP_S * bpm / 60 / beats) + 1
    prog = _BLUES if "blues" in family or "boggie" in family else _POP
    transpose = int(hashlib.sha1(groove.lower().encode()).hexdigest(), 16) % 12 - 5
    lines = [f"// {groove}", "RndSeed 1", f"Tempo {bpm}", f"Transpose {transpose}"]
    lines += [f"Groove {groove}"] + [f"{i + 1} {prog[i % len(prog)]}" for i in range(bars)]
    return "\n".join(lines) + "\n"


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    n = 0
    while True:
        b = data[i]
        i += 1
        n = (n << 7) | (b & 0x7F)
        if b < 0x80:
            return n, i


def read_midi(data: bytes) -> tuple[list[tuple[float, bytes]], str | None]:
    """Channel messages of a standard MIDI file as time-ordered ``(seconds, message)``.

    Tempo changes in any track apply to all; sysex and meta events are dropped. Also returns
    the first time signature (``"3/4"``) or None.

    Raises:
        ValueError: if the data is not a standard MIDI file with a ticks-per-quarter division.
    """
    if data[:4] != b"MThd":
        raise ValueError("not a standard MIDI file (no MThd header)")
    _, ntracks, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:
        raise ValueError("SMPTE-timed MIDI files are not supported")
    events: list[tuple[int, int, int, bytes]] = []  # (tick, track, order, message)
    tempos, meter, pos = [(0, 500_000)], None, 8 + struct.unpack(">I", data[4:8])[0]
    for track in range(ntracks):
        size = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        i, end, tick, status = pos + 8, pos + 8 + size, 0, 0
        while i < end:
            delta, i = _read_vlq(data, i)
            tick += delta
            if data[i] == 0xFF:  # meta: type, length, payload
                kind, (length, j) = data[i + 1], _read_vlq(data, i + 2)
                if kind == 0x51:
                    tempos.append((tick, int.from_bytes(data[j : j + 3], "big")))
                elif kind == 0x58 and meter is None:
                    meter = f"{data[j]}/{2 ** data[j + 1]}"
                i = j + length
            elif data[i] in (0xF0, 0xF7):
                length, j = _read_vlq(data, i + 1)
                i = j + length
            else:
                if data[i] & 0x80:
                    status, i = data[i], i + 1
                n = 1 if status & 0xF0 in (0xC0, 0xD0) else 2
                events.append((tick, track, len(events), bytes([status, *data[i : i + n]])))
                i += n
        pos = end
    tempos.sort()
    out = []
    for tick, _, _, msg in sorted(events):
        seconds, last_tick, last_tempo = 0.0, 0, 500_000
        for t, tempo in tempos:
            if t > tick:
                break
            seconds += (t - last_tick) * last_tempo / 1e6 / division
            last_tick, last_tempo = t, tempo
        out.append((seconds + (tick - last_tick) * last_tempo / 1e6 / division, msg))
    return out, meter


def sounding(events: list[tuple[float, bytes]], until: float) -> tuple[set[int], set[int]]:
    """GM programs of the melodic channels that start a note before ``until``, and the drum keys."""
    program, programs, drums = [0] * 16, set(), set()
    for t, msg in events:
        if t >= until:
            break
        kind, ch = msg[0] & 0xF0, msg[0] & 0x0F
        if kind == 0xC0:
            program[ch] = msg[1]
        elif kind == 0x90 and msg[2] > 0 and ch == 9:
            drums.add(msg[1])
        elif kind == 0x90 and msg[2] > 0:
            programs.add(program[ch])
    return programs, drums


def merged_midi(songs: list[list[tuple[float, bytes]]], *, clip_s: float, slot_s: float) -> bytes:
    """One type-0 MIDI file (1 tick = 1 ms) playing song ``i`` from ``i * slot_s``.

    Each slot starts with GM System On (fluidsynth resets every channel, as a fresh synth) and
    ends at ``clip_s`` with All Sound Off on every channel, so no state or note leaks between
    grooves; the gap lets the reverb die out.
    """
    timeline: list[tuple[int, int, bytes]] = []
    for i, events in enumerate(songs):
        t0 = round(i * slot_s * 1000)
        timeline.append((t0, 0, _GM_ON))
        timeline += [(t0 + round(t * 1000), 1, m) for t, m in events if t < clip_s]
        timeline += [(t0 + round(clip_s * 1000), 2, bytes([0xB0 | c, 120, 0])) for c in range(16)]
    timeline.sort(key=lambda e: (e[0], e[1]))  # stable: mma's order within a tick is kept
    ev, now = bytearray(b"\x00\xff\x51\x03" + (1_000_000).to_bytes(3, "big")), 0
    for tick, _, msg in timeline:
        ev += vlq(tick - now) + msg
        now = tick
    ev += vlq(round(len(songs) * slot_s * 1000) - now) + b"\xff\x2f\x00"
    return smf_type0(bytes(ev), 1000)


def _safe(groove: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", groove)


def mma_tree(work: Path) -> Path:
    """Fetch and unpack the mma package into ``work/x/mma`` and build its groove database once.

    Returns:
        The unpacked root (``usr/bin/mma``, ``usr/share/mma/lib/stdlib`` ...).
    """
    src = source_by_name("mma")
    root = unpack_archive(fetch(src.name, src.registry, work), work / "x" / src.name)
    home = root / "usr/share/mma"
    if not (home / "lib/stdlib/.mmaDB").exists():
        (home / "plugins").mkdir(exist_ok=True)  # silences mma's "PLUGIN ... does not exist"
        _run_mma(root, ["-G"], cwd=home)
        log.info("built mma's groove database in %s", home / "lib")
    return root


def _run_mma(root: Path, args: list[str], *, cwd: Path) -> None:
    python = shutil.which("python3") or sys.executable  # mma is pure Python 3
    env = {**os.environ, "MMA_HOME": str(root / "usr/share/mma")}
    cmd = ["nice", "-n", "19", python, str(root / "usr/bin/mma"), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or "Error:" in proc.stdout:
        raise MmaError(f"mma {' '.join(args)} failed: {(proc.stdout + proc.stderr)[-600:]}")


def render_mma(root: Path, grooves: list[tuple[str, str, int]], mid_dir: Path, jobs: int) -> int:
    """Write ``mid_dir/<groove>.mid`` for every groove that has none yet; returns the number made.

    A groove mma rejects is logged and left out.
    """
    mid_dir.mkdir(parents=True, exist_ok=True)
    todo = [g for g in grooves if not (mid_dir / f"{_safe(g[1])}.mid").exists()]

    def one(g: tuple[str, str, int]) -> None:
        family, name, beats = g
        song = mid_dir / f"{_safe(name)}.mma"
        song.write_text(song_text(name, family, beats))
        tmp = mid_dir / f"{_safe(name)}.tmp.mid"
        try:
            _run_mma(root, ["-w", "-f", str(tmp), str(song)], cwd=mid_dir)
            tmp.replace(mid_dir / f"{_safe(name)}.mid")
        except MmaError as err:
            log.warning("skipping groove %s: %s", name, err)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(tqdm(pool.map(one, todo), total=len(todo), desc="mma", unit="groove"))
    return len(todo)


def render_grooves(
    work: Path, *, max_grooves: int | None = None, jobs: int = 1
) -> list[tuple[Source, ClipSpec, Path]]:
    """Render the kept stdlib grooves (cached in ``work/grooves``) and return clips for build().

    Returns an empty list (with a warning) when fluidsynth or the soundfont is missing.

    Args:
        work: Work folder (downloads, unpacked packages, renders).
        max_grooves: Cap on grooves, spread round-robin over the families; None = all.
        jobs: Parallel mma processes.
    """
    fluidsynth = shutil.which("fluidsynth")
    sf2 = find_soundfont(work) if fluidsynth else None
    if fluidsynth is None or sf2 is None:
        log.warning("fluidsynth or FluidR3_GM.sf2 missing (apt-get install fluidsynth): no grooves")
        return []
    root = mma_tree(work)
    grooves = spread(list_grooves(root / "usr/share/mma/lib/stdlib"), max_grooves)
    out_dir = work / "grooves" / f"v{VERSION}"
    made = render_mma(root, grooves, out_dir / "mid", jobs)
    songs = {}
    for family, name, _ in grooves:
        mid = out_dir / "mid" / f"{_safe(name)}.mid"
        if mid.exists():
            songs[name] = (family, *read_midi(mid.read_bytes()))
    todo = [
        n
        for n in songs
        if not any((out_dir / f"{_safe(n)}.{e}").exists() for e in ("wav", "silent"))
    ]
    log.info("grooves: %d kept, %d made by mma now, %d to render", len(grooves), made, len(todo))
    for start in tqdm(range(0, len(todo), BATCH), desc="fluidsynth", unit="batch"):
        names = todo[start : start + BATCH]
        _render_batch(fluidsynth, sf2, out_dir, names, [songs[n][1] for n in names])
    return [
        _spec(name, *songs[name], out_dir)
        for name in songs
        if (out_dir / f"{_safe(name)}.wav").exists()
    ]


def _render_batch(
    fluidsynth: str, sf2: Path, out_dir: Path, names: list[str], events: list
) -> None:
    """One fluidsynth run for a batch of grooves; writes ``<groove>.wav`` or ``<groove>.silent``."""
    (out_dir / "batch.mid").write_bytes(merged_midi(events, clip_s=CLIP_S, slot_s=SLOT_S))
    mono = fluidsynth_mono(
        fluidsynth, sf2, out_dir / "batch.mid", out_dir / "batch.wav", extra=("-O", "float")
    )
    for i, name in enumerate(names):
        start = round(i * SLOT_S * SR)
        seg = mono[start : start + round(CLIP_S * SR)]
        peak = float(np.abs(seg).max()) if seg.size else 0.0
        if peak == 0.0 or np.sqrt(np.mean(seg**2)) < 1e-3:
            (out_dir / f"{_safe(name)}.silent").touch()
            continue
        seg = seg * min(1.0, 0.95 / peak)  # dense grooves can exceed full scale: scale, never clip
        sf.write(out_dir / f"{_safe(name)}.wav", seg, SR, subtype="PCM_16")
    (out_dir / "batch.wav").unlink()


def _spec(
    name: str, family: str, events: list[tuple[float, bytes]], meter: str | None, out_dir: Path
) -> tuple[Source, ClipSpec, Path]:
    style = STYLES[family]
    meter = style.meter or meter
    nouns = instrument_nouns(*sounding(events, CLIP_S))
    walking = "walk" in name.lower()
    mods = {"groove": name, "tempo": f"{style.bpm} bpm", "instruments": ", ".join(nouns)}
    if meter:
        mods["meter"] = meter
    spec = ClipSpec(
        rel=f"grooves/{_safe(name)}.wav",
        category=f"groove {style.name}",
        captions=groove_captions(style, nouns, meter=meter, walking=walking),
        subset="grooves",
        group_key=family,
        modifiers=mods,
        licence=LICENCE,
        audioset=groove_audioset(style, nouns),
    )
    return source_by_name("mma"), spec, out_dir / f"{_safe(name)}.wav"
