"""How many clips each shipped score rests on, and which scores mean nothing at that count."""

from __future__ import annotations

import json
import re

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


def trivial_reason(metric: str, counts: dict) -> str | None:
    """Why a score is meaningless (R@k with no more than k candidates is 100 % by construction)."""
    name, m = _dataset(metric, counts), _RECALL.search(metric)
    if name is None or m is None:
        return None
    kind, k = m.group(1), int(m.group(2))
    pool = counts[name].get("clips" if kind == "t2a" else "captions")
    if pool is not None and k >= pool:
        what = "clips" if kind == "t2a" else "captions"
        return f"{metric}: only {pool} {what} to rank, so R@{k} is 100 % by construction"
    return None


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
        kept.append({**r, "metric": r["metric"] + tag})
    return kept, list(dropped.values())
