"""Pure formatting and layout maths for the demo: no gradio import, unit-tested without a server."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from . import escape
from .palette import group_style

LABEL_SETS: dict[str, str] = {
    # ESC-50's 50 classes; the tabs add the gallery's own labels (label_sets.with_gallery).
    "Environmental sounds": "dog, rooster, pig, cow, frog, cat, hen, insects, sheep, crow, rain, sea waves, "
    "crackling fire, crickets, chirping birds, water drops, wind, pouring water, toilet flush, "
    "thunderstorm, baby crying, sneezing, clapping, breathing, coughing, footsteps, laughing, "
    "brushing teeth, snoring, drinking, door knock, mouse click, keyboard typing, door creaking, "
    "can opening, washing machine, vacuum cleaner, clock alarm, clock ticking, glass breaking, "
    "helicopter, chainsaw, siren, car horn, engine, train, church bells, airplane, fireworks, hand saw",
    "Urban sounds": "air conditioner, car horn, children playing, dog bark, drilling, engine idling, "
    "gun shot, jackhammer, siren, street music",
    "Instruments and genres": "acoustic guitar, electric guitar, piano, violin, cello, flute, trumpet, "
    "saxophone, drum kit, organ, bassoon, cymbal, rock music, jazz, classical music, hip hop, techno, "
    "country music",
    "Speech commands": "yes, no, up, down, left, right, on, off, stop, go",
}
DEFAULT_SET = "Environmental sounds"
UNTRAINED_BANNER = (
    "⚠️ **This model is untrained.** Its global token and projection heads are random (seeded), so "
    "every score, ranking and map below is meaningless until trained weights are installed. "
    "The app runs end to end so you can try the interface."
)


def clip_info(describe: str, seconds_used: float, capped_from: float | None = None) -> str:
    """'48 kHz stereo 12.4 s → 16 kHz mono', plus the cap when the clip was shortened."""
    text = f"{describe} → 16 kHz mono"
    if capped_from is not None:
        text += f" (first {seconds_used:.0f} s of {capped_from:.1f} s used)"
    return text


def score_name(mode: str) -> str:
    return "softmax probability" if mode == "softmax" else "cosine similarity"


def bars_figure(
    labels: Sequence[str], scores: Sequence[float], mode: str, dim: int, k: int
) -> go.Figure:
    """Horizontal top-k bars, best on top, the axis named after the score."""
    labels, scores = list(labels)[:k][::-1], [float(s) for s in list(scores)[:k]][::-1]
    fig = go.Figure(
        go.Bar(
            x=scores,
            y=labels,
            orientation="h",
            marker_color="#4C78A8",
            text=[f"{s:.3f}" for s in scores],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Top {len(labels)} labels · {score_name(mode)} · size {dim}",
        xaxis_title=score_name(mode),
        height=120 + 28 * len(labels),
        margin=dict(l=10, r=10, t=40, b=40),
        template="plotly_white",
    )
    if mode == "softmax":
        fig.update_xaxes(range=[0, 1])
    return fig


def result_headline(label: str, score: float, mode: str, trained: bool) -> str:
    head = f"### Top label: **{escape.md(label)}** ({score_name(mode)} {score:.3f})"
    return head + ("" if trained else "  \n_untrained model: this ranking is arbitrary_")


def best_matches(
    sim: np.ndarray, clips: Sequence[str], captions: Sequence[str]
) -> tuple[list[list], list[list]]:
    """Rows (clip, best caption, cosine) and (caption, best clip, cosine)."""
    per_clip = [
        [c, captions[int(np.argmax(row))], round(float(row.max()), 4)]
        for c, row in zip(clips, sim, strict=False)
    ]
    per_cap = [
        [t, clips[int(np.argmax(col))], round(float(col.max()), 4)]
        for t, col in zip(captions, sim.T, strict=False)
    ]
    return per_clip, per_cap


def top_k(scores: np.ndarray, k: int, exclude: int | None = None) -> list[int]:
    order = [int(i) for i in np.argsort(-scores, kind="stable") if i != exclude]
    return order[:k]


def overlap_at_k(a: Sequence[int], b: Sequence[int]) -> float:
    k = max(len(a), 1)
    return len(set(a) & set(b)) / k


def neighbour_rows(
    sims_full: np.ndarray, sims_small: np.ndarray, names: Sequence[str], k: int, exclude: int | None
) -> tuple[list[list], list[int], list[int]]:
    """Side-by-side neighbour table: rank, name and cosine at the full and the small size."""
    a, b = top_k(sims_full, k, exclude), top_k(sims_small, k, exclude)
    rows = [
        [r + 1, names[i], round(float(sims_full[i]), 4), names[j], round(float(sims_small[j]), 4)]
        for r, (i, j) in enumerate(zip(a, b, strict=False))
    ]
    return rows, a, b


def backbone_label(origin: dict, training_info: dict | None = None) -> str:
    """'Whisper tiny.en (vanilla) · WavLink 2,474 steps' or 'Whisper-AuT (tiny.en adapted, 800
    steps) · WavLink 500 steps', from a model's ``audio_origin`` and ``training_info``."""
    adaptation = origin.get("adaptation")
    if not adaptation:
        label = f"Whisper {Path(str(origin['backbone'])).name} (vanilla)"
    else:
        base = adaptation.get("base_backbone", "?")
        label = f"Whisper-AuT ({base} adapted, {adaptation.get('steps', '?')} steps)"
    steps, info = 0, training_info
    while info:  # stage 2 records stage 1 under "previous"
        steps += int(info.get("steps") or 0)
        info = info.get("previous")
    return f"{label} · WavLink {steps:,} steps" if steps else label


def bytes_per_vector(dim: int) -> str:
    return f"{dim * 4:,} B float32 · {dim:,} B int8"


def procrustes_align(
    moving: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Similarity transform (rotation/reflection, scale, shift) taking ``moving`` onto ``target``.

    Returns (aligned, R, s, t) with aligned = s * (moving - mu_m) @ R + mu_t; apply the same to new points
    with :func:`apply_procrustes`.
    """
    mu_m, mu_t = moving.mean(0), target.mean(0)
    a, b = moving - mu_m, target - mu_t
    u, sig, vt = np.linalg.svd(a.T @ b)
    r = u @ vt
    s = float(sig.sum() / max((a**2).sum(), 1e-12))
    t = mu_t - s * mu_m @ r
    return s * moving @ r + t, r, s, t


def apply_procrustes(points: np.ndarray, r: np.ndarray, s: float, t: np.ndarray) -> np.ndarray:
    return s * points @ r + t


def map_figure(
    coords: np.ndarray,
    names: Sequence[str],
    groups: Sequence[str],
    kinds: Sequence[str],
    title: str,
    highlight: int | None = None,
    ranges: tuple[list[float], list[float]] | None = None,
) -> go.Figure:
    """Scatter coloured by ``groups`` (colour and shape, see palette.py); your clips and captions
    keep their own shapes; hover names each point. ``ranges`` (x, y) fixes the axes, so two maps
    drawn with the same ranges can be flicked between and compared point by point."""
    fig = go.Figure()
    symbols = {"your clip": "diamond", "caption": "star"}
    order = list(dict.fromkeys(groups))
    for gi, g in enumerate(order):
        idx = [i for i, x in enumerate(groups) if x == g]
        colour, shape = group_style(gi)
        fig.add_trace(
            go.Scatter(
                x=coords[idx, 0],
                y=coords[idx, 1],
                mode="markers",
                name=str(g),
                marker=dict(
                    size=[14 if kinds[i] != "gallery" else 9 for i in idx],
                    color=colour,
                    symbol=[symbols.get(kinds[i], shape) for i in idx],
                    line=dict(width=0.5, color="#333"),
                ),
                text=[names[i] for i in idx],
                customdata=[[kinds[i], g] for i in idx],
                hovertemplate="<b>%{text}</b><br>%{customdata[0]} · %{customdata[1]}<extra></extra>",
            )
        )
    if highlight is not None:
        fig.add_trace(
            go.Scatter(
                x=[coords[highlight, 0]],
                y=[coords[highlight, 1]],
                mode="markers",
                name="selected",
                hoverinfo="skip",
                marker=dict(size=22, color="rgba(0,0,0,0)", line=dict(width=2.5, color="black")),
            )
        )
    fig.update_layout(
        # Just above the plot, under the toolbar's 30-px strip (on a phone both span the width).
        title=dict(
            text=title, x=0, xanchor="left", yref="paper", y=1, yanchor="bottom",
            pad=dict(b=6), font=dict(size=14),
        ),
        template="plotly_white",
        # The legend goes below (see there): grow with it so the map keeps ~400 px.
        height=480 + 22 * -(-len(order) // 4),
        margin=dict(l=10, r=10, t=95, b=10),
        # Below the map: on a phone a legend at the side leaves the map a sliver.
        legend=dict(font=dict(size=10), orientation="h", yanchor="top", y=-0.02, x=0),
        xaxis=dict(showticklabels=False),
        yaxis=dict(showticklabels=False),
    )
    if ranges is not None:
        fig.update_xaxes(range=ranges[0])
        fig.update_yaxes(range=ranges[1])
    else:
        fig.update_yaxes(scaleanchor="x")
    return fig


def shared_ranges(*coords: np.ndarray, pad: float = 0.05) -> tuple[list[float], list[float]]:
    """Axis ranges holding every point of every layout, padded by ``pad`` of the span."""
    pts = np.vstack(coords)
    lo, hi = pts.min(0), pts.max(0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * span, hi + pad * span
    return [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]


_COUNT_KEYS = {"correct", "clips", "n", "count", "captions", "classes"}
# Not fractions in [0, 1]: a median rank and query counts would flatten every accuracy curve.
_NOT_SCORES = ("_medR", "_queries", "chance_top1")
# What the chart draws by default (the table lists every score): the top-1 / R@1 / probe figures.
_HEADLINE = ("top1", "R@1", "probe accuracy")


def parse_eval_results(text: str) -> list[dict]:
    """Rows {dim, metric, value} from eval_results.json. Accepts the evaluator's results.json (or a
    list of them: ``{"data": {"name"}, "zeroshot": {"levels": {"512": {"top1": ...}}},
    "retrieval": {...}, "probe": {"features": {"embedding@512": {"accuracy": ...}}}}``),
    ``{"dims": {"512": {metric: v}}}``, ``{"512": {metric: v}}`` or a list of ``{"dim": ..., metric: v}``.
    """
    data = json.loads(text)
    rows: list[dict] = []

    def add(dim, metrics: dict, prefix: str) -> None:
        for metric, value in metrics.items():
            if metric in _COUNT_KEYS or metric == "dim" or isinstance(value, bool):
                continue
            if metric.endswith(_NOT_SCORES):
                continue
            if isinstance(value, (int, float)) and value == value:
                rows.append({"dim": int(dim), "metric": f"{prefix}{metric}", "value": float(value)})

    def walk(node, prefix: str) -> None:
        if isinstance(node, list):
            for item in node:
                if isinstance(item, dict) and "dim" in item:
                    add(item["dim"], item, prefix)
                else:
                    walk(item, prefix)
        elif isinstance(node, dict):
            if node and all(str(k).isdigit() and isinstance(v, dict) for k, v in node.items()):
                for dim, metrics in node.items():
                    add(dim, metrics, prefix)
                return
            name = node.get("data", {}).get("name") if isinstance(node.get("data"), dict) else None
            for key, value in node.items():
                if key in ("model", "data", "timing_s", "settings", "splits", "skipped"):
                    continue
                inner = prefix + (f"{name} " if name and not prefix else "")
                if key == "features" and isinstance(value, dict):
                    # Linear probes: one row per embedding size; whisper-mean has no size.
                    for feat, res in value.items():
                        if feat.startswith("embedding@") and isinstance(res, dict):
                            acc = res.get("accuracy")
                            if isinstance(acc, (int, float)):
                                dim = int(feat.split("@")[1])
                                rows.append(
                                    {"dim": dim, "metric": f"{inner}accuracy", "value": acc}
                                )
                    continue
                inner += "" if key in ("levels", "dims") else f"{key} "
                walk(value, inner)

    walk(data, "")
    return sorted(rows, key=lambda x: (x["metric"], x["dim"]))


def sizes_figure(rows: list[dict], headline_only: bool = True) -> go.Figure:
    """Score (%) against size, one line per metric; by default only the top-1/R@1/probe lines
    when the results have any, so a dozen secondary curves do not hide the main ones."""
    # A metric may carry a " · 7 clips" note (eval_view.with_counts) after its name.
    shown = (
        [r for r in rows if r["metric"].split(" · ")[0].endswith(_HEADLINE)]
        if headline_only
        else rows
    )
    shown = shown or rows
    fig = go.Figure()
    for metric in dict.fromkeys(r["metric"] for r in shown):
        pts = [r for r in shown if r["metric"] == metric]
        fig.add_trace(
            go.Scatter(
                x=[p["dim"] for p in pts],
                y=[100 * p["value"] for p in pts],
                mode="lines+markers",
                name=metric,
                # dotted: a handful of clips (eval_view.with_counts marks them), read with care
                line=dict(dash="dot" if "small sample" in metric else "solid"),
                customdata=[bytes_per_vector(p["dim"]) for p in pts],
                hovertemplate=metric + " at %{x}: %{y:.1f} %<br>%{customdata}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Measured quality vs embedding size (shipped evaluation results)",
        xaxis_title="embedding size (float32 bytes = 4 × size)",
        yaxis_title="score (%)",
        template="plotly_white",
        height=420,
    )
    fig.update_xaxes(type="log", tickvals=sorted({r["dim"] for r in shown}))
    return fig


def rank_table(
    labels: Sequence[str], cos_by_dim: dict[int, np.ndarray]
) -> tuple[list[str], list[list]]:
    """Rank of every label at each size (rows ordered by the full-size rank)."""
    dims = sorted(cos_by_dim, reverse=True)
    ranks = {
        d: np.argsort(np.argsort(-cos_by_dim[d], kind="stable"), kind="stable") + 1 for d in dims
    }
    order = np.argsort(-cos_by_dim[dims[0]], kind="stable")
    header = ["label"] + [f"rank @ {d}" for d in dims] + [f"cosine @ {d}" for d in dims]
    rows = [
        [labels[i]]
        + [int(ranks[d][i]) for d in dims]
        + [round(float(cos_by_dim[d][i]), 4) for d in dims]
        for i in order
    ]
    return header, rows


def model_card(
    config: dict, trained: bool, training_info: dict | None, card_text: str | None
) -> str:
    if card_text:
        return card_text
    lines = ["## Model card", ""]
    if not trained:
        lines += [
            "**Untrained.** This model has pretrained towers (Whisper encoder, text encoder) but its "
            "appended global token and both projection heads are randomly initialised (seeded). No "
            "trained weights ship with this checkout yet, so similarity scores carry no meaning. "
            "It is bad at everything that needs an aligned audio–text space, which is everything "
            "this demo shows.",
            "",
        ]
    else:
        lines += [
            "### How it was trained",
            "",
            "```json",
            json.dumps(training_info, indent=2),
            "```",
            "",
        ]
    lines += ["### Configuration", "", "```json", json.dumps(config, indent=2), "```"]
    return "\n".join(lines)
