"""The bundled gallery: manifest, clip paths and embeddings cached per model fingerprint."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wavlink_core.runtime import cache_dir

log = logging.getLogger("wavlink.demo")
GALLERY_DIR = Path(__file__).resolve().parents[1] / "assets" / "gallery"


@dataclass(frozen=True)
class Gallery:
    paths: tuple[str, ...]
    names: tuple[str, ...]
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    captions: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)


def load_gallery(folder: str | Path = GALLERY_DIR, limit: int | None = None) -> Gallery:
    folder = Path(folder)
    with open(folder / "gallery.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    return Gallery(
        paths=tuple(str(folder / r["file"]) for r in rows),
        names=tuple(r["file"].rsplit(".", 1)[0] for r in rows),
        labels=tuple(r["label"] for r in rows),
        categories=tuple(r["category"] for r in rows),
        captions=tuple(r["caption"] for r in rows),
    )


def model_fingerprint(model) -> str:
    """Hash of the config and every weight: a new or retrained model gets a new cache entry."""
    h = hashlib.sha1(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def gallery_embeddings(model, gallery: Gallery) -> np.ndarray:
    """(N, D) full-size unit-norm audio embeddings, computed once per (model, gallery) and cached on disk."""
    from wavlink_core import embed_audio

    key = hashlib.sha1(
        (model_fingerprint(model) + "|" + "|".join(gallery.paths)).encode()
    ).hexdigest()[:16]
    path = cache_dir() / f"gallery-{key}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape == (len(gallery), model.config.embed_dim):
            return emb
    log.info("embedding %d gallery clips (cached afterwards in %s)", len(gallery), path)
    emb = embed_audio(model, list(gallery.paths), batch_size=16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, emb)
        os.replace(tmp, path)
    except OSError as e:  # a read-only home still runs, just without the cache
        log.warning("cannot cache gallery embeddings: %s", e)
    return emb


def pick(gallery: Gallery, labels: tuple[str, ...], at_least: int = 2) -> list[int]:
    """Indices of the first clip of each wanted label present in ``gallery`` (for examples); when
    fewer than ``at_least`` are present, evenly spaced clips instead."""
    first = {lab: i for i, lab in reversed(list(enumerate(gallery.labels)))}
    found = [first[lab] for lab in labels if lab in first]
    if len(found) >= at_least or not len(gallery):
        return found
    return list(range(0, len(gallery), max(1, len(gallery) // len(labels))))[: len(labels)]
