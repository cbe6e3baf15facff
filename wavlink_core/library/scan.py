"""Walking folders for audio files and telling new, changed and deleted files from the index.

A file counts as unchanged when its size and modification time (nanoseconds) match the index, the
check every sync tool uses; its content hash is computed only for files that are (re-)embedded,
and serves the duplicate finder (byte-identical copies under other names).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .store import FileState

# What load_audio decodes: libsndfile's formats, and through ffmpeg the usual compressed containers.
AUDIO_EXTENSIONS = frozenset(
    ".wav .wave .flac .ogg .oga .opus .mp3 .aif .aiff .au .caf .w64 .rf64 "
    ".m4a .aac .mp4 .webm .wma .mka".split()
)


def library_path(path: str | os.PathLike) -> str:
    """The absolute path a file is indexed under: links are kept as named, not resolved, so a
    linked file is found, changed and deleted under the folder the user indexed."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


@dataclass(frozen=True)
class FoundFile:
    """An audio file on disk: absolute path, size and modification time."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Plan:
    """What a run has to do: embed ``todo`` (new or changed), drop ``deleted``, keep the rest."""

    todo: list[FoundFile]
    deleted: list[str]
    unchanged: int


def walk(roots: Iterable[str | os.PathLike]) -> list[FoundFile]:
    """Audio files under ``roots`` (folders recursively, or single files), sorted by path.

    Raises:
        FileNotFoundError: a root that does not exist, named.
    """
    found: dict[str, FoundFile] = {}
    for root in roots:
        root = Path(library_path(root))
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or folder")
        candidates = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for p in candidates:
            if p.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            st = p.stat()
            path = library_path(p)
            found[path] = FoundFile(path, st.st_size, st.st_mtime_ns)
    return [found[p] for p in sorted(found)]


def plan(
    found: Sequence[FoundFile], known: dict[str, FileState], roots_prefixes: Sequence[str]
) -> Plan:
    """Compare files on disk with the index.

    Args:
        found: what :func:`walk` found under the roots of this run.
        known: the index's files by path.
        roots_prefixes: absolute root paths of this run; an indexed file under one of them that is
            no longer there was deleted. Files under other roots are left alone, so indexing one
            folder never drops another folder's files.
    """
    on_disk = {f.path for f in found}
    todo = [
        f
        for f in found
        if (k := known.get(f.path)) is None or (k.size, k.mtime_ns) != (f.size, f.mtime_ns)
    ]
    deleted = [
        p
        for p in known
        if p not in on_disk
        and any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in roots_prefixes)
    ]
    return Plan(todo=todo, deleted=sorted(deleted), unchanged=len(found) - len(todo))


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in 1-MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
