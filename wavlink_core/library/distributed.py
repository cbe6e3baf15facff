"""Indexing beyond one machine: the embedding runs as a Ray Data job, the writing stays here.

The driver (this process) plans the run exactly as the local indexer does (walk, compare with the
store's ``file_states``, drop deleted files), turns the files to embed into a Ray Dataset of
``(path, size, mtime_ns)`` and runs ``map_batches`` over a pool of model actors. Each actor loads
the model once, from its checkpoint folder or name (never a pickled model), and calls the same
:func:`~wavlink_core.library.indexer.embed_files` as the local indexer, so both give the same
index. Bad files come back as rows with their reason. The driver streams the results and commits
each batch with ``Store.write_batch``, so a killed job resumes like a local run: committed files
are skipped.

Every node must read the audio at the same absolute path (a shared mount); only the driver opens
the store. Ray is imported only here, and only when a run asks for it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .config import LibraryConfig
from .indexer import (
    BadFile,
    IndexReport,
    commit_batch,
    embed_files,
    finish_run,
    plan_run,
    progress_bar,
)
from .scan import FoundFile
from .store import IndexedFile, LibraryError, Store

ACTOR_START_TIMEOUT_S = 600  # time for the pool to start (a node may pull the model first)


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a distributed indexing run goes.

    Attributes:
        address: ``None`` starts a Ray cluster on this machine for the run; ``"auto"`` joins the
            cluster this machine is part of (``ray start``); ``"ray://host:10001"`` connects
            through Ray Client; ``"host:6379"`` is a cluster's GCS address.
        workers: model actors (each loads the model once and embeds batches of files).
        cpus_per_worker: CPUs Ray reserves for each actor (also its torch thread count).
        gpus_per_worker: GPUs per actor; above 0 the actors embed on ``cuda``.
    """

    address: str | None = None
    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers={self.workers!r}: need at least 1 model actor")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise ConfigError(
                f"cpus_per_worker={self.cpus_per_worker!r}, gpus_per_worker="
                f"{self.gpus_per_worker!r}: need cpus > 0 and gpus >= 0"
            )


def index_folders_ray(
    store: Store,
    model_source: str,
    fingerprint: str,
    roots: Sequence[str | os.PathLike],
    config: LibraryConfig,
    options: RayOptions,
    *,
    progress: bool = True,
    log_path: Path | None = None,
    runtime: str = "torch",
) -> IndexReport:
    """Like :func:`~wavlink_core.library.indexer.index_folders`, with the embedding on Ray actors.

    Args:
        model_source: checkpoint folder (readable at this path on every node) or model name that
            each actor loads.
        fingerprint: the library's model fingerprint; an actor that loads other weights stops
            the run instead of writing vectors that cannot be compared.
        runtime: what runs the audio encoder on every actor (:mod:`wavlink_core.runtime`).

    Returns:
        The run's report; ``files_per_worker`` counts the files embedded on each Ray node, and
        ``decode_s``/``embed_s`` add up the actors' time.
    """
    t0 = time.perf_counter()
    report = IndexReport()
    todo = plan_run(store, roots, report)
    if todo:
        with _ray_session(options.address), progress_bar(todo, progress) as bar:
            for batch in _embedded(todo, model_source, fingerprint, config, options, runtime):
                done, bad = _from_columns(batch)
                commit_batch(store, done, bad, report, bar)
                report.decode_s += float(batch["decode_s"].sum())
                report.embed_s += float(batch["embed_s"].sum())
                for node in batch["node"]:
                    report.files_per_worker[node] = report.files_per_worker.get(node, 0) + 1
    finish_run(report, t0, log_path)
    return report


@contextlib.contextmanager
def _ray_session(address: str | None) -> Iterator[None]:
    """Connect to (or start) Ray for the run, unless the caller already did."""
    import ray

    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except ConnectionError as exc:
        raise LibraryError(
            f"--ray {address}: no Ray cluster to join ({exc}). Start one with `ray start --head` "
            f"(and `ray start --address=HEAD:6379` on the other nodes), or give --ray without an "
            f"address to start one on this machine for the run"
        ) from exc
    try:
        yield
    finally:
        ray.shutdown()


def _embedded(
    todo: list[FoundFile],
    model_source: str,
    fingerprint: str,
    config: LibraryConfig,
    options: RayOptions,
    runtime: str,
) -> Iterator[dict[str, np.ndarray]]:
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver's bar over files is the one to watch
    # Start every actor before handing out files: otherwise the first one up takes the queue,
    # and a cluster too small for the pool fails with Ray's message instead of waiting forever.
    context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
    # One input block per committed batch, so the actors share the work batch by batch.
    blocks = -(-len(todo) // config.batch_files)
    files = ray.data.from_items(
        [{"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns} for f in todo],
        override_num_blocks=blocks,
    )
    embedded = files.map_batches(
        _Embedder,
        fn_constructor_kwargs={
            "source": model_source,
            "fingerprint": fingerprint,
            "config": config.to_dict(),
            "device": "cuda" if options.gpus_per_worker > 0 else "cpu",
            "runtime": runtime,
        },
        batch_size=config.batch_files,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=options.workers),
        num_cpus=options.cpus_per_worker,
        num_gpus=options.gpus_per_worker or None,
    )
    yield from embedded.iter_batches(batch_size=config.batch_files, batch_format="numpy")


class _Embedder:
    """A Ray Data actor: loads the model once, then embeds batches of files."""

    def __init__(
        self,
        source: str,
        fingerprint: str,
        config: dict[str, Any],
        device: str,
        runtime: str = "torch",
    ):
        import ray

        from ..runtime import audio_encoder

        from ..checkpoint import load_pretrained
        from .library import model_fingerprint

        self.node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
        self.model = load_pretrained(source, device=device).eval()
        found = model_fingerprint(self.model)
        if found != fingerprint:
            raise LibraryError(
                f"model {source!r} on Ray node {self.node} has fingerprint {found}, but the "
                f"library's model has {fingerprint}: give every node the same checkpoint at the "
                f"same path"
            )
        self.config = LibraryConfig.from_dict(config)
        self.encoder = audio_encoder(self.model, runtime)

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        files = [
            FoundFile(str(p), int(s), int(m))
            for p, s, m in zip(batch["path"], batch["size"], batch["mtime_ns"])
        ]
        timing = IndexReport()
        for done, bad in embed_files(self.model, files, self.config, timing, self.encoder):
            yield _to_columns(done, bad, timing, self.node)
            timing = IndexReport()


def _to_columns(
    done: list[IndexedFile], bad: list[BadFile], timing: IndexReport, node: str
) -> dict[str, np.ndarray]:
    """One row per file; spans and vectors travel as raw float64/float32 bytes (exact)."""
    n = len(done) + len(bad)

    def column(ok: list[Any], failed: list[Any], dtype: Any = object) -> np.ndarray:
        return np.array(ok + failed, dtype=dtype)

    return {
        "path": column([f.path for f in done], [b[0] for b in bad]),
        "size": column([f.size for f in done], [b[1] for b in bad], np.int64),
        "mtime_ns": column([f.mtime_ns for f in done], [b[2] for b in bad], np.int64),
        "status": column(["ok"] * len(done), ["bad"] * len(bad)),
        "reason": column([""] * len(done), [b[3] for b in bad]),
        "sha256": column([f.sha256 for f in done], [""] * len(bad)),
        "duration": column([f.duration for f in done], [0.0] * len(bad), np.float64),
        "spans": column(
            [np.asarray(f.spans, np.float64).tobytes() for f in done], [b""] * len(bad)
        ),
        "vectors": column(
            [np.ascontiguousarray(f.vectors, np.float32).tobytes() for f in done],
            [b""] * len(bad),
        ),
        "node": np.array([node] * n, dtype=object),
        # The batch's seconds, spread over its files so that any regrouping still adds up.
        "decode_s": np.full(n, timing.decode_s / n),
        "embed_s": np.full(n, timing.embed_s / n),
    }


def _from_columns(batch: dict[str, np.ndarray]) -> tuple[list[IndexedFile], list[BadFile]]:
    done: list[IndexedFile] = []
    bad: list[BadFile] = []
    for i, path in enumerate(batch["path"]):
        size, mtime_ns = int(batch["size"][i]), int(batch["mtime_ns"][i])
        if batch["status"][i] == "bad":
            bad.append((str(path), size, mtime_ns, str(batch["reason"][i])))
            continue
        spans = np.frombuffer(batch["spans"][i], np.float64).reshape(-1, 2)
        vectors = np.frombuffer(batch["vectors"][i], np.float32).copy()  # writable, like local
        done.append(
            IndexedFile(
                path=str(path),
                size=size,
                mtime_ns=mtime_ns,
                sha256=str(batch["sha256"][i]),
                duration=float(batch["duration"][i]),
                spans=[(float(s), float(e)) for s, e in spans],
                vectors=vectors.reshape(len(spans), -1),
            )
        )
    return done, bad
