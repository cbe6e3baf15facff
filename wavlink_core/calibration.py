"""Settings fitted on the training corpus's validation split: the few-shot blend and "no label fits".

``python -m wavlink_core.calibration --model DIR --corpus CORPUS`` embeds the validation clips of a
built corpus (``split == "val"``, labelled by their rule ``category``), then

1. ``tune``: scores Tip-Adapter blends (a grid of alpha, beta) on few-shot episodes: ``ways``
   categories, ``shots`` examples each, a query clip from another source group (``group_id``) than
   every example, so no example is a variant of its query. It prints accuracy per setting;
   ``tune_head`` then scores the linear head (:mod:`wavlink_core.fewshot_head`) on the same kind
   of episodes for a grid of ``l2`` and 1-10 shots, beside the blend without it, and names the
   ``l2`` and the shot count from which the head helps (``head="auto"``'s threshold);
2. ``openset``: builds candidate label sets that hold the query's category ("known") or not
   ("unknown"), for zero-shot (prompts) and few-shot (examples, the blend in
   :mod:`wavlink_core.fewshot`), and picks per size the score (``cosine`` or ``margin``) and
   threshold with the best balanced accuracy. It writes ``openset.json`` with its provenance.

Evaluation data is never read: these are the only places the settings come from.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fewshot import DEFAULT_ALPHA, DEFAULT_BETA, blend_logits, class_evidence
from .fewshot_head import fit_head_at
from .inference import DEFAULT_TEMPLATE
from .matryoshka import truncate_np
from .openset import SCORE_KINDS, OpenSetCalibration, open_set_score, write_openset
from .prompts import label_embeddings

if TYPE_CHECKING:
    from .model import WavLink

ALPHAS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
BETAS = (1.0, 2.0, 3.0, 5.5, 8.0, 12.0)
SHOTS = (1, 2, 5)
HEAD_L2S = (0.01, 0.1, 1.0)
HEAD_SHOTS = (1, 2, 5, 10)


@dataclass(frozen=True)
class HeldOut:
    """Embedded validation clips of a corpus."""

    emb: np.ndarray  # (N, D) full size
    label: np.ndarray  # (N,) index into classes
    group: np.ndarray  # (N,) source group id
    classes: tuple[str, ...]
    corpus: str
    manifest_sha1: str


def load_held_out(model: WavLink, corpus: str | Path, split: str = "val") -> HeldOut:
    """Embed the ``split`` clips of a built corpus that carry a category."""
    from .evaluation import extract_features
    from .evaluation.datasets import normalise_label
    from .training.config import TrainConfig
    from .training.data import read_manifest

    root, rows = read_manifest(TrainConfig(corpus=str(corpus)))
    rows = [r for r in rows if r["split"] == split and r.get("category")]
    if not rows:
        raise ValueError(f"{corpus}: no clips with split {split!r} and a category")
    names = [normalise_label(str(r["category"])) for r in rows]
    classes = tuple(sorted(set(names)))
    emb, _ = extract_features(model, [str(root / r["path"]) for r in rows])
    sha = hashlib.sha1((Path(root) / "manifest.jsonl").read_bytes()).hexdigest()
    return HeldOut(
        emb=emb,
        label=np.array([classes.index(n) for n in names]),
        group=np.array([str(r.get("group_id", r["path"])) for r in rows]),
        classes=classes,
        corpus=str(corpus),
        manifest_sha1=sha,
    )


@dataclass(frozen=True)
class Episode:
    query: int  # clip index
    candidates: np.ndarray  # class indices
    examples: np.ndarray  # clip indices, from groups other than the query's
    example_class: np.ndarray  # index into candidates
    known: bool  # the query's class is among the candidates


def sample_episode(
    data: HeldOut, rng: np.random.Generator, ways: int, shots: int, known: bool
) -> Episode | None:
    """One episode around a random query; None when the split cannot supply it."""
    q = int(rng.integers(len(data.label)))
    usable = data.group != data.group[q]
    pools = {c: np.flatnonzero(usable & (data.label == c)) for c in range(len(data.classes))}
    others = [c for c, p in pools.items() if len(p) and c != data.label[q]]
    n_other = ways - 1 if known else ways
    if len(others) < n_other or (known and not len(pools[data.label[q]])):
        return None
    cand = list(rng.choice(others, n_other, replace=False))
    if known:
        cand.insert(int(rng.integers(len(cand) + 1)), int(data.label[q]))
    ex, ex_class = [], []
    for i, c in enumerate(cand):
        picked = rng.choice(pools[c], min(shots, len(pools[c])), replace=False)
        ex += list(picked)
        ex_class += [i] * len(picked)
    return Episode(q, np.array(cand), np.array(ex), np.array(ex_class), known)


def episodes(
    data: HeldOut, n: int, seed: int, shots: int, known_share: float = 1.0
) -> list[Episode]:
    """``n`` episodes of 2-10 ways (a fresh draw each); ``known_share`` of them known."""
    rng = np.random.default_rng([seed, shots])
    out: list[Episode] = []
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        ep = sample_episode(
            data, rng, int(rng.integers(2, 11)), shots, bool(rng.random() < known_share)
        )
        if ep is not None:
            out.append(ep)
    return out


def episode_scores(
    data: HeldOut,
    text: np.ndarray,
    ep: Episode,
    dim: int,
    scale: float,
    alpha: float,
    beta: float,
    head_l2: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Few-shot logits, nearest-example cosines and text cosines of the query over the candidates
    (with a linear head of weight ``head_l2`` fitted on the episode's examples, when given)."""
    q = truncate_np(data.emb[ep.query : ep.query + 1], dim)
    text_d = truncate_np(text[ep.candidates], dim)
    examples = truncate_np(data.emb[ep.examples], dim)
    text_cos = q @ text_d.T
    aff, nearest = class_evidence(q, examples, ep.example_class, len(ep.candidates), beta)
    prior = text_cos
    if head_l2 is not None:
        w, b = fit_head_at(examples, ep.example_class, text_d, scale, head_l2)
        prior = q @ w.T + b
    return blend_logits(prior, aff, scale, alpha)[0], nearest[0], text_cos[0]


def tune_head(
    model: WavLink,
    data: HeldOut,
    n: int = 200,
    seed: int = 0,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
) -> dict[str, dict[str, float]]:
    """Accuracy (mean over sizes) per shot count of the blend alone and with a head per ``l2``.

    Returns:
        ``{"none" | "l2=<v>": {"<k>-shot": accuracy}}``.
    """
    text = label_embeddings(model, data.classes, DEFAULT_TEMPLATE)
    scale = float(model.scale().detach().item())
    settings: list[float | None] = [None, *HEAD_L2S]
    out: dict[str, dict[str, float]] = {
        "none" if l2 is None else f"l2={l2}": {} for l2 in settings
    }
    for k in HEAD_SHOTS:
        es = episodes(data, n, seed + 2, k)
        for l2 in settings:
            right = [
                episode_scores(data, text, e, d, scale, alpha, beta, l2)[0].argmax()
                == list(e.candidates).index(data.label[e.query])
                for e in es
                for d in model.matryoshka_dims
            ]
            out["none" if l2 is None else f"l2={l2}"][f"{k}-shot"] = float(np.mean(right))
    return out


def head_choice(table: dict[str, dict[str, float]]) -> tuple[float, int | None]:
    """The best ``l2`` (mean over shot counts) and the fewest shots from which the head beats
    the blend alone at that and every larger shot count (None: at no count)."""
    heads = {k: v for k, v in table.items() if k != "none"}
    best = max(heads, key=lambda k: np.mean(list(heads[k].values())))
    shots = [int(s.split("-")[0]) for s in table["none"]]
    helps = [heads[best][f"{k}-shot"] > table["none"][f"{k}-shot"] for k in shots]
    first = next((k for i, k in enumerate(shots) if all(helps[i:])), None)
    return float(best.split("=")[1]), first


def tune_blend(
    model: WavLink, data: HeldOut, n: int = 400, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Mean accuracy over ``SHOTS`` and sizes of every (alpha, beta), plus the class-mean baseline."""
    text = label_embeddings(model, data.classes, DEFAULT_TEMPLATE)
    scale = float(model.scale().detach().item())
    eps = {k: episodes(data, n, seed, k) for k in SHOTS}
    results: dict[str, dict[str, float]] = {}
    for alpha in ALPHAS:
        for beta in BETAS:
            accs = {}
            for k, es in eps.items():
                for d in model.matryoshka_dims:
                    right = [
                        episode_scores(data, text, e, d, scale, alpha, beta)[0].argmax()
                        == list(e.candidates).index(data.label[e.query])
                        for e in es
                    ]
                    accs[f"{k}-shot@{d}"] = float(np.mean(right))
            results[f"alpha={alpha},beta={beta}"] = {
                "mean": float(np.mean(list(accs.values()))),
                **accs,
            }
    return results


def best_threshold(known: np.ndarray, unknown: np.ndarray) -> tuple[float, float, float]:
    """Threshold (flag below it) maximising balanced accuracy; returns (t, FRR, FAR)."""
    cands = np.unique(np.concatenate([known, unknown]))
    mids = np.concatenate([[cands[0] - 1e-6], (cands[1:] + cands[:-1]) / 2, [cands[-1] + 1e-6]])
    frr = (known[None, :] < mids[:, None]).mean(axis=1)
    far = (unknown[None, :] >= mids[:, None]).mean(axis=1)
    i = int(np.argmin(frr + far))
    return float(mids[i]), float(frr[i]), float(far[i])


def fit_openset(
    model: WavLink,
    data: HeldOut,
    n: int = 1000,
    seed: int = 0,
    shots: int = 5,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
) -> OpenSetCalibration:
    """Per mode and size, the score kind and threshold with the best balanced accuracy."""
    text = label_embeddings(model, data.classes, DEFAULT_TEMPLATE)
    scale = float(model.scale().detach().item())
    eps = episodes(data, n, seed + 1, shots, known_share=0.5)
    rules: dict[str, dict] = {"zeroshot": {}, "fewshot": {}}
    for d in model.matryoshka_dims:
        raw = {m: {k: ([], []) for k in SCORE_KINDS} for m in rules}
        for e in eps:
            logits, nearest, text_cos = episode_scores(data, text, e, d, scale, alpha, beta)
            for mode, rank, evidence in (
                ("zeroshot", text_cos, text_cos),
                ("fewshot", logits, nearest),
            ):
                for kind in SCORE_KINDS:
                    s = open_set_score(kind, evidence, int(rank.argmax()))
                    raw[mode][kind][0 if e.known else 1].append(s)
        for mode in rules:
            fits = {
                k: best_threshold(np.array(kn), np.array(un)) for k, (kn, un) in raw[mode].items()
            }
            kind = min(fits, key=lambda k: fits[k][1] + fits[k][2])
            t, frr, far = fits[kind]
            rules[mode][str(d)] = {
                "score": kind,
                "threshold": round(t, 6),
                "val_false_reject": round(frr, 4),
                "val_false_accept": round(far, 4),
                "val_known": len(raw[mode][kind][0]),
                "val_unknown": len(raw[mode][kind][1]),
            }
    provenance = {
        "fitted_on": "training corpus validation split (split == 'val'), never evaluation data",
        "corpus": data.corpus,
        "manifest_sha1": data.manifest_sha1,
        "clips": int(len(data.label)),
        "categories": len(data.classes),
        "episodes": len(eps),
        "ways": "2-10 candidate labels, half of the episodes without the query's category",
        "fewshot": {"shots": shots, "alpha": alpha, "beta": beta},
        "template": DEFAULT_TEMPLATE,
        "seed": seed,
        "command": "python -m wavlink_core.calibration --model MODEL --corpus CORPUS --write",
    }
    return OpenSetCalibration(rules, provenance)


def parse_setting(name: str) -> tuple[float, float]:
    """``"alpha=2.0,beta=5.5"`` → (2.0, 5.5)."""
    a, b = (part.split("=")[1] for part in name.split(","))
    return float(a), float(b)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wavlink_core.calibration", description=__doc__)
    p.add_argument("--model", required=True, help="checkpoint folder")
    p.add_argument("--corpus", required=True, help="a built corpus (manifest.jsonl)")
    p.add_argument("--episodes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--head-episodes", type=int, default=200, help="episodes per shot count")
    p.add_argument("--write", action="store_true", help="write openset.json into --model")
    args = p.parse_args(argv)
    from .checkpoint import load_pretrained
    from .errors import WavLinkError

    try:
        model = load_pretrained(args.model).eval()
        data = load_held_out(model, args.corpus)
    except (WavLinkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(data.label)} validation clips, {len(data.classes)} categories ({args.corpus})")
    grid = tune_blend(model, data, n=args.episodes // 2, seed=args.seed)
    proto = sorted(grid.items(), key=lambda kv: -kv[1]["mean"])
    print("few-shot blend, mean accuracy over 1/2/5 shots and every size (best first):")
    for name, r in proto[:8]:
        print(
            f"  {name:<22} {100 * r['mean']:.1f} %  "
            + " ".join(
                f"{k}={100 * v:.1f}"
                for k, v in r.items()
                if k != "mean" and k.endswith(f"@{model.config.embed_dim}")
            )
        )
    default = grid[f"alpha={DEFAULT_ALPHA},beta={DEFAULT_BETA}"]["mean"]
    print(f"  current default alpha={DEFAULT_ALPHA}, beta={DEFAULT_BETA}: {100 * default:.1f} %")
    alpha, beta = parse_setting(proto[0][0])
    print(f"best: alpha={alpha}, beta={beta} (the open-set fit below uses it)")
    heads = tune_head(model, data, n=args.head_episodes, seed=args.seed)
    print(
        "linear head on the blend, accuracy % (mean over sizes), "
        f"{args.head_episodes} episodes per shot count:"
    )
    for name, row in heads.items():
        print(f"  {name:<10} " + " ".join(f"{k}={100 * v:.1f}" for k, v in row.items()))
    l2, min_shots = head_choice(heads)
    print(
        f"best head: l2={l2}; helps from {min_shots} shots"
        if min_shots
        else f"best head: l2={l2}; it helps at no shot count (head='auto' should stay off)"
    )
    cal = fit_openset(model, data, n=args.episodes, seed=args.seed, alpha=alpha, beta=beta)
    for mode, per_dim in cal.rules.items():
        for d, r in per_dim.items():
            print(
                f"open set {mode:<8} @{d:<4} {r['score']:<6} < {r['threshold']:.3f}: val false "
                f"reject {100 * r['val_false_reject']:.1f} %, false accept "
                f"{100 * r['val_false_accept']:.1f} % ({r['val_known']} known, {r['val_unknown']} unknown)"
            )
    if args.write:
        print(f"wrote {write_openset(cal, args.model)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
