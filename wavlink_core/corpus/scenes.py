"""Scene synthesis: make dry game one-shots sound like recordings.

Three scene kinds, all built from already decoded 16 kHz corpus clips of ONE split (a scene
inherits its components' split, so nothing leaks across splits):

* ``sequence``: 4-8 s of one event repeated at a natural, jittered cadence, every repetition a
  *different take* of the same category (steps, typing, knocks, barks ...), each with gain and
  pitch jitter, over an ambience bed at a random SNR, optionally in a simulated room.
* ``mixture``: two different events (or an event over an ambience bed), captioned
  compositionally ("a dog barking and rain falling").
* ``distant``: one event low-passed, reverberant and quiet, captioned "... in the distance".

Room impulse responses come from ``pyroomacoustics`` (shoebox rooms) when it is installed,
otherwise from an exponentially decaying noise tail. Everything is seeded per scene index, so
the same corpus yields the same scenes.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

from wavlink_core.corpus.audio_ops import SAMPLE_RATE, audio_sha1, to_pcm16

log = logging.getLogger(__name__)

# category -> (sequence phrase, mean gap seconds, relative jitter, indoor?)
SEQUENCES: dict[str, tuple[str, float, float, bool | None]] = {
    "footsteps": ("someone {gait2}{on}", 0.55, 0.15, None),
    "keyboard typing": ("someone typing on a keyboard", 0.17, 0.5, True),
    "typewriter": ("someone typing on a typewriter", 0.2, 0.4, True),
    "knock": ("someone knocking on a door", 0.28, 0.2, True),
    "clock": ("a clock ticking", 1.0, 0.02, True),
    "dripping": ("water dripping", 0.8, 0.4, True),
    "hammering": ("someone hammering", 0.6, 0.25, None),
    "anvil": ("a blacksmith hammering on an anvil", 0.7, 0.2, None),
    "wood chopping": ("someone chopping wood", 1.3, 0.25, False),
    "dog": ("a dog barking repeatedly", 0.8, 0.35, None),
    "chicken": ("chickens clucking", 1.0, 0.5, False),
    "sheep": ("sheep bleating", 1.8, 0.4, False),
    "cow": ("cows mooing", 2.5, 0.3, False),
    "gunshot": ("several gunshots", 0.9, 0.6, False),
    "sword": ("swords clashing in a fight", 0.6, 0.4, False),
    "horn": ("a car horn honking repeatedly", 0.9, 0.3, False),
    "hand clap": ("someone clapping their hands", 0.45, 0.15, None),
    "coins": ("coins clinking", 0.4, 0.5, True),
    "door": ("doors opening and closing", 1.5, 0.3, True),
    "birds": ("birds chirping", 0.7, 0.6, False),
    "frog": ("frogs croaking", 0.9, 0.4, False),
    "crickets": ("crickets chirping", 0.5, 0.3, False),
    "digging": ("someone digging", 1.1, 0.3, False),
    "saw": ("someone sawing wood", 0.9, 0.2, None),
}
# ambience category -> (phrase used after "with ... in the background", setting word)
BEDS: dict[str, tuple[str, str]] = {
    "nature ambience": ("birds and insects", "outside"),
    "farm ambience": ("farm animals", "on a farm"),
    "city ambience": ("city traffic", "in the city"),
    "wind": ("wind blowing", "outside in the wind"),
    "rain": ("rain falling", "in the rain"),
    "stream": ("a stream flowing", "by a stream"),
    "ocean waves": ("waves crashing", "by the sea"),
    "crickets": ("crickets chirping", "outside at night"),
    "machinery": ("machinery humming", "in a factory"),
    "tavern chatter": ("people chatting", "in a busy room"),
    "fire": ("a fire crackling", "by a fire"),
    "ambience": ("ambient noise", ""),
}
SCENES_VERSION = 2
_INDOOR_SURFACES = {"wood", "carpet", "tiles", "metal", "concrete"}


@dataclass(frozen=True)
class Clip:
    """A decoded corpus clip as scenes see it."""

    path: Path
    category: str
    phrase: str
    modifiers: dict
    group_id: str
    licence: str
    package: str


def _load(clip: Clip) -> np.ndarray:
    x, sr = sf.read(clip.path, dtype="float32")
    return x if sr == SAMPLE_RATE else resample_poly(x, SAMPLE_RATE, sr).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)) + 1e-9)


def room_irs(n: int, seed: int = 0) -> list[tuple[np.ndarray, float]]:
    """``n`` room impulse responses with their RT60 (pyroomacoustics shoebox, else synthetic)."""
    rng = np.random.default_rng(seed)
    out = []
    try:
        import pyroomacoustics as pra
    except ImportError:
        pra = None
    for _ in range(n):
        rt60 = float(rng.uniform(0.2, 0.9))
        dims = np.array([rng.uniform(3, 12), rng.uniform(3, 10), rng.uniform(2.4, 4.5)])
        if pra is not None:
            try:
                absorption, max_order = pra.inverse_sabine(rt60, dims)
                room = pra.ShoeBox(
                    dims,
                    fs=SAMPLE_RATE,
                    materials=pra.Material(absorption),
                    max_order=min(max_order, 12),
                )
                room.add_source(list(dims * rng.uniform(0.2, 0.8, 3)))
                room.add_microphone(list(dims * rng.uniform(0.2, 0.8, 3)))
                room.compute_rir()
                ir = np.asarray(room.rir[0][0], dtype=np.float32)
                out.append((ir / (np.abs(ir).max() + 1e-9), rt60))
                continue
            except Exception as err:  # noqa: BLE001 - fall back to a synthetic tail
                log.debug("pyroomacoustics failed (%s); using a synthetic impulse response", err)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        ir = rng.standard_normal(t.size).astype(np.float32) * np.exp(-6.9 * t / rt60).astype(
            np.float32
        )
        ir[0] = 1.0
        out.append((ir / np.abs(ir).max(), rt60))
    return out


def reverb(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    """Mix a dry signal with its convolution (same length, same RMS)."""
    y = fftconvolve(x, ir)[: x.size].astype(np.float32)
    y = (1 - wet) * x + wet * y * (_rms(x) / _rms(y))
    return y.astype(np.float32)


def jitter(
    x: np.ndarray, rng: np.random.Generator, *, gain_db: float = 4.0, semitones: float = 1.0
) -> np.ndarray:
    """Random gain and a small pitch shift by resampling (changes the length slightly, as a real take would)."""
    shift = rng.uniform(-semitones, semitones)
    if abs(shift) > 0.1:
        up = int(round(100 * 2 ** (shift / 12)))
        x = resample_poly(x, 100, up).astype(np.float32)
    return (x * 10 ** (rng.uniform(-gain_db, gain_db) / 20)).astype(np.float32)


def eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random gentle tilt: high-pass and/or low-pass, like different microphones and rooms."""
    if rng.random() < 0.5:
        x = sosfilt(butter(2, rng.uniform(60, 300), "highpass", fs=SAMPLE_RATE, output="sos"), x)
    if rng.random() < 0.5:
        x = sosfilt(butter(2, rng.uniform(3500, 7500), "lowpass", fs=SAMPLE_RATE, output="sos"), x)
    return np.asarray(x, dtype=np.float32)


def mix_at_snr(fg: np.ndarray, bg: np.ndarray, snr_db: float) -> np.ndarray:
    """Foreground over a background looped/cut to its length at the given SNR."""
    if bg.size < fg.size:
        bg = np.tile(bg, int(np.ceil(fg.size / bg.size)))
    bg = bg[: fg.size]
    active = fg[np.abs(fg) > 1e-4]
    scale = _rms(active if active.size else fg) / (_rms(bg) * 10 ** (snr_db / 20))
    return (fg + bg * scale).astype(np.float32)


def _fill(template: str, mods: dict) -> str:
    surface = mods.get("surface", "")
    return template.format(
        gait2=mods.get("gait", "walking"), on=f" on {surface}" if surface else ""
    )


def sequence(
    takes: list[np.ndarray], gap: float, rel_jitter: float, seconds: float, rng: np.random.Generator
) -> np.ndarray:
    """Place events from different takes at a jittered cadence; never the same take twice in a row."""
    out = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    t, last = rng.uniform(0.05, 0.4), -1
    while t < seconds - 0.1:
        choices = [i for i in range(len(takes)) if i != last] or [0]
        last = int(rng.choice(choices))
        ev = jitter(takes[last], rng)
        start = int(t * SAMPLE_RATE)
        end = min(out.size, start + ev.size)
        out[start:end] += ev[: end - start]
        t += (
            max(0.05, gap * (1 + rng.uniform(-rel_jitter, rel_jitter)))
            + ev.size / SAMPLE_RATE * 0.3
        )
    return out


def _usable(row: dict) -> bool:
    # musical notes make odd scenes (hand claps make good sequences); "other" has no usable phrase
    return (
        not row["synthetic"]
        and (row["subset"] == "sfx" or row["category"] == "hand clap")
        and row["category"] != "other"
    )


def _clips_by(rows: list[dict], out: Path) -> dict[tuple[str, str], list[Clip]]:
    by: dict[tuple[str, str], list[Clip]] = defaultdict(list)
    for row in rows:
        if not _usable(row):
            continue
        first = re.sub(r"^the sound of ", "", row["captions"][0], flags=re.I)
        clip = Clip(
            out / row["path"],
            row["category"],
            first[0].lower() + first[1:],
            row["modifiers"],
            row["group_id"],
            row["licence"],
            row["source_package"],
        )
        by[(row["split"], row["category"])].append(clip)
    return by


def synthesize(rows: list[dict], out: Path, n: int, *, seed: int = 0) -> list[dict]:
    """Create up to ``n`` scene clips under ``out/clips/scenes`` and return their manifest rows.

    The mix is about 50 % sequences, 30 % mixtures and 20 % distant events. Results are cached
    in ``out/.state/scenes-<hash>.jsonl`` keyed by the input clips, ``n`` and the seed, so a
    second build with the same corpus reuses them.
    """
    import hashlib
    import json

    used = [r for r in rows if _usable(r)]  # speech or GM changes must not invalidate the scenes
    key = hashlib.sha1(
        json.dumps(
            [
                SCENES_VERSION,
                n,
                seed,
                sorted((r["audio_sha1"], r["category"], r["captions"][0]) for r in used),
            ]
        ).encode()
    )
    cache = out / ".state" / f"scenes-{key.hexdigest()[:16]}.jsonl"
    if cache.exists():
        cached = [json.loads(line) for line in cache.read_text().splitlines()]
        if all((out / r["path"]).exists() for r in cached):
            return cached
    made = _synthesize(rows, out, n, seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in made))
    return made


def _synthesize(rows: list[dict], out: Path, n: int, seed: int) -> list[dict]:
    from tqdm import tqdm

    by = _clips_by(rows, out)
    irs = room_irs(16, seed)
    seq_keys = [k for k in by if k[1] in SEQUENCES and len(by[k]) >= 2]
    bed_keys = [k for k in by if k[1] in BEDS]
    event_keys = [k for k in by if k[1] not in BEDS and not k[1].startswith(("gm ", "drum "))]
    if not (seq_keys or event_keys):
        return []
    made: list[dict] = []
    for i in tqdm(range(n), desc="scenes", unit="scene"):
        rng = np.random.default_rng([seed, i])
        kind = (
            "sequence"
            if (rng.random() < 0.5 and seq_keys)
            else ("mixture" if rng.random() < 0.6 else "distant")
        )
        try:
            row = _scene(kind, i, rng, by, seq_keys, bed_keys, event_keys, irs, out)
        except (ValueError, RuntimeError) as err:
            log.debug("scene %d skipped: %s", i, err)
            continue
        if row is not None:
            made.append(row)
    return made


def _pick(rng: np.random.Generator, keys: list) -> tuple:
    return keys[int(rng.integers(len(keys)))]


def _scene(
    kind: str,
    i: int,
    rng: np.random.Generator,
    by: dict,
    seq_keys: list,
    bed_keys: list,
    event_keys: list,
    irs: list,
    out: Path,
) -> dict | None:
    mods: dict[str, str] = {"scene": kind}
    if kind == "sequence":
        split, cat = _pick(rng, seq_keys)
        pool = by[(split, cat)]
        # prefer takes that agree on surface/gait so "on gravel" stays true
        anchor = pool[int(rng.integers(len(pool)))]
        same = [
            c
            for c in pool
            if c.modifiers.get("surface") == anchor.modifiers.get("surface")
            and c.modifiers.get("gait") == anchor.modifiers.get("gait")
        ] or [anchor]
        takes_c = [same[j] for j in rng.permutation(len(same))[:8]]
        template, gap, jit, indoor = SEQUENCES[cat]
        seconds = float(rng.uniform(4, 8))
        x = sequence([_load(c) for c in takes_c], gap, jit, seconds, rng)
        phrase = _fill(template, anchor.modifiers)
        parts, components = [phrase], takes_c
        if indoor is None:
            indoor = (
                anchor.modifiers.get("surface") in _INDOOR_SURFACES
                if cat == "footsteps"
                else rng.random() < 0.5
            )
    elif kind == "mixture":
        split, cat = _pick(rng, event_keys)
        a = by[(split, cat)][int(rng.integers(len(by[(split, cat)])))]
        beds = [k for k in bed_keys if k[0] == split]
        use_bed = beds and rng.random() < 0.6
        others = [k for k in event_keys if k[0] == split and k[1] != cat]
        if not use_bed and not others:
            raise ValueError("no second sound in this split")
        bkey = _pick(rng, beds) if use_bed else _pick(rng, others)
        b = by[bkey][int(rng.integers(len(by[bkey])))]
        xa, xb = _load(a), _load(b)
        seconds = float(np.clip(max(xa.size, xb.size) / SAMPLE_RATE, 2.0, 10.0))
        canvas = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
        if not use_bed:
            xb = np.concatenate(
                [
                    np.zeros(
                        int(
                            rng.uniform(0, max(0.0, seconds - xb.size / SAMPLE_RATE)) * SAMPLE_RATE
                        ),
                        np.float32,
                    ),
                    xb,
                ]
            )[: canvas.size]
            canvas[: xb.size] += xb * (_rms(xa) / _rms(xb)) * 10 ** (rng.uniform(-6, 0) / 20)
        canvas[: min(canvas.size, xa.size)] += xa[: canvas.size]
        x, components = canvas, [a, b]
        b_phrase = BEDS[b.category][0] if use_bed else b.phrase
        parts = [a.phrase, b_phrase, "bed" if use_bed else "event"]
        indoor = rng.random() < 0.3
        split = split
    else:
        split, cat = _pick(rng, event_keys)
        a = by[(split, cat)][int(rng.integers(len(by[(split, cat)])))]
        x = _load(a)
        x = sosfilt(
            butter(2, rng.uniform(1200, 3000), "lowpass", fs=SAMPLE_RATE, output="sos"), x
        ).astype(np.float32)
        x = np.concatenate([x, np.zeros(int(0.8 * SAMPLE_RATE), np.float32)]) * 10 ** (
            rng.uniform(-18, -10) / 20
        )
        ir, _ = irs[int(rng.integers(len(irs)))]
        x = reverb(x.astype(np.float32), ir, wet=0.6)
        parts, components, indoor = [a.phrase], [a], False
        mods["distance"] = "far"
    bed_phrase = None
    if kind == "sequence" and rng.random() < 0.7:
        beds = [
            k
            for k in bed_keys
            if k[0] == split
            and (indoor is False or k[1] in ("tavern chatter", "machinery", "ambience"))
        ]
        if beds:
            bkey = _pick(rng, beds)
            bed = by[bkey][int(rng.integers(len(by[bkey])))]
            snr = float(rng.uniform(6, 20))
            x = mix_at_snr(x, _load(bed), snr)
            bed_phrase = BEDS[bed.category]
            components = [*components, bed]
            mods["snr_db"] = f"{snr:.0f}"
    if indoor and kind != "distant":
        ir, rt60 = irs[int(rng.integers(len(irs)))]
        x = reverb(x, ir, wet=float(rng.uniform(0.15, 0.45)))
        mods["room_rt60"] = f"{rt60:.2f}"
    x = eq(x, rng)
    peak = np.abs(x).max()
    if peak < 1e-4:
        return None
    x = x / peak * 10 ** (rng.uniform(-12, -1) / 20)
    captions = _captions(kind, parts, bed_phrase, indoor)
    pcm = to_pcm16(x)
    rel = f"scenes/{kind}/{i:06d}.flac"
    dest = out / "clips" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dest, pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return {
        "path": f"clips/{rel}",
        "duration": round(pcm.size / SAMPLE_RATE, 3),
        "captions": captions,
        "category": components[0].category,
        "modifiers": mods,
        "transcript": None,
        "language": None,
        "subset": "sfx",
        "source_package": "+".join(sorted({c.package for c in components})),
        "original_file": " + ".join(str(c.path.name) for c in components),
        "licence": " + ".join(sorted({c.licence for c in components})),
        "group_id": components[0].group_id,
        "split": split,
        "synthetic": True,
        "audio_sha1": audio_sha1(pcm),
        "audioset": [],
    }


def _captions(kind: str, parts: list[str], bed: tuple[str, str] | None, indoor: bool) -> list[str]:
    """Captions that say what is heard: the event, its setting, and the background."""
    if kind == "sequence":
        p = parts[0]
        caps = [p]
        if bed is not None:
            caps += [f"{p} with {bed[0]} in the background", f"{p} {bed[1]}".strip()]
        elif indoor:
            caps += [f"{p} in a room", f"{p} indoors"]
        caps += [f"the sound of {p}", f"a recording of {p}"]
    elif kind == "mixture":
        a, b, what = parts
        if what == "bed":
            caps = [
                f"{a} with {b} in the background",
                f"{a} and {b}",
                f"the sound of {a} while {b} can be heard",
            ]
        else:
            caps = [
                f"{a} and {b}",
                f"{a} and {b} at the same time",
                f"the sound of {a} together with {b}",
            ]
    else:
        caps = [
            f"{parts[0]} in the distance",
            f"{parts[0]}, far away",
            f"the distant sound of {parts[0]}",
        ]
    caps = [re.sub(r"\s+", " ", c).strip() for c in caps]
    return list(dict.fromkeys(caps))[:5]
