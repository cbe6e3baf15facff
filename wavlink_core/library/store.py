"""The library's database: one SQLite file with the sqlite-vec extension (chosen by measurement,
see docs/library.md).

Tables: ``meta`` (model fingerprint, sizes, settings), ``files`` (path, size, mtime, content hash,
duration, and for bad files the reason), ``rows`` (one whole-file row and the segment rows of each
file: start and end seconds) and the ``vectors`` vec0 table keyed by ``rows.id``: the full-size
vector, plus each smaller trained size stored for the shortlist (float32, int8 or sign bits).

Every batch of files is written in one transaction, so a run killed at any moment leaves whole
files or nothing: the next run redoes at most one batch and never duplicates a row. WAL mode lets
any number of readers search while one writer indexes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WavLinkError
from ..matryoshka import truncate_np
from .quantize import to_int8

SCHEMA_VERSION = 1


class LibraryError(WavLinkError):
    """A library that cannot be opened, or is used with another model or in a way it does not allow."""


@dataclass(frozen=True)
class FileState:
    """What the index knows about one file, to tell whether it changed."""

    size: int
    mtime_ns: int
    status: str  # "ok" or "bad"


@dataclass(frozen=True)
class IndexedFile:
    """One file's worth of rows to write: its whole-file vector first, then its segments."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    duration: float
    spans: Sequence[tuple[float, float]]  # (start, end) seconds per row
    vectors: np.ndarray  # (len(spans), D) float32, unit norm


@dataclass(frozen=True)
class Row:
    """A search hit's stored row."""

    id: int
    path: str
    start: float
    end: float
    vector: np.ndarray


def read_meta(where: object, meta: dict[str, Any]) -> tuple[int, tuple[int, ...], str]:
    """A library's full size, trained sizes and shortlist quantisation, once its schema version
    is one this code reads (shared by both stores)."""
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise LibraryError(
            f"{where}: schema version {meta.get('schema_version')!r}, this code reads "
            f"{SCHEMA_VERSION}"
        )
    return int(meta["embed_dim"]), tuple(meta["dims"]), meta["config"]["shortlist_quantization"]


def _connect(path: Path, readonly: bool):
    import apsw
    import sqlite_vec

    flags = (
        apsw.SQLITE_OPEN_READONLY
        if readonly
        else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    )
    con = apsw.Connection(str(path), flags=flags)
    con.enable_load_extension(True)
    con.load_extension(sqlite_vec.loadable_path())
    con.enable_load_extension(False)  # nothing else may load code into this connection
    con.set_busy_timeout(60_000)
    return con


class Store:
    """An open library database (see the module docstring for the layout)."""

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise LibraryError(
                f"{self.path}: no library here (build one with `index DIR --db {self.path}`)"
            )
        self.readonly = readonly
        self.con = _connect(self.path, readonly)
        try:
            self.meta = {
                k: json.loads(v) for k, v in self.con.execute("select key, value from meta")
            }
        except Exception as exc:
            raise LibraryError(f"{self.path}: not a WavLink library ({exc})") from exc
        self.embed_dim, self.dims, self.quantization = read_meta(self.path, self.meta)

    @classmethod
    def create(cls, path: str | os.PathLike, meta: dict[str, Any]) -> Store:
        """A new, empty library at ``path``; ``meta`` holds ``embed_dim``, ``dims``, ``config``."""
        path = Path(path)
        if path.exists():
            raise LibraryError(f"{path}: already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(path, readonly=False)
        D, quant = meta["embed_dim"], meta["config"]["shortlist_quantization"]
        kind = {"float32": "float", "int8": "int8", "binary": "bit"}[quant]
        metric = "" if quant == "binary" else " distance_metric=cosine"  # bits: Hamming only
        short = "".join(f", s{d} {kind}[{d}]{metric}" for d in meta["dims"] if d < D)
        con.execute("pragma journal_mode=wal")  # persistent; readers never wait for the writer
        with con:
            con.execute(
                "create table meta(key text primary key, value text not null);"
                "create table files(id integer primary key, path text unique not null,"
                " size integer not null, mtime_ns integer not null, sha256 text,"
                " duration real, status text not null, reason text);"
                "create index files_sha on files(sha256);"
                "create table rows(id integer primary key, file_id integer not null,"
                " start real not null, end real not null);"
                "create index rows_file on rows(file_id);"
                f"create virtual table vectors using vec0(full float[{D}] distance_metric=cosine{short});"
            )
            con.executemany(
                "insert into meta values (?, ?)",
                [(k, json.dumps(v)) for k, v in {**meta, "schema_version": SCHEMA_VERSION}.items()],
            )
        con.close()
        return cls(path)

    # ---- files -------------------------------------------------------------------------

    def file_states(self) -> dict[str, FileState]:
        """Every known file (good and bad) by path."""
        return {
            p: FileState(s, m, st)
            for p, s, m, st in self.con.execute("select path, size, mtime_ns, status from files")
        }

    def write_batch(
        self, done: Sequence[IndexedFile], bad: Sequence[tuple[str, int, int, str]]
    ) -> None:
        """Store embedded files and bad files ``(path, size, mtime_ns, reason)`` in one transaction,
        replacing what an earlier version of the same path had."""
        with self.con:
            self._delete([f.path for f in done] + [b[0] for b in bad])
            for f in done:
                (file_id,) = next(
                    self.con.execute(
                        "insert into files(path, size, mtime_ns, sha256, duration, status)"
                        " values (?, ?, ?, ?, ?, 'ok') returning id",
                        (f.path, f.size, f.mtime_ns, f.sha256, f.duration),
                    )
                )
                for (start, end), vec in zip(f.spans, f.vectors):
                    (row_id,) = next(
                        self.con.execute(
                            "insert into rows(file_id, start, end) values (?, ?, ?) returning id",
                            (file_id, start, end),
                        )
                    )
                    self._insert_vector(row_id, vec)
            self.con.executemany(
                "insert into files(path, size, mtime_ns, status, reason) values (?, ?, ?, 'bad', ?)",
                bad,
            )

    def _insert_vector(self, row_id: int, vec: np.ndarray) -> None:
        cols, marks, values = (
            ["rowid", "full"],
            ["?", "?"],
            [row_id, vec.astype(np.float32).tobytes()],
        )
        for d in self.dims:
            if d >= self.embed_dim:
                continue
            small = truncate_np(vec[None, :d], d)
            cols.append(f"s{d}")
            if self.quantization == "int8":
                marks.append("vec_int8(?)")
                values.append(to_int8(small).tobytes())
            elif self.quantization == "binary":
                marks.append("vec_quantize_binary(?)")
                values.append(small[0].tobytes())
            else:
                marks.append("?")
                values.append(small[0].tobytes())
        self.con.execute(
            f"insert into vectors({', '.join(cols)}) values ({', '.join(marks)})", values
        )

    def remove(self, paths: Sequence[str]) -> int:
        """Drop files (and their rows); returns how many were known."""
        with self.con:
            return self._delete(paths)

    def _delete(self, paths: Sequence[str]) -> int:
        n = 0
        for path in paths:
            found = list(self.con.execute("select id from files where path = ?", (path,)))
            if not found:
                continue
            file_id = found[0][0]
            self.con.execute(
                "delete from vectors where rowid in (select id from rows where file_id = ?)",
                (file_id,),
            )
            self.con.execute("delete from rows where file_id = ?", (file_id,))
            self.con.execute("delete from files where id = ?", (file_id,))
            n += 1
        return n

    # ---- search ------------------------------------------------------------------------

    def ann(self) -> None:
        """sqlite-vec has no ANN index (the LanceDB store's counterpart returns its settings)."""
        return None

    def knn(self, query: np.ndarray, k: int, dim: int) -> list[tuple[int, float]]:
        """``(row id, distance)`` of the ``k`` nearest rows to a full-size ``query`` at size ``dim``
        (full size: exact cosine distance; smaller sizes: the stored shortlist column)."""
        if dim == self.embed_dim:
            column, arg = "full", "?"
            blob = query.astype(np.float32).tobytes()
        else:
            column, small = f"s{dim}", truncate_np(query[None, :dim], dim)
            if self.quantization == "int8":
                arg, blob = "vec_int8(?)", to_int8(small).tobytes()
            elif self.quantization == "binary":
                arg, blob = "vec_quantize_binary(?)", small.tobytes()
            else:
                arg, blob = "?", small.tobytes()
        sql = f"select rowid, distance from vectors where {column} match {arg} and k = ? order by distance"
        return list(self.con.execute(sql, (blob, int(k))))

    def rows(self, ids: Sequence[int]) -> list[Row]:
        """Stored rows with their full-size vectors, in the order of ``ids``."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        found = {
            i: Row(i, p, s, e, np.frombuffer(v, dtype=np.float32))
            for i, p, s, e, v in self.con.execute(
                "select rows.id, files.path, rows.start, rows.end, vectors.full from rows"
                " join files on files.id = rows.file_id join vectors on vectors.rowid = rows.id"
                f" where rows.id in ({marks})",
                list(ids),
            )
        }
        return [found[i] for i in ids if i in found]

    def whole_rows(self, batch: int = 4096) -> Iterator[list[Row]]:
        """Every file's whole-file row (the first row of each file), in batches."""
        last = 0
        while True:
            found = [
                Row(i, p, s, e, np.frombuffer(v, dtype=np.float32))
                for i, p, s, e, v in self.con.execute(
                    "select rows.id, files.path, rows.start, rows.end, vectors.full from files"
                    " join rows on rows.id = (select min(id) from rows where file_id = files.id)"
                    " join vectors on vectors.rowid = rows.id"
                    " where files.status = 'ok' and files.id > ? order by files.id limit ?",
                    (last, batch),
                )
            ]
            if not found:
                return
            yield found
            (last,) = next(
                self.con.execute("select id from files where path = ?", (found[-1].path,))
            )

    def file_vector(self, path: str) -> np.ndarray | None:
        """The whole-file vector of an indexed file, or None."""
        for (blob,) in self.con.execute(
            "select vectors.full from files join rows on rows.id ="
            " (select min(id) from rows where file_id = files.id)"
            " join vectors on vectors.rowid = rows.id where files.path = ?",
            (path,),
        ):
            return np.frombuffer(blob, dtype=np.float32)
        return None

    def sample_vectors(self, n: int) -> np.ndarray:
        """Up to ``n`` full-size row vectors, spread evenly over the library."""
        (total,) = next(self.con.execute("select count(*) from rows"))
        step = max(1, total // n)
        blobs = self.con.execute(
            "select vectors.full from rows join vectors on vectors.rowid = rows.id"
            " where rows.id % ? = 0 limit ?",
            (step, n),
        )
        found = [np.frombuffer(b, dtype=np.float32) for (b,) in blobs]
        return np.stack(found) if found else np.zeros((0, self.embed_dim), np.float32)

    def vector_bytes(self) -> int:
        """Bytes of vector data per row: the full-size float32 vector plus the shortlist columns."""
        per = {"float32": 4, "int8": 1, "binary": 1 / 8}[self.quantization]
        return int(4 * self.embed_dim + sum(d * per for d in self.dims if d < self.embed_dim))

    def sha256_groups(self) -> list[list[str]]:
        """Paths of files whose contents are byte-identical (renamed or copied)."""
        groups: dict[str, list[str]] = {}
        for sha, path in self.con.execute(
            "select sha256, path from files where sha256 in (select sha256 from files"
            " where status = 'ok' group by sha256 having count(*) > 1) order by path"
        ):
            groups.setdefault(sha, []).append(path)
        return list(groups.values())

    def counts(self) -> dict[str, Any]:
        """Files, bad files, rows, segment rows and hours of audio."""
        (ok, bad, hours) = next(
            self.con.execute(
                "select coalesce(sum(status = 'ok'), 0), coalesce(sum(status = 'bad'), 0),"
                " coalesce(sum(duration), 0) / 3600.0 from files"
            )
        )
        (rows,) = next(self.con.execute("select count(*) from rows"))
        return {
            "files": ok,
            "bad_files": bad,
            "rows": rows,
            "segment_rows": rows - ok,
            "hours": hours,
        }

    def bad_files(self) -> list[tuple[str, str]]:
        return list(
            self.con.execute("select path, reason from files where status = 'bad' order by path")
        )

    def disk_bytes(self) -> int:
        """The database file plus its write-ahead log."""
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.is_file())

    def close(self) -> None:
        self.con.close()
