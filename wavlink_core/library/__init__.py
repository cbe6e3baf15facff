"""The sound library: index folders once, search them by text, by example and by time.

from wavlink_core.library import Library
with Library("sounds.db", "assets/wavlink-tiny") as lib:
    lib.add(["~/Sounds"])
    for hit in lib.search("a door creaks open", k=5, dim=64):
        print(hit.path, hit.score, hit.start, hit.end)
"""

from __future__ import annotations

from .config import LibraryConfig
from .indexer import IndexReport
from .library import Library
from .search import Hit
from .store import LibraryError

__all__ = ["Hit", "IndexReport", "Library", "LibraryConfig", "LibraryError"]
