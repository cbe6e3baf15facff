"""One evaluation run → ``results.json`` (everything) and ``results.md`` (tables for people)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _pct(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def to_markdown(res: dict) -> str:
    """Markdown tables of a run (percentages, with clip counts)."""
    m, d = res["model"], res["data"]
    trained = "yes" if m["trained"] else "**NO: untrained global token and projections**"
    lines = [
        f"# WavLink evaluation: {m['name']} on {d['name']}",
        "",
        f"- model: `{m['source']}` ({m['name']}, audio `{m['audio_backbone']}`, text "
        f"`{m['text_backbone']}`, sizes {m['matryoshka_dims']}); trained: {trained}",
        f"- data: `{d['name']}` (layout {d['type']}): {d['clips']} clips, {d['classes']} classes"
        + (f", {d['captions']} captions" if d.get("captions") else ""),
        f"- template: `{res['template']}`; 30-s padding: {res['pad_to_30s']}",
    ]
    if len(res.get("templates", [])) > 1:
        lines.append(
            f"- prompt ensemble of {len(res['templates'])} templates: "
            + ", ".join(f"`{t}`" for t in res["templates"])
        )
    lines += [
        f"- time: {res['timing_s']['total']} s ({res['timing_s']['features']} s encoding audio)",
    ]
    for task, why in res.get("skipped", {}).items():
        lines.append(f"- {task}: skipped ({why})")
    if "zeroshot" in res:
        z = res["zeroshot"]
        lines += [
            "",
            f"## Zero-shot classification (all clips; chance top-1 {_pct(z['chance_top1'])}%)",
            "",
        ]
        has5 = any("top5" in v for v in z["levels"].values())
        header = ["dim", "top-1 %", "correct / clips"] + (["top-5 %"] if has5 else [])
        rows = []
        for dim, v in z["levels"].items():
            row = [dim, _pct(v["top1"]), f"{v['correct']} / {v['clips']}"]
            rows.append(row + ([_pct(v.get("top5"))] if has5 else []))
        lines += _table(header, rows)
        dims = [d for d, v in z["levels"].items() if "per_class" in v]
        if dims:
            first = z["levels"][dims[0]]
            lines += ["", "Per class (top-1 %; most frequent wrong answer at the full size):", ""]
            rows = [
                [name]
                + [_pct(z["levels"][d]["per_class"][name]) for d in dims]
                + [first.get("confused_with", {}).get(name, "")]
                for name in first["per_class"]
            ]
            lines += _table(["class"] + dims + ["confused with"], rows)
    if "retrieval" in res:
        r = res["retrieval"]
        lines += [
            "",
            f"## Retrieval ({r['clips']} clips, {r['captions']} captions; LAION-CLAP protocol)",
            "",
        ]
        header = ["dim"] + [f"{w} R@{k} %" for w in ("T→A", "A→T") for k in (1, 5, 10)]
        rows = [
            [dim] + [_pct(v[f"{w}_R@{k}"]) for w in ("t2a", "a2t") for k in (1, 5, 10)]
            for dim, v in r["levels"].items()
        ]
        lines += _table(header, rows)
    if "probe" in res:
        p = res["probe"]
        s = p["settings"]
        lines += [
            "",
            f"## Linear probe ({p['protocol']}; {p['classes']} classes)",
            "",
            f"nn.Linear, Adam lr {s['lr']}, {s['epochs']} epochs, batch {s['batch_size']}, "
            f"seed {s['seed']}, features standardised with {s['standardise']}. Splits: "
            + ", ".join(f"{x['name']} {x['train']}/{x['test']}" for x in p["splits"])
            + " (train/test clips).",
            "",
        ]
        multi = len(p["splits"]) > 1
        header = ["features", "accuracy %", "correct / test clips"] + (
            ["mean ± std over splits %"] if multi else []
        )
        rows = []
        for name, v in p["features"].items():
            row = [name, _pct(v["accuracy"]), f"{v['correct']} / {v['test_clips']}"]
            if multi:
                row.append(f"{_pct(v['mean_split_accuracy'])} ± {_pct(v['std_split_accuracy'])}")
            rows.append(row)
        lines += _table(header, rows)
    if "fewshot" in res:
        from .fewshot import fewshot_markdown

        lines += fewshot_markdown(res["fewshot"])
    if "openset" in res:
        from .openset import openset_markdown

        lines += openset_markdown(res["openset"])
    return "\n".join(lines) + "\n"


def _plain(obj: Any) -> Any:
    """JSON-safe copy (numpy scalars → Python, NaN → null)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def write_report(res: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / "results.json", out / "results.md"
    js.write_text(json.dumps(_plain(res), indent=2, ensure_ascii=False) + "\n")
    md.write_text(to_markdown(res))
    return js, md
