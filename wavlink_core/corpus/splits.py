"""Dedupe by audio hash and train/val/test assignment by group, so variants never cross splits."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

SPLITS = (("train", 0.90), ("val", 0.05), ("test", 0.05))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # deterministic representative


def dedupe(rows: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """Drop exact audio duplicates (same ``audio_sha1``), keeping the first row.

    Returns:
        ``(kept rows, {dropped group_id: kept group_id})`` - the links let the split keep a
        sound and its duplicate's variants together.
    """
    seen: dict[str, dict] = {}
    kept, links = [], {}
    for row in rows:
        first = seen.get(row["audio_sha1"])
        if first is None:
            seen[row["audio_sha1"]] = row
            kept.append(row)
        elif first["group_id"] != row["group_id"]:
            links[row["group_id"]] = first["group_id"]
    return kept, links


def split_of(key: str) -> str:
    """Stable split for a group key by hash (90/5/5)."""
    u = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    acc = 0.0
    for name, frac in SPLITS:
        acc += frac
        if u <= acc:
            return name
    return SPLITS[-1][0]


def assign_splits(rows: list[dict], links: Iterable[tuple[str, str]] = ()) -> None:
    """Set ``row["split"]`` in place: one split per connected group (groups joined by ``links``)."""
    uf = _UnionFind()
    for row in rows:
        uf.find(row["group_id"])
    for a, b in links:
        uf.union(a, b)
    for row in rows:
        row["split"] = split_of(uf.find(row["group_id"]))
