"""Which store a ``--db`` names: a path ending in ``.lance`` or a URI (``s3://``, ``gs://``,
``az://``, ``file://``, ``db://`` for LanceDB Cloud) is a LanceDB library; any other path is a
sqlite-vec file. Both stores have the same methods (docs/library.md, "Which store when").

lancedb is imported only when a LanceDB library is opened, so sqlite users never load it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

from .lance_schema import is_lance_uri
from .store import LibraryError, Store

AnyStore = Union[Store, "LanceStore"]  # noqa: F821  (imported lazily below)


def db_location(db: str | os.PathLike) -> str | Path:
    """``db`` as the store will see it: a URI stays text (``Path`` would fold ``s3://`` into
    ``s3:/``), anything else becomes a ``Path``."""
    return str(db) if is_lance_uri(db) and "://" in str(db) else Path(db)


def store_exists(db: str | os.PathLike) -> bool:
    """Whether a library (of either kind) is already at ``db``."""
    if not is_lance_uri(db):
        return Path(db).is_file()
    if "://" not in str(db) and not Path(db).is_dir():
        return False
    from .lance_schema import connect, table_names

    # `meta` is written last: without it a creation was killed, and creating again is safe.
    return "meta" in table_names(connect(str(db), None))


def open_store(db: str | os.PathLike, readonly: bool = False) -> AnyStore:
    """The library at ``db``, of the kind its name says.

    Raises:
        LibraryError: nothing there, or not a library of that kind.
    """
    if is_lance_uri(db):
        from .lance_store import LanceStore

        return LanceStore(str(db), readonly=readonly)
    if Path(db).is_dir():
        raise LibraryError(
            f"{db}: a folder; a sqlite-vec library is one file (e.g. sounds.db), a LanceDB "
            "library is a folder ending in .lance or a URI (s3://..., gs://..., db://...)"
        )
    return Store(db, readonly=readonly)


def create_store(db: str | os.PathLike, meta: dict[str, Any]) -> AnyStore:
    """A new, empty library at ``db`` (see :func:`open_store` for how the kind is chosen)."""
    if is_lance_uri(db):
        from .lance_store import LanceStore

        return LanceStore.create(str(db), meta)
    return Store.create(db, meta)


def log_path(db: str | os.PathLike) -> Path:
    """Where an indexing run appends its summary: next to a local library, else in the current
    folder, named after the library."""
    if "://" in str(db):
        return Path(str(db).rstrip("/").rsplit("/", 1)[-1] + ".log")
    db = Path(db)
    return db.with_name(db.name + ".log")
