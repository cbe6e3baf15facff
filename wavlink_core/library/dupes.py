"""Near-duplicate files: the same recording re-encoded, trimmed or renamed.

Candidates come from the index: a file's whole-file vector against every row (whole file or
segment) of the others, within ``threshold`` cosine. Embeddings alone cannot tell a re-encode from
another recording of the same kind of sound, so each candidate pair is then confirmed on the
signal (:mod:`.verify`, an aligned log-mel correlation that allows trims). Byte-identical files
(same SHA-256) are always linked. Groups are the connected components of the links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import AudioError
from .store import Store
from .verify import aligned_similarity, mel_profile

# Both measured on real re-encodes of the gallery (docs/library.md, scripts/bench_library_dupes.py).
DEFAULT_THRESHOLD = 0.75
DEFAULT_MIN_SIGNAL = 0.85
NEIGHBOURS = 16  # rows looked at per file; near-duplicates are among the nearest rows


@dataclass(frozen=True)
class Pair:
    """A candidate pair: embedding cosine and aligned signal correlation."""

    a: str
    b: str
    cosine: float
    signal: float


def close_pairs(store: Store, threshold: float) -> dict[tuple[str, str], float]:
    """``{(a, b): cosine}`` for files within ``threshold`` cosine in the index (a < b)."""
    if not 0 < threshold <= 1:
        raise ValueError(
            f"threshold={threshold}: a cosine similarity in (0, 1], e.g. {DEFAULT_THRESHOLD}"
        )
    best: dict[tuple[str, str], float] = {}
    for batch in store.whole_rows():
        for row in batch:
            found = {rid: 1 - d for rid, d in store.knn(row.vector, NEIGHBOURS, store.embed_dim)}
            for other in store.rows([rid for rid, cos in found.items() if cos >= threshold]):
                if other.path != row.path:
                    a, b = sorted((row.path, other.path))
                    best[a, b] = max(best.get((a, b), -1.0), found[other.id])
    return best


def candidate_pairs(store: Store, threshold: float, max_seconds: float | None) -> list[Pair]:
    """Pairs of files within ``threshold`` cosine in the index, each scored on the signal."""
    pairs, profiles = [], {}
    for (a, b), cos in sorted(close_pairs(store, threshold).items()):
        if a not in profiles:  # pairs are sorted by a: keep only the current a's profile
            profiles = {a: _profile(a, max_seconds)}
        pa, pb = profiles[a], _profile(b, max_seconds)
        signal = aligned_similarity(pa, pb) if pa is not None and pb is not None else 0.0
        pairs.append(Pair(a, b, cos, signal))
    return pairs


def _profile(path: str, max_seconds: float | None):
    try:
        return mel_profile(path, max_seconds)
    except (AudioError, OSError):  # moved or changed since indexing: it cannot be confirmed
        return None


def group(links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected components (each sorted, at least two paths), sorted by first path."""
    parent: dict[str, str] = {}

    def find(p: str) -> str:
        while parent.setdefault(p, p) != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in links:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for path in parent:
        groups.setdefault(find(path), []).append(path)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def duplicate_groups(
    store: Store,
    threshold: float | None = None,
    min_signal: float | None = None,
    max_seconds: float | None = None,
) -> list[list[str]]:
    """Groups of near-duplicate files.

    Args:
        threshold: embedding cosine for a candidate pair (default ``DEFAULT_THRESHOLD``).
        min_signal: aligned log-mel correlation that confirms it (default ``DEFAULT_MIN_SIGNAL``;
            0 trusts the embeddings alone).
        max_seconds: longest file decoded for the check.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    min_signal = DEFAULT_MIN_SIGNAL if min_signal is None else min_signal
    if min_signal > 0:
        pairs = candidate_pairs(store, threshold, max_seconds)
        links = [(p.a, p.b) for p in pairs if p.signal >= min_signal]
    else:
        links = list(close_pairs(store, threshold))
    for same in store.sha256_groups():
        links += [(same[0], other) for other in same[1:]]
    return group(links)
