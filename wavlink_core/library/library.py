"""``Library``: a persistent, searchable index of a user's sound folders, tied to one model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checkpoint import fingerprint
from ..inference import AudioInput, embed_audio, embed_text
from ..model import WavLink
from .config import LibraryConfig
from .dupes import duplicate_groups
from .indexer import IndexReport, index_folders
from .precomputed import index_vectors
from .scan import library_path
from .search import Hit, measure_recall, search_vector
from .backends import create_store, db_location, log_path, open_store, store_exists
from .store import LibraryError

if TYPE_CHECKING:
    from .distributed import RayOptions

RECALL_SAMPLE = (
    20_000  # library rows used by stats(recall=True); bounded, whatever the library size
)
RECALL_QUERIES = 200


def model_fingerprint(model: WavLink) -> str:
    """Identity of all of a model's weights (towers, global token, projections); any trained
    weight that differs gives another fingerprint."""
    return fingerprint(model.state_dict())


class Library:
    """A sound library (a sqlite-vec file, or a LanceDB folder or URI), built and searched with
    one model.

    Args:
        path: the database: a file (sqlite-vec), or a folder ending in ``.lance`` or a URI
            (``s3://``, ``gs://``, ``az://``, ``db://``: LanceDB; see :mod:`.backends`); created
            on first use unless ``readonly``.
        model: a loaded :class:`WavLink`, a checkpoint folder or a preset name. A library refuses
            a model other than the one it was built with.
        config: settings for a new library (segments, batches, shortlist quantisation); an
            existing library keeps those it was created with.
        readonly: open for searching only (``add``/``remove`` refused).
        source: where ``model`` was loaded from (recorded for the CLI's default ``--model``).

    Raises:
        LibraryError: no library at ``path`` (read-only), not a library, or another model.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        model: WavLink | str,
        config: LibraryConfig | None = None,
        *,
        readonly: bool = False,
        source: str | None = None,
    ):
        if isinstance(model, (str, os.PathLike)):
            from ..checkpoint import load_pretrained

            source = source or str(model)
            model = load_pretrained(str(model))
        if source and Path(source).is_dir():
            source = str(Path(source).resolve())  # a folder must still be found from elsewhere
        self.model = model
        self.source = source
        self.path = db_location(path)
        self.fingerprint = model_fingerprint(model)
        if not store_exists(self.path) and not readonly:
            create_store(
                self.path,
                {
                    "embed_dim": model.config.embed_dim,
                    "dims": list(model.matryoshka_dims),
                    "config": (config or LibraryConfig()).to_dict(),
                    "model": {
                        "name": model.config.name,
                        "fingerprint": self.fingerprint,
                        "source": source,
                    },
                },
            ).close()
        self.store = open_store(self.path, readonly=readonly)
        self.config = LibraryConfig.from_dict(self.store.meta["config"])
        built = self.store.meta["model"]
        if built["fingerprint"] != self.fingerprint:
            self.store.close()
            raise LibraryError(
                f"{self.path} was built with model {built['name']!r} (fingerprint "
                f"{built['fingerprint']}), but the given model {model.config.name!r} has fingerprint "
                f"{self.fingerprint}: its vectors are not comparable. Use the model the library was "
                f"built with ({built.get('source') or built['name']}), or index into a new --db."
            )

    # ---- building ----------------------------------------------------------------------

    def add(
        self,
        paths_or_dirs: Sequence[str | os.PathLike],
        *,
        progress: bool = False,
        ray: RayOptions | None = None,
        runtime: str = "torch",
    ) -> IndexReport:
        """Index folders (recursively) and files: embed new and changed files, drop deleted ones
        under the given folders; bad files are skipped and reported (and logged next to the db).

        Args:
            ray: embed on a Ray cluster's model actors instead of in this process (see
                ``distributed.py``); the actors load the model from ``source`` (the checkpoint
                folder or name this library was opened with, or else the one it was built with).
            runtime: what runs the audio encoder: ``"torch"``, ``"torch-bf16"`` or ``"onnx"``
                (here or on every actor).
        """
        self._writable()
        if isinstance(paths_or_dirs, (str, os.PathLike)):
            paths_or_dirs = [paths_or_dirs]
        log = log_path(self.path)
        if ray is None:
            return index_folders(
                self.store,
                self.model,
                paths_or_dirs,
                self.config,
                progress=progress,
                log_path=log,
                runtime=runtime,
            )
        from .distributed import index_folders_ray

        source = self.source or self.store.meta["model"].get("source")
        if not source:
            raise LibraryError(
                "indexing on Ray needs the model as a checkpoint folder or name that every node "
                "can load: open the Library with a path or name instead of a loaded model"
            )
        return index_folders_ray(
            self.store,
            source,
            self.fingerprint,
            paths_or_dirs,
            self.config,
            ray,
            progress=progress,
            log_path=log,
            runtime=runtime,
        )

    def add_vectors(
        self,
        paths: Sequence[str | os.PathLike],
        vectors: np.ndarray,
        durations: Sequence[float] | None = None,
        *,
        progress: bool = False,
    ) -> IndexReport:
        """Index files whose whole-file vectors were already computed with this library's model
        (e.g. ``embed_audio(model, paths)``, cached), without encoding them again.

        The rows are those ``add`` writes: files longer than one segment still get their
        segment rows (only those are embedded), a file already indexed is replaced, and a file
        that cannot be read is skipped and reported.

        Args:
            vectors: (len(paths), full size) unit-norm vectors, one per path.
            durations: seconds of each file; None decodes the files to measure them.

        Raises:
            LibraryError: read-only, or counts, sizes or norms that do not match (named).
        """
        self._writable()
        return index_vectors(
            self.store,
            self.model,
            paths,
            vectors,
            durations,
            self.config,
            progress=progress,
            log_path=log_path(self.path),
        )

    def remove(self, paths: Sequence[str | os.PathLike]) -> int:
        """Drop files from the index (the files themselves are not touched); returns how many."""
        self._writable()
        return self.store.remove([library_path(p) for p in paths])

    def _writable(self) -> None:
        if self.store.readonly:
            raise LibraryError(f"{self.path} is open read-only: it cannot be changed")

    # ---- searching ---------------------------------------------------------------------

    def search(self, query: str | AudioInput, k: int = 10, dim: int | None = None) -> list[Hit]:
        """The ``k`` best files for a text (``str``) or an example clip (a ``Path``, bytes,
        an array...; see ``load_audio``), with the best-matching span of each.

        Args:
            dim: shortlist size, any trained size; the full size (default) is exact search.
        """
        dim = self.model.check_dim(dim)
        if isinstance(query, str):
            vector = embed_text(self.model, [query])[0]
        else:
            vector = embed_audio(self.model, [query])[0]
        return search_vector(self.store, vector, k, dim, self._factor(dim))

    def _factor(self, dim: int) -> int:
        """Shortlist factor at ``dim``: an ANN index at that size brings its own (measured) one."""
        ann = self.store.ann()
        if ann and ann["dim"] == dim:
            return max(self.config.shortlist_factor, int(ann["factor"]))
        return self.config.shortlist_factor

    def similar(self, path: str | os.PathLike, k: int = 10, dim: int | None = None) -> list[Hit]:
        """Files that sound like ``path`` (itself left out); an indexed file is not re-embedded."""
        dim = self.model.check_dim(dim)
        resolved = library_path(path)
        vector = self.store.file_vector(resolved)
        if vector is None:
            vector = embed_audio(self.model, [Path(path)])[0]
        hits = search_vector(self.store, vector, k + 1, dim, self._factor(dim))
        return [h for h in hits if h.path != resolved][:k]

    def duplicates(
        self, threshold: float | None = None, min_signal: float | None = None
    ) -> list[list[str]]:
        """Groups of near-duplicate files (re-encoded, trimmed, renamed), each sorted by path.

        Args:
            threshold: embedding cosine that makes two files candidates.
            min_signal: aligned log-mel correlation that confirms a candidate (0: embeddings only).
        """
        return duplicate_groups(self.store, threshold, min_signal, self.config.max_seconds)

    def optimize(self, dim: int | None = None, force: bool = False) -> dict[str, Any]:
        """Build the ANN index of a LanceDB library (or fold new rows into it), so searches at
        its size answer in milliseconds at 1M rows (docs/library.md, "Which store when").

        Args:
            dim: the shortlist size to index (default: the largest below full size).
            force: build even below 50,000 rows, and retrain even if the library has not
                doubled since the last build.

        Returns:
            The index settings, with ``action``: ``built``, ``refreshed`` or ``skipped``
            (a small library: flat search is as fast).

        Raises:
            LibraryError: a sqlite-vec library (it has no ANN index), or read-only.
        """
        from .lance_ann import optimize
        from .lance_store import LanceStore

        self._writable()
        if not isinstance(self.store, LanceStore):
            raise LibraryError(
                f"{self.path} is a sqlite-vec library, which searches by brute force and has no "
                "ANN index; index into a LanceDB library (--db NAME.lance or a URI) for one"
            )
        return optimize(self.store, dim, force)

    # ---- reporting ---------------------------------------------------------------------

    def stats(self, recall: bool = False) -> dict[str, Any]:
        """Files, hours, rows, bytes on disk (total and per row), the model, and with ``recall``
        the measured recall@10 of every shortlist size and quantisation on this library."""
        counts = self.store.counts()
        disk = self.store.disk_bytes()
        out: dict[str, Any] = {
            **counts,
            "disk_bytes": disk,
            "disk_bytes_per_row": disk / counts["rows"] if counts["rows"] else 0.0,
            "vector_bytes": self.store.vector_bytes(),
            "model": self.store.meta["model"],
            "sizes": list(self.store.dims),
            "config": self.config.to_dict(),
            "ann": self.store.ann(),  # LanceDB's ANN index settings, if one was built
        }
        if recall and counts["rows"] > 1:
            vectors = self.store.sample_vectors(RECALL_SAMPLE)
            queries = vectors[:: max(1, len(vectors) // RECALL_QUERIES)][:RECALL_QUERIES]
            out["recall_at_10"] = measure_recall(
                vectors,
                queries,
                self.store.dims,
                10,
                self.config.shortlist_factor,
                exclude_self=True,
            )
            out["recall_rows"] = len(vectors)
        return out

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
