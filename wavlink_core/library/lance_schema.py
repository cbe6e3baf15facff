"""The LanceDB library's tables: their schema, how they are created, and the Arrow IO helpers
(filters, row ids, vector columns) that :class:`.lance_store.LanceStore` reads and writes with.
The layout and why it keeps a killed run whole are in :mod:`.lance_store`'s docstring.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..matryoshka import truncate_np
from .store import SCHEMA_VERSION, IndexedFile, LibraryError, Row

# Schemes lancedb opens itself; anything else given to --db is a local path.
URI_SCHEMES = ("s3://", "s3+ddb://", "gs://", "az://", "abfss://", "file://", "db://", "memory://")
IN_CHUNK = 1000  # paths per `IN (...)` filter
ROW_COLUMNS = ["id", "path", "start", "end", "full"]  # what a search result row needs


def is_lance_uri(db: str | os.PathLike) -> bool:
    """True when ``db`` names a LanceDB library: a URI or a path ending in ``.lance``."""
    text = str(db)
    return text.startswith(URI_SCHEMES) or text.rstrip("/").endswith(".lance")


def row_id(path: str, seq: int) -> int:
    """A stable 63-bit id of a file's ``seq``-th row: the same file always gets the same ids, so a
    rewritten file replaces its rows instead of adding to them."""
    digest = hashlib.blake2b(f"{path}\0{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def quote_sql(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def in_filters(column: str, values: Sequence[str]) -> list[str]:
    """SQL filters ``column IN (...)`` over chunks of ``values`` (an empty list gives none)."""
    return [
        f"{column} IN ({quote_sql(values[i : i + IN_CHUNK])})"
        for i in range(0, len(values), IN_CHUNK)
    ]


def to_matrix(column) -> np.ndarray:
    """A fixed-size-list Arrow column as an (N, D) float32 array."""
    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    width = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width).astype(np.float32)


def to_rows(table) -> list[Row]:
    """Rows of an Arrow table with the ``ROW_COLUMNS``, full-size vectors included."""
    return [
        Row(i, p, s, e, v)
        for i, p, s, e, v in zip(
            table["id"].to_pylist(),
            table["path"].to_pylist(),
            table["start"].to_pylist(),
            table["end"].to_pylist(),
            to_matrix(table["full"]),
        )
    ]


def connect(uri: str, storage_options: dict[str, str] | None):
    import lancedb

    return lancedb.connect(uri, storage_options=storage_options or None)


def table_names(db) -> set[str]:
    """The tables of a lancedb connection (all pages)."""
    names, token = set(), None
    while True:
        page = db.list_tables(page_token=token)
        names |= set(page.tables)
        token = page.page_token
        if not token:
            return names


def create_tables(uri: str, meta: dict[str, Any], storage_options: dict[str, str] | None) -> None:
    """The three empty tables of a new library at ``uri``; ``meta`` holds ``embed_dim``, ``dims``
    and ``config``, and is written last (see below)."""
    import pyarrow as pa

    db = connect(uri, storage_options)
    names = table_names(db)
    if "meta" in names or names - {"rows", "bad"}:
        raise LibraryError(f"{uri}: already exists")
    for name in names:  # left by a creation killed before its last step: start again
        db.drop_table(name)
    D = int(meta["embed_dim"])
    config = {**meta["config"], "shortlist_quantization": "float32"}  # see lance_store's docstring
    fields = [
        ("id", pa.int64()),
        ("path", pa.string()),
        ("seq", pa.int32()),
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("sha256", pa.string()),
        ("duration", pa.float64()),
        ("full", pa.list_(pa.float32(), D)),
    ] + [(f"s{d}", pa.list_(pa.float32(), d)) for d in meta["dims"] if d < D]
    db.create_table("rows", schema=pa.schema(fields))
    db.create_table(
        "bad",
        schema=pa.schema(
            [
                ("path", pa.string()),
                ("size", pa.int64()),
                ("mtime_ns", pa.int64()),
                ("reason", pa.string()),
            ]
        ),
    )
    # Written last: a library whose creation was killed has no meta and is refused on open.
    values = {**meta, "config": config, "schema_version": SCHEMA_VERSION}
    db.create_table(
        "meta",
        data=pa.table(
            {
                "key": list(values),
                "value": [json.dumps(v) for v in values.values()],
            }
        ),
    )


def rows_arrow(done: Sequence[IndexedFile], schema, dims: Sequence[int], embed_dim: int):
    """The rows of embedded files as an Arrow table of the ``rows`` schema: the file's record
    on every row, the full vector and each smaller size's re-normalised prefix."""
    import pyarrow as pa

    cols: dict[str, list] = {
        k: [] for k in ("id", "path", "seq", "start", "end", "size", "mtime_ns", "sha256")
    }
    cols["duration"] = []
    vectors = []
    for f in done:
        for seq, (start, end) in enumerate(f.spans):
            for key, value in zip(
                cols,
                (
                    row_id(f.path, seq),
                    f.path,
                    seq,
                    start,
                    end,
                    f.size,
                    f.mtime_ns,
                    f.sha256,
                    f.duration,
                ),
            ):
                cols[key].append(value)
        vectors.append(np.asarray(f.vectors, np.float32))
    full = np.concatenate(vectors)
    arrays = [pa.array(cols[name], schema.field(name).type) for name in cols]
    arrays.append(vector_column(full))
    names = list(cols) + ["full"]
    for d in dims:
        if d < embed_dim:
            arrays.append(vector_column(truncate_np(full, d)))
            names.append(f"s{d}")
    return pa.Table.from_arrays(arrays, names=names)


def vector_column(matrix: np.ndarray):
    """An (N, D) matrix as a fixed-size-list Arrow column."""
    import pyarrow as pa

    matrix = np.ascontiguousarray(matrix, np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])
