"""Corpus manifest -> (audio, decoder target) examples, the domain-mix sampler and the collator.

Domains (``AdaptConfig``): ``speech`` = the speech subset, target = the clip's ``transcript``
(clips without one, in a language outside ``speech_languages``, or longer than ``clip_seconds``
are dropped: a cut clip no longer matches its transcript); ``sound`` / ``music`` = the configured
subsets, target = one of the clip's ``captions`` (a seeded pick per draw; validation uses the
first). Targets longer than ``max_target_tokens`` decoder positions are discarded, as the paper
discards captions over 448 tokens. Training reads the ``train`` split only; validation ``val``;
the WER check ``test``.

Sampling (:class:`MixSampler`): every draw first picks a domain by the mix weights, then the next
clip of that domain's seeded shuffle (a new shuffle each time the domain's pool runs out). An epoch
is as many draws as there are training examples, so a domain whose weight exceeds its share of the
corpus repeats clips within an epoch and the others are subsampled. Keys are ``(example, epoch,
draw)`` and every random choice is seeded from them, as in ``wavlink_core.training.data``, so runs
are reproducible and a resumed run sees the batches the uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..audio import SAMPLE_RATE, load_audio
from ..errors import ConfigError
from ..features import batch_log_mel
from ..training.data import _rng, read_manifest
from .config import ALL_LANGUAGES, DOMAINS, AdaptConfig
from .seq2seq import IGNORE, Prompts, language_code

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One clip with its decoder prompt and acceptable targets (token ids end with <|endoftext|>)."""

    path: str  # relative to the corpus dir
    domain: str
    prompt: tuple[int, ...]
    targets: tuple[tuple[int, ...], ...]
    texts: tuple[str, ...]
    language: str | None = None


@dataclass
class AdaptData:
    corpus: Path
    manifest: Path
    train: list[Example]
    val: list[Example]
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> clips or captions

    def pools(self) -> dict[str, list[int]]:
        """Domain -> indices into ``train``."""
        out: dict[str, list[int]] = {d: [] for d in DOMAINS}
        for i, ex in enumerate(self.train):
            out[ex.domain].append(i)
        return out

    def sizes(self) -> dict[str, Any]:
        return {
            "train": dict(Counter(ex.domain for ex in self.train)),
            "val": dict(Counter(ex.domain for ex in self.val)),
            "dropped": dict(self.dropped),
        }


def manifest_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def domain_of(row: dict, cfg: AdaptConfig) -> str | None:
    subset = row.get("subset")
    if subset == "speech":
        return "speech"
    if subset in cfg.sound_subsets:
        return "sound"
    if subset in cfg.music_subsets:
        return "music"
    return None


def speech_languages(cfg: AdaptConfig, prompts: Prompts) -> set[str]:
    """The configured languages, checked against what the backbone can transcribe."""
    known = set(prompts.languages())
    if ALL_LANGUAGES in cfg.speech_languages:
        return known
    wanted = {language_code(x) or "" for x in cfg.speech_languages}
    if wanted - known:
        kind = "multilingual" if prompts.multilingual else "English-only"
        raise ConfigError(
            f"speech_languages {sorted(wanted - known)} cannot be prompted on the {kind} backbone "
            f"{cfg.backbone!r}; valid: {sorted(known)} or {ALL_LANGUAGES!r}"
        )
    return wanted


def build_examples(
    rows: list[dict], cfg: AdaptConfig, prompts: Prompts, split: str, dropped: Counter | None = None
) -> list[Example]:
    """Examples of ``split`` in manifest order; ``dropped`` counts what was left out and why."""
    dropped = Counter() if dropped is None else dropped
    languages = speech_languages(cfg, prompts)
    limit = min(cfg.max_target_tokens, prompts.max_positions)
    caption_prompt = prompts.caption()
    pending: list[tuple[dict, str, tuple[int, ...], list[str]]] = []
    for row in rows:
        if row.get("split") != split:
            continue
        domain = domain_of(row, cfg)
        if domain is None or not cfg.mix[domain] > 0:
            continue
        if domain == "speech":
            lang = language_code(row.get("language"))
            if not (row.get("transcript") or "").strip():
                dropped[f"{split}: speech without transcript"] += 1
            elif lang not in languages:
                dropped[f"{split}: speech in another language"] += 1
            elif float(row.get("duration", 0.0)) > cfg.clip_seconds:
                dropped[f"{split}: speech longer than clip_seconds"] += 1
            else:
                pending.append((row, domain, prompts.speech(lang), [row["transcript"]]))
        else:
            pending.append((row, domain, caption_prompt, list(row["captions"])))
    flat = [t for _, _, _, texts in pending for t in texts]
    encoded = iter(prompts.texts(flat)) if flat else iter(())
    out = []
    for row, domain, prompt, texts in pending:
        keep = [(t, ids) for t, ids in zip(texts, encoded) if len(prompt) + len(ids) <= limit]
        dropped[f"{split}: {domain} targets over {limit} tokens"] += len(texts) - len(keep)
        if not keep:
            dropped[f"{split}: {domain} clips without a short enough target"] += 1
            continue
        lang = language_code(row.get("language")) if domain == "speech" else "en"
        out.append(
            Example(
                row["path"],
                domain,
                prompt,
                tuple(ids for _, ids in keep),
                tuple(t for t, _ in keep),
                lang,
            )
        )
    for key in [k for k, v in dropped.items() if v == 0]:
        del dropped[key]
    return out


def cap_per_domain(examples: list[Example], limit: int | None, seed: int) -> list[Example]:
    """At most ``limit`` examples per domain (a seeded subset, manifest order kept)."""
    if limit is None:
        return examples
    keep: list[int] = []
    for d in DOMAINS:
        idx = [i for i, ex in enumerate(examples) if ex.domain == d]
        if len(idx) > limit:
            idx = sorted(_rng(seed, 31, DOMAINS.index(d)).choice(idx, limit, replace=False))
        keep += idx
    return [examples[i] for i in sorted(keep)]


def load_data(cfg: AdaptConfig, prompts: Prompts) -> AdaptData:
    """Train and val examples; an error if a weighted domain has no training clips."""
    corpus, rows = read_manifest(cfg)
    manifest = Path(cfg.manifest) if Path(cfg.manifest).is_absolute() else corpus / cfg.manifest
    dropped: Counter = Counter()
    train = build_examples(rows, cfg, prompts, "train", dropped)
    val = cap_per_domain(
        build_examples(rows, cfg, prompts, "val", dropped), cfg.val_max_clips, cfg.seed
    )
    have = Counter(ex.domain for ex in train)
    empty = [d for d in DOMAINS if cfg.mix[d] > 0 and not have[d]]
    if empty:
        raise ConfigError(
            f"no training clips for domain(s) {empty} in {manifest} (subsets: sound "
            f"{list(cfg.sound_subsets)}, music {list(cfg.music_subsets)}; speech languages "
            f"{list(cfg.speech_languages)}); set their weight to 0 or change the subsets"
        )
    return AdaptData(corpus, manifest, train, val, dict(dropped))


def expected_repeats(data: AdaptData, cfg: AdaptConfig) -> dict[str, float]:
    """Mean draws of one clip per epoch, per domain (1.0: each clip about once)."""
    pools = data.pools()
    total = sum(cfg.mix[d] for d in DOMAINS if pools[d])
    n = len(data.train)
    return {
        d: round(cfg.mix[d] / total * n / len(pools[d]), 3)
        for d in DOMAINS
        if pools[d] and cfg.mix[d]
    }


class MixSampler(Sampler):
    """Yields ``num_samples`` keys ``(example, epoch, draw)`` per epoch, domains drawn by weight.

    ``draw`` counts how often the domain's pool has been run through this epoch, so a clip drawn
    twice gets two independent caption picks.
    """

    def __init__(
        self,
        pools: dict[str, list[int]],
        weights: dict[str, float],
        *,
        seed: int,
        num_samples: int,
    ):
        self.domains = [d for d in DOMAINS if weights.get(d, 0) > 0 and pools.get(d)]
        if not self.domains:
            raise ConfigError(f"no domain has both a positive weight and clips: weights {weights}")
        w = np.array([weights[d] for d in self.domains], dtype=np.float64)
        self.p = w / w.sum()
        self.pools = {d: list(pools[d]) for d in self.domains}
        self.seed, self.num_samples, self.epoch = seed, int(num_samples), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        picks = _rng(self.seed, 21, self.epoch).choice(
            len(self.domains), self.num_samples, p=self.p
        )
        used = [0] * len(self.domains)
        orders: dict[tuple[int, int], np.ndarray] = {}
        for k in picks.tolist():
            pool = self.pools[self.domains[k]]
            cycle, pos = divmod(used[k], len(pool))
            used[k] += 1
            if (k, cycle) not in orders:
                orders[(k, cycle)] = _rng(self.seed, 22, self.epoch, k, cycle).permutation(
                    len(pool)
                )
            yield (pool[int(orders[(k, cycle)][pos])], self.epoch, cycle)


class AdaptDataset(Dataset):
    """``key=(example, epoch, draw)`` (or an int) -> dict(wave, prompt, target, domain)."""

    def __init__(self, examples: list[Example], corpus: Path, cfg: AdaptConfig, *, train: bool):
        self.examples, self.corpus, self.train, self.seed = examples, Path(corpus), train, cfg.seed
        self.crop = int(round(cfg.clip_seconds * SAMPLE_RATE))

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, key) -> dict[str, Any]:
        i, epoch, draw = key if isinstance(key, tuple) else (key, 0, 0)
        ex = self.examples[i]
        pick = (
            int(_rng(self.seed, 23, epoch, i, draw).integers(len(ex.targets))) if self.train else 0
        )
        # The first clip_seconds, as the paper truncates; captions describe the whole clip.
        wave = load_audio(str(self.corpus / ex.path), max_seconds=None)[: self.crop]
        return {
            "wave": wave,
            "prompt": ex.prompt,
            "target": ex.targets[pick],
            "domain": DOMAINS.index(ex.domain),
        }


class Collator:
    """Items -> batch: ``mel`` (B, n_mels, T), ``frames`` (B,) or None (30-s windows),
    ``input_ids`` / ``labels`` (B, L) right-padded, ``domain`` (B,)."""

    def __init__(self, *, n_mels: int, pad_to_30s: bool, pad_id: int):
        self.n_mels, self.pad_to_30s, self.pad_id = n_mels, pad_to_30s, pad_id

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor | None]:
        mel, frames = batch_log_mel([it["wave"] for it in items], self.n_mels, self.pad_to_30s)
        seqs = [(*it["prompt"], *it["target"]) for it in items]
        width = max(len(s) for s in seqs) - 1
        input_ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        for row, (it, seq) in enumerate(zip(items, seqs)):
            n = len(seq) - 1
            input_ids[row, :n] = torch.tensor(seq[:-1])
            labels[row, :n] = torch.tensor(seq[1:])
            # Position p predicts seq[p + 1]: the prompt's own tokens are given, not learnt.
            labels[row, : len(it["prompt"]) - 1] = IGNORE
        return {
            "mel": mel,
            "frames": None if self.pad_to_30s else torch.tensor(frames, dtype=torch.long),
            "input_ids": input_ids,
            "labels": labels,
            "domain": torch.tensor([it["domain"] for it in items], dtype=torch.long),
        }
