"""The library in LanceDB: a folder or an object-store URI (``s3://``, ``gs://``, ``az://``, ...)
or LanceDB Cloud (``db://``), with an optional ANN index for libraries of 100k+ rows.

Same methods as :class:`~.store.Store`, so indexing, search, duplicates and stats run unchanged.
Three tables:

- ``rows``: one row per whole file and per segment, each carrying its file's record (size, mtime,
  SHA-256, duration), the full-size vector and every smaller trained size as a re-normalised
  float32 prefix (``s128``, ``s64``, ...). The whole-file row (``seq = 0``) *is* the file's record.
- ``bad``: files that could not be embedded, with the reason.
- ``meta``: the model fingerprint, sizes, settings and the ANN index settings.

LanceDB commits each table on its own, so the "nothing lost, nothing duplicated" guarantee comes
from the layout rather than a transaction: a file's rows (its record included) are written by one
``merge_insert`` keyed on a row id derived from ``(path, seq)``, which in the same commit deletes
the rows an earlier version of that path had. Then the bad-file records of the batch are written.
A kill between the two commits leaves a file either committed with all its rows, or not at all
(it is redone), plus at worst a stale bad record for a path that now has rows; rows win, and the
stale record is dropped the next time the library is opened for writing.

The tables' schema and Arrow helpers are in :mod:`.lance_schema`. Shortlist quantisation is the
ANN index's own (IVF partitions of a prefix, :mod:`.lance_ann`), so the stored prefixes are
float32 whatever ``--quantization`` says.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..matryoshka import truncate_np
from .lance_schema import (
    IN_CHUNK,
    ROW_COLUMNS,
    connect,
    create_tables,
    in_filters,
    quote_sql,
    rows_arrow,
    table_names,
    to_matrix,
    to_rows,
)
from .store import FileState, IndexedFile, LibraryError, Row, read_meta


class LanceStore:
    """An open LanceDB library (see the module docstring for the layout).

    Args:
        uri: a local folder (ending in ``.lance``) or a URI lancedb opens.
        readonly: refuse every write.
        storage_options: passed to ``lancedb.connect`` (object-store endpoint, keys, region);
            by default lancedb reads them from the usual environment variables.
    """

    def __init__(
        self,
        uri: str | os.PathLike,
        *,
        readonly: bool = False,
        storage_options: dict[str, str] | None = None,
    ):
        self.path = str(uri)
        self.readonly = readonly
        self.db = connect(self.path, storage_options)
        names = table_names(self.db)
        if not {"meta", "rows", "bad"} <= names:
            raise LibraryError(
                f"{self.path}: no library here (build one with `index DIR --db {self.path}`)"
                if not names
                else f"{self.path}: not a WavLink library (tables {sorted(names)})"
            )
        self.rows_t = self.db.open_table("rows")
        self.bad_t = self.db.open_table("bad")
        self.meta_t = self.db.open_table("meta")
        self.meta = {
            r["key"]: json.loads(r["value"]) for r in self.meta_t.to_arrow().to_pylist()
        }
        self.embed_dim, self.dims, self.quantization = read_meta(self.path, self.meta)
        self._fetched: dict[int, Row] = {}  # the last knn's rows, so the re-rank reads nothing
        if not readonly:
            self._drop_stale_bad()

    @classmethod
    def create(
        cls,
        uri: str | os.PathLike,
        meta: dict[str, Any],
        *,
        storage_options: dict[str, str] | None = None,
    ) -> LanceStore:
        """A new, empty library at ``uri``; ``meta`` holds ``embed_dim``, ``dims``, ``config``."""
        uri = str(uri)
        create_tables(uri, meta, storage_options)
        return cls(uri, storage_options=storage_options)

    # ---- files -------------------------------------------------------------------------

    def file_states(self) -> dict[str, FileState]:
        """Every known file (good and bad) by path."""
        states = {
            r["path"]: FileState(r["size"], r["mtime_ns"], "bad")
            for r in self.bad_t.to_arrow().select(["path", "size", "mtime_ns"]).to_pylist()
        }
        for r in self._scan(["path", "size", "mtime_ns"], "seq = 0"):
            states[r["path"]] = FileState(r["size"], r["mtime_ns"], "ok")  # rows win: see above
        return states

    def write_batch(
        self, done: Sequence[IndexedFile], bad: Sequence[tuple[str, int, int, str]]
    ) -> None:
        """Store embedded files and bad files ``(path, size, mtime_ns, reason)``, replacing what
        an earlier version of the same path had: one commit for the rows, then one for the bad
        records (the module docstring says why a kill between them loses nothing)."""
        self.writable()
        done_paths, bad_paths = [f.path for f in done], [b[0] for b in bad]
        if done:
            stale = " OR ".join(in_filters("path", done_paths + bad_paths))
            (
                self.rows_t.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .when_not_matched_by_source_delete(stale)
                .execute(rows_arrow(done, self.rows_t.schema, self.dims, self.embed_dim))
            )
        elif bad:
            self._delete_where(self.rows_t, bad_paths)
        if bad:
            import pyarrow as pa

            records = pa.table(
                {
                    "path": bad_paths,
                    "size": pa.array([b[1] for b in bad], pa.int64()),
                    "mtime_ns": pa.array([b[2] for b in bad], pa.int64()),
                    "reason": [b[3] for b in bad],
                }
            )
            builder = self.bad_t.merge_insert("path").when_matched_update_all()
            builder = builder.when_not_matched_insert_all()
            if done_paths:
                builder = builder.when_not_matched_by_source_delete(
                    " OR ".join(in_filters("path", done_paths))
                )
            builder.execute(records)
        elif done_paths and self.bad_t.count_rows():
            self._delete_where(self.bad_t, done_paths)

    def remove(self, paths: Sequence[str]) -> int:
        """Drop files (and their rows); returns how many were known."""
        self.writable()
        paths = list(paths)
        if not paths:
            return 0
        known = sum(
            self.rows_t.count_rows(f"seq = 0 AND ({f})") + self.bad_t.count_rows(f)
            for f in in_filters("path", paths)
        )
        self._delete_where(self.rows_t, paths)
        self._delete_where(self.bad_t, paths)
        return known

    @staticmethod
    def _delete_where(table, paths: Sequence[str]) -> None:
        for where in in_filters("path", list(paths)):
            table.delete(where)

    def _drop_stale_bad(self) -> None:
        """Bad records of paths that have rows: left by a kill between a batch's two commits."""
        bad = self.bad_t.to_arrow()["path"].to_pylist()
        if not bad:
            return
        stale = [
            r["path"]
            for f in in_filters("path", bad)
            for r in self._scan(["path"], f"seq = 0 AND ({f})")
        ]
        if stale:
            self._delete_where(self.bad_t, stale)

    def writable(self) -> None:
        """Raise unless the library was opened for writing."""
        if self.readonly:
            raise LibraryError(f"{self.path} is open read-only: it cannot be changed")

    # ---- search ------------------------------------------------------------------------

    def ann(self) -> dict[str, Any] | None:
        """The ANN index settings (``dim``, ``nprobes``, ``factor``, ``index_type``, ``rows``;
        see :mod:`.lance_ann`), or None."""
        return self.meta.get("ann")

    def knn(self, query: np.ndarray, k: int, dim: int) -> list[tuple[int, float]]:
        """``(row id, cosine distance)`` of the ``k`` nearest rows to a full-size ``query`` at
        size ``dim``: exact at full size; at a smaller size through the ANN index when one
        was built for that size (:func:`.lance_ann.build_ann`), else a flat scan of the stored
        prefix."""
        if dim == self.embed_dim:
            column, vector = "full", np.asarray(query, np.float32)
        else:
            column, vector = f"s{dim}", truncate_np(query[None, :dim], dim)[0]
        search = (
            self.rows_t.search(vector, vector_column_name=column)
            .distance_type("cosine")
            .limit(int(k))
            .select([*ROW_COLUMNS, "_distance"])
        )
        ann = self.ann()
        if ann and ann["dim"] == dim and dim != self.embed_dim:
            search = search.nprobes(int(ann["nprobes"]))
        else:
            search = search.bypass_vector_index()
        found = search.to_arrow()
        # The shortlist's rows come with the search: at 1M rows on an idle machine that was
        # 1.15x faster than a search for row ids followed by a take of the rows (under heavy
        # load the take won; benchmarks.md, "Where a 1M-row query's time goes").
        self._fetched = {row.id: row for row in to_rows(found)}
        return list(zip(found["id"].to_pylist(), found["_distance"].to_pylist()))

    def set_meta(self, key: str, value: Any) -> None:
        """Record ``key`` in the ``meta`` table (one commit) and in ``self.meta``."""
        import pyarrow as pa

        record = pa.table({"key": [key], "value": [json.dumps(value)]})
        (
            self.meta_t.merge_insert("key")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(record)
        )
        self.meta[key] = value

    def rows(self, ids: Sequence[int]) -> list[Row]:
        """Stored rows with their full-size vectors, in the order of ``ids``."""
        if not ids:
            return []
        found = dict(self._fetched) if all(i in self._fetched for i in ids) else {}
        if not found:
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ", ".join(str(int(i)) for i in ids[start : start + IN_CHUNK])
                for row in self._rows_where(f"id IN ({chunk})"):
                    found[row.id] = row
        return [found[i] for i in ids if i in found]

    def _rows_where(self, where: str) -> list[Row]:
        table = (
            self.rows_t.search().where(where).select(ROW_COLUMNS)
        ).to_arrow()
        return to_rows(table)

    def _scan(self, columns: list[str], where: str | None = None) -> Iterator[dict]:
        query = self.rows_t.search().select(columns)
        if where:
            query = query.where(where)
        for batch in query.to_batches(8192):
            yield from batch.select(columns).to_pylist()

    def whole_rows(self, batch: int = 4096) -> Iterator[list[Row]]:
        """Every file's whole-file row, in batches (ordered by path)."""
        paths = sorted(r["path"] for r in self._scan(["path"], "seq = 0"))
        for start in range(0, len(paths), batch):
            chunk = paths[start : start + batch]
            found = {
                r.path: r
                for f in in_filters("path", chunk)
                for r in self._rows_where(f"seq = 0 AND ({f})")
            }
            yield [found[p] for p in chunk if p in found]

    def file_vector(self, path: str) -> np.ndarray | None:
        """The whole-file vector of an indexed file, or None."""
        found = self._rows_where(f"seq = 0 AND path = {quote_sql([path])}")
        return found[0].vector if found else None

    def sample_vectors(self, n: int) -> np.ndarray:
        """Up to ``n`` full-size row vectors, spread evenly over the library."""
        total = self.rows_t.count_rows()
        if not total:
            return np.zeros((0, self.embed_dim), np.float32)
        offsets = list(range(0, total, max(1, total // n)))[:n]
        return to_matrix(self.rows_t.take_offsets(offsets).select(["full"]).to_arrow()["full"])

    def vector_bytes(self) -> int:
        """Bytes of vector data per row: the full-size vector plus the float32 prefixes."""
        return 4 * (self.embed_dim + sum(d for d in self.dims if d < self.embed_dim))

    def sha256_groups(self) -> list[list[str]]:
        """Paths of files whose contents are byte-identical (renamed or copied)."""
        groups: dict[str, list[str]] = {}
        for r in self._scan(["sha256", "path"], "seq = 0"):
            groups.setdefault(r["sha256"], []).append(r["path"])
        return sorted(sorted(g) for g in groups.values() if len(g) > 1)

    def counts(self) -> dict[str, Any]:
        """Files, bad files, rows, segment rows and hours of audio."""
        rows = self.rows_t.count_rows()
        seconds = sum(r["duration"] for r in self._scan(["duration"], "seq = 0"))
        files = self.rows_t.count_rows("seq = 0")
        return {
            "files": files,
            "bad_files": self.bad_t.count_rows(),
            "rows": rows,
            "segment_rows": rows - files,
            "hours": seconds / 3600.0,
        }

    def bad_files(self) -> list[tuple[str, str]]:
        return sorted(
            (r["path"], r["reason"])
            for r in self.bad_t.to_arrow().select(["path", "reason"]).to_pylist()
        )

    def disk_bytes(self) -> int:
        """Bytes of the tables' data and index files (from their manifests, so object storage
        is measured too; old versions that `optimize` has not cleaned up are not counted)."""
        return sum(t.stats()["total_bytes"] for t in (self.rows_t, self.bad_t, self.meta_t))

    def close(self) -> None:
        self._fetched = {}


