"""Vanilla vs adapted Whisper encoder: the paper's linear probes and held-out WER, side by side.

Probes (:func:`probe_backbone`): mean-pooled final encoder states (``whisper-mean`` of
``wavlink_core.evaluation``: averaged over the positions each clip covers), one ``nn.Linear``,
Adam 1e-3, 50 epochs, batch 64, each set's own split (ESC-10: folds 1-4 -> 5; FSDD: the official
split; the US8K subset: grouped stratified 5-fold CV, as ``evaluation.probe.probe_splits`` does).
The encoder runs inside a WavLink with mean pooling; its random text tower and projection are
built only because WavLink has them and do not touch the feature.

WER (:func:`wer_backbone`): greedy decoding of the corpus's held-out speech (``test`` split,
transcribed clips in the configured languages) with the full model, decoder included.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch

from ..config import PRESETS, WavLinkConfig
from ..evaluation import MEAN_FEATURE, evaluate
from ..evaluation.datasets import Dataset, load_dataset
from ..model import WavLink
from ..training.data import read_manifest
from .config import AdaptConfig
from .data import Example, build_examples
from .seq2seq import Prompts, audio_config_for, load_seq2seq, read_provenance
from .wer import evaluate_wer

log = logging.getLogger(__name__)

PROBE_SETS = {"esc10": "esc10", "us8k": "us8k", "fsdd": "fsdd"}  # name -> dataset layout


def probe_model(backbone: str | Path, device: str = "cpu") -> WavLink:
    """A WavLink whose audio tower is ``backbone``'s encoder with mean pooling (probe features)."""
    test = PRESETS["test"]
    config = WavLinkConfig(
        name=f"whisper-mean:{backbone}",
        audio=audio_config_for(backbone, pooling="mean"),
        text=test.text,
        embed_dim=test.embed_dim,
        matryoshka_dims=test.matryoshka_dims,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return WavLink(config).to(device).eval()


def probe_backbone(
    model: WavLink, dataset: Dataset, *, seed: int = 0, cv: bool = False, **kwargs
) -> dict[str, Any]:
    """Linear-probe accuracy of the mean-pooled encoder states on one labelled set; ``cv``:
    leave-one-fold-out over a set's official folds instead of its last fold."""
    res = evaluate(
        model,
        dataset,
        ("probe",),
        probe_options={"features": "mean", "seed": seed, "cv": cv},
        **kwargs,
    )
    if "probe" not in res:
        raise ValueError(f"{dataset.name}: cannot probe ({res['skipped']})")
    p = res["probe"]
    feat = p["features"][MEAN_FEATURE]
    return {
        "accuracy": feat["accuracy"],
        "correct": feat["correct"],
        "test_clips": feat["test_clips"],
        "clips": len(dataset.clips),
        "classes": p["classes"],
        "protocol": p["protocol"],
        "splits": p["splits"],
        "per_split": feat["splits"],
        "seconds": res["timing_s"]["total"],
    }


def heldout_speech(
    corpus: str | Path,
    prompts: Prompts,
    *,
    split: str = "test",
    languages: tuple[str, ...] = ("en",),
    manifest: str = "manifest.jsonl",
    max_clips: int | None = None,
) -> list[Example]:
    """Transcribed speech clips of ``split`` in ``languages`` (never train clips, by default)."""
    cfg = AdaptConfig(
        corpus=str(corpus),
        manifest=manifest,
        speech_languages=languages,
        sound_weight=0,
        music_weight=0,
    )
    _, rows = read_manifest(cfg)
    examples = [ex for ex in build_examples(rows, cfg, prompts, split) if ex.domain == "speech"]
    return examples[:max_clips] if max_clips else examples


def wer_backbone(
    backbone: str | Path, corpus: str | Path, *, device: str = "cpu", **kwargs
) -> dict:
    """WER of the full ``backbone`` on held-out corpus speech (kwargs: :func:`heldout_speech`'s
    ``split``/``languages``/``manifest``/``max_clips``, then ``transcribe``'s)."""
    speech_keys = ("split", "languages", "manifest", "max_clips")
    speech_kw = {k: kwargs.pop(k) for k in speech_keys if k in kwargs}
    model, tokenizer = load_seq2seq(backbone)
    model.to(device)
    examples = heldout_speech(corpus, Prompts.for_model(model, tokenizer), **speech_kw)
    if not examples:
        raise ValueError(f"{corpus}: no held-out speech clips for {speech_kw or 'the defaults'}")
    t0 = time.perf_counter()
    result = evaluate_wer(model, tokenizer, examples, corpus, **kwargs)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def compare(
    backbones: dict[str, str],
    datasets: dict[str, str],
    *,
    speech_corpus: str | None = None,
    speech: dict[str, Any] | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    pad_to_30s: bool = False,
    seed: int = 0,
    cv: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Probe every backbone on every dataset (name -> path, names from ``PROBE_SETS``) and, given
    ``speech_corpus``, measure its WER. Returns everything :func:`to_markdown` shows, and more."""
    unknown = sorted(set(datasets) - set(PROBE_SETS))
    if unknown:
        raise ValueError(f"unknown probe sets {unknown}; valid: {sorted(PROBE_SETS)}")
    sets = {name: load_dataset(path, PROBE_SETS[name]) for name, path in datasets.items()}
    out: dict[str, Any] = {
        "backbones": {
            k: {"source": str(b), "provenance": read_provenance(b)} for k, b in backbones.items()
        },
        "data": {
            name: {"path": str(p), "clips": len(sets[name].clips)} for name, p in datasets.items()
        },
        "settings": {
            "feature": f"{MEAN_FEATURE} (final encoder states averaged over the clip's positions)",
            "probe": "nn.Linear, Adam lr 1e-3, 50 epochs, batch 64, train-split standardisation",
            "pad_to_30s": pad_to_30s,
            "seed": seed,
            "cv": cv,
        },
        "probe": {name: {} for name in sets},
        "wer": {},
    }
    for key, backbone in backbones.items():
        model = probe_model(backbone, device)
        for name, dataset in sets.items():
            log.info("probe %s on %s", key, name)
            out["probe"][name][key] = probe_backbone(
                model,
                dataset,
                seed=seed,
                cv=cv,
                batch_size=batch_size,
                pad_to_30s=pad_to_30s,
                progress=progress,
            )
        del model
        if speech_corpus:
            log.info("WER of %s on %s", key, speech_corpus)
            out["wer"][key] = wer_backbone(
                backbone, speech_corpus, device=device, progress=progress, **(speech or {})
            )
    if speech_corpus:
        out["settings"]["wer"] = {"corpus": str(speech_corpus), **(speech or {})}
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def to_markdown(res: dict[str, Any]) -> str:
    names = list(res["backbones"])
    lines = ["# Whisper-AuT comparison: linear probes and WER", ""]
    for k, b in res["backbones"].items():
        prov = b["provenance"]
        how = (
            f"adapted from `{prov['base_backbone']}`, {prov['steps']} steps, mix {prov['mix']}"
            if prov
            else "no adaptation record"
        )
        lines.append(f"- **{k}**: `{b['source']}` ({how})")
    s = res["settings"]
    lines.append("")
    if res["probe"]:
        lines += [f"Probe: {s['feature']}; {s['probe']}; 30-s padding: {s['pad_to_30s']}.", ""]
        header = ["set", "protocol", "classes", "test clips"] + [f"{k} acc %" for k in names]
        if len(names) == 2:
            header.append(f"Δ ({names[1]} − {names[0]})")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, per in res["probe"].items():
            first = next(iter(per.values()))
            row = [name, first["protocol"], str(first["classes"]), str(first["test_clips"])]
            row += [
                f"{_pct(per[k]['accuracy'])} ({per[k]['correct']}/{per[k]['test_clips']})"
                for k in names
            ]
            if len(names) == 2:
                row.append(f"{100 * (per[names[1]]['accuracy'] - per[names[0]]['accuracy']):+.1f}")
            lines.append("| " + " | ".join(row) + " |")
    if res["wer"]:
        w = res["settings"]["wer"]
        lines += ["", f"## Word error rate on held-out corpus speech (`{w['corpus']}`)", ""]
        lines += [
            "| backbone | clips | reference words | errors | WER % |",
            "|---|---|---|---|---|",
        ]
        for k, r in res["wer"].items():
            lines.append(
                f"| {k} | {r['clips']} | {r['words']} | {r['errors']} | {_pct(r['wer'])} |"
            )
    return "\n".join(lines) + "\n"


def write_report(res: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / "compare.json", out / "compare.md"
    js.write_text(json.dumps(res, indent=2, default=str) + "\n")
    md.write_text(to_markdown(res))
    return js, md
