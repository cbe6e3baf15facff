"""Shared, read-only-after-start model services for the tabs: embeddings with caches, maps, scores.

Caches are process-wide memos of pure functions (same input → same output), guarded by locks; nothing
per user lives here (that is in each tab's gr.State).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from wavlink_core import AudioError, embed_audio, embed_text, load_audio_with_info
from wavlink_core.checkpoint import audio_origin
from wavlink_core.features import CHUNK_SECONDS
from wavlink_core.inference import windows
from wavlink_core.matryoshka import truncate_np

from . import views
from .gallery import Gallery, gallery_embeddings

log = logging.getLogger("wavlink.demo")
WINDOW_S = float(CHUNK_SECONDS)  # one Whisper window: longer clips are averaged over windows
MAX_CLIP_S = 120.0  # at most 4 windows (~1-2 s on a 2-core CPU); longer uploads use the first 120 s
HARD_MAX_S = 600.0  # the core's refusal limit (the upload size limit usually bites first)
# Labels, captions or queries in one request. A Classify with 1,000 new labels took 17-37 s on the
# shared 2-core machine (scripts/bench_soak.py, docs/benchmarks.md), about the most a person waits.
MAX_TEXTS = 1000
TEXT_CACHE = 4 * MAX_TEXTS
# A session's own clips and captions (gr.State) are dropped this long after their last change, so
# API clients that never close a browser tab do not hold memory for ever.
STATE_TTL_S = 2 * 3600
METHODS = ("PCA", "UMAP", "t-SNE")


@dataclass(frozen=True)
class Clip:
    emb: np.ndarray  # (D,) full size, unit norm
    info: str  # "48 kHz stereo 12.4 s → 16 kHz mono"
    warning: str | None  # set when the clip was shortened


class _LRU:
    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


class Engine:
    def __init__(self, model, gallery: Gallery, model_dir: str | Path | None = None):
        self.model = model
        self.gallery = gallery
        self.model_dir = Path(model_dir) if model_dir else None
        self.dims = tuple(sorted(model.matryoshka_dims, reverse=True))
        self.full = self.dims[0]
        self.trained = model.is_trained
        self.backbone = views.backbone_label(audio_origin(model), model.training_info)
        self.gallery_emb = (
            gallery_embeddings(model, gallery)
            if len(gallery)
            else np.zeros((0, self.full), np.float32)
        )
        self._audio = _LRU(128)
        self._text = _LRU(TEXT_CACHE)
        self._maps: dict = {}
        self._map_lock = threading.Lock()
        self._gallery_index = {
            hashlib.sha1(Path(p).read_bytes()).hexdigest(): i for i, p in enumerate(gallery.paths)
        }

    # ---- embeddings -------------------------------------------------------------------------
    def clip(self, path: str | None) -> Clip:
        if not path:
            raise AudioError("no audio given: upload a file or record from the microphone")
        if not Path(path).is_file():  # an upload the cache cleaning has removed since
            raise AudioError(f"{Path(path).name}: no longer on the server")
        data = Path(path).read_bytes()
        if not data:
            raise AudioError(f"{Path(path).name}: the file is empty (0 bytes)")
        key = hashlib.sha1(data).hexdigest()
        hit = self._audio.get(key)
        if hit is not None:
            return hit
        wave, info = load_audio_with_info(path, max_seconds=HARD_MAX_S, name=Path(path).name)
        warning, used = None, len(wave) / 16000
        if used > MAX_CLIP_S:
            warning = f"{Path(path).name} is {used:.1f} s long; only the first {MAX_CLIP_S:.0f} s are used"
            wave, used = wave[: int(MAX_CLIP_S * 16000)], MAX_CLIP_S
        text = views.clip_info(info.describe(), used, info.duration_s if warning else None)
        if used > WINDOW_S:
            text += f"; averaged over {len(windows(wave))} windows of {WINDOW_S:.0f} s"
        if key in self._gallery_index:
            emb = self.gallery_emb[self._gallery_index[key]]
        else:
            emb = embed_audio(self.model, wave, sampling_rate=16000)[0]
        clip = Clip(emb, text, warning)
        self._audio.put(key, clip)
        return clip

    def texts(self, texts: list[str]) -> np.ndarray:
        """(N, D) full-size text embeddings, memoised per string; at most MAX_TEXTS distinct."""
        unique = list(dict.fromkeys(texts))
        if len(unique) > MAX_TEXTS:
            raise ValueError(
                f"{len(unique):,} different labels or captions in one request; the demo takes at "
                f"most {MAX_TEXTS:,}. Remove some, or use the Python API or the CLI for more."
            )
        # Stacked from this request's own dict: the shared cache may evict under concurrent users.
        found = {t: self._text.get(t) for t in unique}
        missing = [t for t, e in found.items() if e is None]
        if missing:
            for t, e in zip(missing, embed_text(self.model, missing), strict=True):
                found[t] = e
                self._text.put(t, e)
        return np.stack([found[t] for t in texts])

    def scores(
        self, audio_full: np.ndarray, prompts: list[str], dim: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine and softmax (at the model's learned temperature) of one clip against prompts."""
        dim = self.model.check_dim(dim)
        a = truncate_np(audio_full[None], dim)
        t = truncate_np(self.texts(prompts), dim)
        cos = (a @ t.T)[0]
        logits = float(self.model.scale().detach()) * cos
        probs = np.exp(logits - logits.max())
        return cos, probs / probs.sum()

    # ---- maps -------------------------------------------------------------------------------
    def _fit(self, method: str, dim: int):
        """(placer, gallery coords) for a method and size, fitted once on the gallery and memoised."""
        key = (method, dim)
        with self._map_lock:
            if key in self._maps:
                return self._maps[key]
        # One BLAS/OpenMP thread: on a busy 2-core box, t-SNE's spinning threads are 10× slower than one.
        with threadpool_limits(1):
            out = self._fit_now(method, truncate_np(self.gallery_emb, dim))
        with self._map_lock:
            self._maps[key] = out
        return out

    @staticmethod
    def _fit_now(method: str, x: np.ndarray):
        if method == "PCA":
            from sklearn.decomposition import PCA

            red = PCA(n_components=2, random_state=0).fit(x)
            coords, placer = red.transform(x), red.transform
        elif method == "UMAP":
            import umap

            red = umap.UMAP(
                n_components=2,
                n_neighbors=min(15, len(x) - 1),
                random_state=42,
                metric="cosine",
                n_jobs=1,
                transform_seed=42,
            )
            coords = red.fit_transform(x)
            placer = red.transform
        elif method == "t-SNE":
            from sklearn.manifold import TSNE

            coords = TSNE(
                n_components=2,
                perplexity=min(30.0, (len(x) - 1) / 3),
                random_state=0,
                init="pca",
                max_iter=500,
                metric="cosine",
            ).fit_transform(x)

            def placer(
                new, x=x, coords=coords
            ):  # t-SNE has no transform: mean of the 5 nearest gallery points
                sims = new @ x.T
                idx = np.argsort(-sims, axis=1)[:, :5]
                w = np.maximum(np.take_along_axis(sims, idx, 1), 1e-3)
                return (coords[idx] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
        else:
            raise ValueError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
        return placer, np.asarray(coords, dtype=np.float64)

    def layout(self, method: str, dim: int, extra_full: np.ndarray) -> np.ndarray:
        """2-D coords of gallery + extra points at ``dim``; sizes below full are Procrustes-aligned to the
        full-size layout (fitted on the gallery), so the two maps read the same way round."""
        placer, base = self._fit(method, dim)
        pts = base
        if len(extra_full):
            pts = np.vstack([base, placer(truncate_np(extra_full, dim))])
        if dim != self.full:
            _, full_base = self._fit(method, self.full)
            _, r, s, t = views.procrustes_align(base, full_base)
            pts = views.apply_procrustes(pts, r, s, t)
        return pts

    def warm(self) -> threading.Thread:
        """Compile UMAP's numba code (and fit the default maps) in the background at start-up."""

        def run():
            try:
                for method in ("UMAP", "PCA"):
                    for d in (self.full, self.dims[-1]):
                        self._fit(method, d)
                log.info("map warm-up done")
            except Exception:  # noqa: BLE001 - warm-up is best effort
                log.exception("map warm-up failed")

        th = threading.Thread(target=run, name="umap-warmup", daemon=True)
        th.start()
        return th
