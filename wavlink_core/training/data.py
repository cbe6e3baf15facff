"""Manifest dataset, sampler, collate and the frozen-tower feature cache.

Manifest: the corpus builder's JSONL (``wavlink_core/corpus/build.py``), one clip per line with at
least ``path`` (relative to the corpus dir), ``duration``, ``captions`` (list), ``category``,
``subset``, ``split`` (train/val/test), ``synthetic``, ``group_id`` and ``source_package``.

Sampling is stateless: the sampler yields ``(row, epoch, draw)`` keys and every random choice (the
caption of the epoch, the crop offset, the order, the synthetic draws) comes from a generator
seeded by ``(seed, epoch, ...)``. So a run is reproducible, a resumed run sees exactly the batches
the uninterrupted one would have, and data-loader workers need no RNG plumbing.

Feature cache: a frozen tower is a fixed function, so its pooled output is computed once per clip
(audio: the first ``clip_seconds``, like validation) or once per distinct caption (text) and the
heads train on the cached rows. The text cache applies whenever the text tower is frozen
(``projector`` regime, or ``scope=audio``) and is exact. The audio cache applies only when the
whole audio tower is frozen, global token included (``projector`` + ``train_global_token=false``,
or mean pooling), and then also fixes the crop (no random crop).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..audio import SAMPLE_RATE
from ..data.sources import read_wave
from ..errors import AudioError, ConfigError
from ..features import batch_log_mel
from .config import TrainConfig

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("path", "duration", "captions", "split")


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def caption_hash(text: str) -> int:
    """A stable 63-bit id of a caption (equal on every rank, so gathered group ids agree)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


# ----------------------------------------------------------------------------------------------
# manifest
# ----------------------------------------------------------------------------------------------
def read_manifest(cfg: TrainConfig) -> tuple[Path, list[dict]]:
    """All rows of the manifest, with a clear error for a missing corpus or a bad line."""
    if not cfg.corpus:
        raise ConfigError(
            "corpus is not set: pass --corpus=DIR (a built corpus with manifest.jsonl)"
        )
    corpus = Path(cfg.corpus)
    path = Path(cfg.manifest)
    path = path if path.is_absolute() else corpus / path
    if not path.is_file():
        raise ConfigError(
            f"manifest {path} not found (build the corpus first: python -m wavlink_core.corpus)"
        )
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not JSON: {exc}") from exc
        missing = [k for k in REQUIRED_FIELDS if k not in row]
        if missing or not row["captions"]:
            raise ConfigError(f"{path}:{n}: missing {missing or ['captions (empty)']}")
        rows.append(row)
    return corpus, rows


def select(rows: list[dict], cfg: TrainConfig, split: str) -> list[dict]:
    """Rows of ``split`` that pass the stage filters (subsets, categories, packages, curated)."""
    subsets = set(cfg.effective_subsets)
    cats = set(cfg.categories)
    out = []
    for row in rows:
        if row.get("split") != split:
            continue
        if subsets and row.get("subset") not in subsets:
            continue
        if cats and row.get("category") not in cats:
            continue
        if row.get("source_package") in cfg.exclude_packages:
            continue
        if cfg.curated and row.get("synthetic", False):
            continue
        if split == "train" and cfg.synthetic_weight == 0 and row.get("synthetic", False):
            continue
        if row.get("duration") is not None and float(row["duration"]) < cfg.min_seconds:
            continue
        out.append(row)
    limit = cfg.max_clips if split == "train" else cfg.val_max_clips
    if limit is not None and len(out) > limit:
        keep = sorted(
            _rng(cfg.seed, 7 if split == "train" else 8).choice(len(out), limit, replace=False)
        )
        out = [out[i] for i in keep]
    return out


@dataclass
class Splits:
    corpus: Path
    train: list[dict]
    val: list[dict]
    captions: list[str]  # every distinct caption of train + val, in a fixed order
    caption_index: dict[str, int]

    def sizes(self) -> dict[str, Any]:
        syn = sum(bool(r.get("synthetic")) for r in self.train)
        known = [float(r["duration"]) for r in self.train if r.get("duration") is not None]
        out = {
            "train_clips": len(self.train),
            "train_synthetic_clips": syn,
            "val_clips": len(self.val),
            # durations are known for corpus rows; other sources are not probed up front
            "train_hours": round(sum(known) / 3600, 3) if len(known) == len(self.train) else None,
            "captions": len(self.captions),
        }
        sources = {r.get("source", 0) for r in self.train}
        if len(sources) > 1:
            out["train_clips_per_source"] = [
                sum(r.get("source", 0) == s for r in self.train) for s in sorted(sources)
            ]
        return out


def source_rows(cfg: TrainConfig, sources: list, *, val: bool = False) -> tuple[Path, list[dict]]:
    """Rows of map-style ``sources`` (``wavlink_core.data.sources``) and the folder relative
    paths are joined to (the first source when it is a corpus; others' paths are absolute)."""
    from ..data.sources import holdout, load_rows

    rows: list[dict] = []
    for i, src in enumerate(sources):
        got = load_rows(src, i, cfg)
        if not val and len(got) < cfg.min_clips:
            raise ConfigError(
                f"data source {src.spec} ({src.kind}) holds {len(got)} clips; at least "
                f"min_clips={cfg.min_clips} are needed to train (add clips, or lower --min_clips)"
            )
        for row in got:
            if val:
                row["split"] = "val"
        rows += got
    if not val and not cfg.val_data:
        holdout(rows, cfg.val_fraction, cfg.seed)
    elif not val:
        for row in rows:
            row.setdefault("split", "train")
    root = Path(sources[0].spec) if sources and sources[0].kind == "corpus" else Path("/")
    return root, rows


def load_splits(cfg: TrainConfig, sources: list | None = None) -> Splits:
    """Train and val rows of the map-style sources (default: ``--corpus``/``--data``)."""
    from ..data.sources import parse_sources

    sources = (
        sources if sources is not None else parse_sources(cfg.data, cfg.data_weights, cfg.corpus)
    )
    corpus, rows = source_rows(cfg, sources)
    if cfg.val_data:
        rows += source_rows(cfg, parse_sources(cfg.val_data, (), ""), val=True)[1]
    train, val = select(rows, cfg, "train"), select(rows, cfg, "val")
    if not train:
        raise ConfigError(
            f"no training clips left after the filters (subsets={cfg.effective_subsets}, "
            f"categories={cfg.categories}, curated={cfg.curated}) in "
            f"{[s.spec for s in sources]}"
        )
    captions = sorted({c for r in train + val for c in r["captions"]})
    return Splits(corpus, train, val, captions, {c: i for i, c in enumerate(captions)})


# ----------------------------------------------------------------------------------------------
# dataset + sampler
# ----------------------------------------------------------------------------------------------
class EpochSampler(Sampler):
    """Yields ``(row, epoch, draw)`` keys: every real clip once per epoch, synthetic clips
    ``synthetic_weight`` times on average (a fixed count per epoch, so the epoch length and
    hence the schedule are known up front), shuffled by ``(seed, epoch)``. ``shuffle=False`` (val)
    gives each row once, in order."""

    def __init__(
        self,
        rows: list[dict],
        *,
        seed: int,
        synthetic_weight: float = 1.0,
        shuffle: bool = True,
        source_weights: tuple[float, ...] = (),
    ):
        self.seed, self.shuffle = seed, shuffle
        self.n_rows = len(rows)
        # A row's weight is its source's (--data_weights) times synthetic_weight if synthetic.
        # Real rows of weight 1 appear exactly once; every other (weight, synthetic) group gets
        # round(weight * size) draws, whole passes first then a seeded part of one more.
        groups: dict[tuple[float, bool], list[int]] = {}
        for i, r in enumerate(rows):
            w = source_weights[r.get("source", 0)] if source_weights else 1.0
            syn = bool(r.get("synthetic", False))
            groups.setdefault((w * (synthetic_weight if syn else 1.0), syn), []).append(i)
        self.real = groups.pop((1.0, False), [])
        self.drawn = [
            (idx, round(w * len(idx)) if shuffle else len(idx))
            for (w, _), idx in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.real) + sum(n for _, n in self.drawn)

    def __iter__(self):
        if not self.shuffle:
            for i in range(self.n_rows):
                yield (i, 0, 0)
            return
        rng = _rng(self.seed, 1, self.epoch)
        keys = [(i, 0) for i in self.real]
        for idx, n in self.drawn:
            if not n:
                continue
            reps = math.ceil(n / len(idx))
            draws = [(idx[j], r) for r in range(reps) for j in rng.permutation(len(idx))]
            keys += draws[:n]
        for k in rng.permutation(len(keys)):
            i, draw = keys[k]
            yield (i, self.epoch, draw)


class ClipDataset(Dataset):
    """``key=(row, epoch, draw)`` -> dict(clip, caption, caption_id[, wave]).

    Training picks one caption per clip per epoch and a random ``clip_seconds`` window (both
    seeded by the key); validation uses the first caption and the first ``clip_seconds``.
    ``with_audio=False`` skips decoding (the audio features come from the cache).
    """

    def __init__(
        self,
        rows: list[dict],
        splits: Splits,
        cfg: TrainConfig,
        *,
        train: bool,
        with_audio: bool = True,
    ):
        self.rows, self.corpus = rows, splits.corpus
        self.caption_index = splits.caption_index
        self.seed, self.train, self.with_audio = cfg.seed, train, with_audio
        self.random_crop = train and cfg.random_crop
        self.crop = int(round(cfg.clip_seconds * SAMPLE_RATE))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> dict[str, Any]:
        i, epoch, draw = key if isinstance(key, tuple) else (key, 0, 0)
        if not (self.train and self.with_audio):
            return self._item(i, epoch, draw)  # validation and caches: a bad file stops the run
        # Training: an undecodable file gives way to the next clip of the list (with that clip's
        # own caption), so one bad file never sinks a batch; the batch keeps its size.
        for step in range(len(self.rows)):
            try:
                return self._item((i + step) % len(self.rows), epoch, draw)
            except AudioError as exc:
                log.warning("%s; training on the next clip in its place", exc)
        raise ConfigError(f"none of the {len(self.rows)} training clips can be decoded")

    def _item(self, i: int, epoch: int, draw: int) -> dict[str, Any]:
        row = self.rows[i]
        rng = _rng(self.seed, 2, epoch, i, draw)
        caps = row["captions"]
        caption = caps[int(rng.integers(len(caps)))] if self.train else caps[0]
        item = {
            "clip": i,
            "caption": caption,
            "caption_id": self.caption_index[caption],
            "key": row["path"],
        }
        if self.with_audio:
            wave = read_wave(row, self.corpus)
            if wave.shape[0] > self.crop:
                start = int(rng.integers(wave.shape[0] - self.crop + 1)) if self.random_crop else 0
                wave = wave[start : start + self.crop]
            item["wave"] = wave
        return item


class Collator:
    """List of items -> batch: log-mel + frame counts (if audio), tokens (if text runs), ids."""

    def __init__(
        self, tokenizer, *, n_mels: int, max_tokens: int, with_audio: bool, with_text: bool
    ):
        self.tokenizer, self.n_mels, self.max_tokens = tokenizer, n_mels, max_tokens
        self.with_audio, self.with_text = with_audio, with_text

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        captions = [it["caption"] for it in items]
        batch = {
            "clip": torch.tensor([it["clip"] for it in items], dtype=torch.long),
            "caption_id": torch.tensor([it["caption_id"] for it in items], dtype=torch.long),
            "group_id": torch.tensor([caption_hash(c) for c in captions], dtype=torch.long),
            "keys": [it.get("key", "") for it in items],
        }
        if self.with_audio:
            mel, frames = batch_log_mel([it["wave"] for it in items], self.n_mels)
            batch["mel"], batch["frames"] = mel, torch.tensor(frames, dtype=torch.long)
        if self.with_text:
            tok = self.tokenizer(
                captions,
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            batch["input_ids"], batch["attention_mask"] = tok["input_ids"], tok["attention_mask"]
        return batch


# ----------------------------------------------------------------------------------------------
# frozen-tower feature cache
# ----------------------------------------------------------------------------------------------
def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _weights_fingerprint(module: torch.nn.Module) -> str:
    from ..checkpoint import fingerprint

    return fingerprint({k: v for k, v in module.state_dict().items()})


@torch.no_grad()
def text_features(
    model,
    captions: list[str],
    cache_dir: Path | None,
    *,
    batch_size: int = 256,
    progress: bool = False,
) -> torch.Tensor:
    """Pooled (pre-projection) text features (N, W) of ``captions`` through the frozen text tower."""
    from tqdm.auto import tqdm

    key = _key("text", _weights_fingerprint(model.text), captions, model.config.text.max_tokens)
    path = cache_dir / f"text-{key}.pt" if cache_dir else None
    if path is not None and path.is_file():
        return torch.load(path, weights_only=True)
    device = model.device
    was = model.text.training
    model.text.eval()
    out = []
    for s in tqdm(range(0, len(captions), batch_size), desc="cache text", disable=not progress):
        tok = model.text.tokenize(captions[s : s + batch_size], device)
        out.append(model.text(tok["input_ids"], tok["attention_mask"]).float().cpu())
    model.text.train(was)
    feats = torch.cat(out) if out else torch.zeros(0, model.text.width)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(feats, path)
    return feats


@torch.no_grad()
def audio_features(
    model,
    rows: list[dict],
    corpus: Path,
    cfg: TrainConfig,
    cache_dir: Path | None,
    *,
    batch_size: int = 16,
    num_workers: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Pooled audio features (N, W) of the first ``clip_seconds`` of each row (frozen tower).

    The cache holds one row per clip path (for these weights, crop length and audio config), so
    runs that share ``cache_dir`` but select different clips (subset or scene ablations) only
    encode the clips they have not seen yet.
    """
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    key = _key(
        "audio-per-clip",
        _weights_fingerprint(model.audio),
        cfg.clip_seconds,
        model.config.to_dict()["audio"],
    )
    path = cache_dir / f"audio-{key}.pt" if cache_dir else None
    known: dict[str, torch.Tensor] = {}
    if path is not None and path.is_file():
        stored = torch.load(path, weights_only=True)
        known = dict(zip(stored["paths"], stored["features"], strict=True))
    todo = [r for r in rows if r["path"] not in known]
    if todo:
        dummy = Splits(corpus, todo, [], [], {c: 0 for r in todo for c in r["captions"]})
        ds = ClipDataset(todo, dummy, cfg, train=False)
        collate = Collator(
            None, n_mels=model.config.audio.n_mels, max_tokens=0, with_audio=True, with_text=False
        )
        loader = DataLoader(
            ds,
            batch_size=batch_size,
            sampler=EpochSampler(todo, seed=0, shuffle=False),
            collate_fn=collate,
            num_workers=num_workers,
        )
        was = model.audio.training
        model.audio.eval()
        out = []
        for batch in tqdm(loader, desc="cache audio", disable=not progress):
            out.append(
                model.audio(batch["mel"].to(model.device), batch["frames"].to(model.device))
                .float()
                .cpu()
            )
        model.audio.train(was)
        known.update(zip((r["path"] for r in todo), torch.cat(out), strict=True))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            paths = sorted(known)
            tmp = path.with_suffix(".tmp")
            torch.save({"paths": paths, "features": torch.stack([known[k] for k in paths])}, tmp)
            tmp.replace(path)  # a crash mid-write never leaves a truncated cache behind
    if not rows:
        return torch.zeros(0, model.audio.width)
    return torch.stack([known[r["path"]] for r in rows])
