"""Near-duplicate files: the same sound re-encoded, trimmed or renamed.

Two files are linked when the whole-file vector of one is within ``threshold`` cosine of any row
(whole file or segment) of the other, so a trimmed copy also meets the segment of the original it
was cut from; byte-identical files (same SHA-256) are always linked. Groups are the connected
components of those links.
"""

from __future__ import annotations

from .store import Store

# Measured on real re-encodes of the gallery (docs/library.md, scripts/bench_library_dupes.py).
DEFAULT_THRESHOLD = 0.95
NEIGHBOURS = 16  # rows looked at per file; near-duplicates are the nearest rows by definition


def duplicate_groups(store: Store, threshold: float | None = None) -> list[list[str]]:
    """Groups (each sorted, at least two paths) of near-duplicate files, sorted by first path.

    Raises:
        ValueError: a threshold outside (0, 1].
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold={threshold}: a cosine similarity in (0, 1], e.g. 0.95")
    parent: dict[str, str] = {}

    def find(p: str) -> str:
        while parent.setdefault(p, p) != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for batch in store.whole_rows():
        for row in batch:
            neighbours = store.knn(row.vector, NEIGHBOURS, store.embed_dim)
            close = [rid for rid, dist in neighbours if 1 - dist >= threshold]
            for other in store.rows(close):
                if other.path != row.path:
                    union(row.path, other.path)
    for group in store.sha256_groups():
        for path in group[1:]:
            union(group[0], path)
    groups: dict[str, list[str]] = {}
    for path in parent:
        groups.setdefault(find(path), []).append(path)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])
