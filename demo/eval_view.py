"""How many clips each shipped score rests on, and which scores mean nothing at that count."""

from __future__ import annotations

import json
import re
from math import comb

SMALL_SAMPLE = 30  # fewer clips than this: one clip moves the score by more than 3 points
_RECALL = re.compile(r"(t2a|a2t)_R@(\d+)$")


def dataset_counts(text: str) -> dict[str, dict[str, int]]:
    """{dataset name: {"clips": n, "captions": m}} from the evaluator's eval_results.json."""
    data = json.loads(text)
    out: dict[str, dict[str, int]] = {}
    for item in data if isinstance(data, list) else [data]:
        meta = item.get("data") if isinstance(item, dict) else None
        if isinstance(meta, dict) and meta.get("name"):
            out[str(meta["name"])] = {
                k: int(meta[k]) for k in ("clips", "captions") if isinstance(meta.get(k), int)
            }
    return out


def _dataset(metric: str, counts: dict) -> str | None:
    return next((name for name in counts if metric.startswith(name + " ")), None)


def chance(metric: str, counts: dict) -> float | None:
    """Probability that a random ranking scores a hit for a retrieval R@k metric: text→audio has
    one matching clip among ``clips``; audio→text has captions/clips matches among ``captions``."""
    name, m = _dataset(metric, counts), _RECALL.search(metric)
    if name is None or m is None:
        return None
    kind, k = m.group(1), int(m.group(2))
    clips, caps = counts[name].get("clips"), counts[name].get("captions")
    if kind == "t2a":
        return None if not clips else min(k / clips, 1.0)
    if not clips or not caps:
        return None
    rel = caps // clips
    return 1.0 - comb(caps - rel, k) / comb(caps, k) if k <= caps - rel else 1.0


def trivial_reason(metric: str, counts: dict) -> str | None:
    """Why a score is meaningless: a random ranking already gets 100 % (R@k, k ≥ the pool)."""
    c = chance(metric, counts)
    if c is None or c < 1.0:
        return None
    return f"{metric}: a random ranking already scores 100 % here, so it is 100 % by construction"


def with_counts(rows: list[dict], counts: dict) -> tuple[list[dict], list[str]]:
    """Rows minus the meaningless ones, each metric named with its clip count ("esc10 zeroshot
    top1 · 400 clips", "· 7 clips, small sample"); and the reasons for what was dropped."""
    kept, dropped = [], {}
    for r in rows:
        reason = trivial_reason(r["metric"], counts)
        if reason:
            dropped[r["metric"]] = reason
            continue
        name = _dataset(r["metric"], counts)
        n = counts.get(name, {}).get("clips") if name else None
        tag = "" if n is None else f" · {n} clips" + (", small sample" if n < SMALL_SAMPLE else "")
        c = chance(r["metric"], counts)
        tag += "" if c is None else f", chance {100 * c:.0f} %"
        kept.append({**r, "metric": r["metric"] + tag})
    return kept, list(dropped.values())
