"""The embedding API: audio and text in, unit-norm numpy embeddings out, at any trained size.

Audio longer than 30 s is cut into consecutive 30-s windows from the start; the clip's embedding
is the duration-weighted mean of its window embeddings, re-normalised. Nothing is random, so the
same file always gives the same vector (users of LAION-CLAP and MS-CLAP report random crops).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .audio import load_audio
from .features import N_SAMPLES, batch_log_mel
from .matryoshka import truncate_np
from .openset import OpenSetVerdict
from .prompts import check_templates, ensemble_prompts, label_embeddings
from .templates import check_template, fill_template

if TYPE_CHECKING:
    from .model import WavLink

DEFAULT_TEMPLATE = "This is a sound of {}."
AudioInput = Any  # path, bytes, array, tensor or (sampling_rate, array); see audio.load_audio


@dataclass(frozen=True)
class ZeroShotResult:
    """Labels ranked best first, with softmax probabilities and raw cosine similarities."""

    labels: tuple[str, ...]
    probs: tuple[float, ...]  # softmax over the labels at the model's learned temperature
    cosine: tuple[float, ...]
    prompts: tuple[str, ...]
    dim: int
    trained: bool  # False: untrained projections, the scores carry no meaning
    open_set: OpenSetVerdict | None = None  # None: the model has no open-set calibration

    def top(self, k: int = 5) -> list[tuple[str, float, float]]:
        return list(zip(self.labels, self.probs, self.cosine))[:k]


def windows(wave: np.ndarray) -> list[np.ndarray]:
    """Consecutive 30-s windows from the start; the last one may be shorter."""
    return [wave[i : i + N_SAMPLES] for i in range(0, max(len(wave), 1), N_SAMPLES)]


def _as_list(audio: AudioInput | Sequence[AudioInput]) -> list[AudioInput]:
    if isinstance(audio, (str, os.PathLike, bytes, tuple)):
        return [audio]
    if isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 1:
        return [audio]
    return list(audio)


@torch.inference_mode()
def embed_audio(
    model: WavLink,
    audio: AudioInput | Sequence[AudioInput],
    sampling_rate: int | None = None,
    dim: int | None = None,
    batch_size: int = 8,
    pad_to_30s: bool | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Embed clips.

    Args:
        audio: one clip or a list of clips (paths, bytes, arrays, tensors, (sr, array) tuples).
        sampling_rate: rate of array inputs (files carry their own).
        dim: a trained Matryoshka size; None is the full size.
        batch_size: windows per forward pass.
        pad_to_30s: encode every window as 30 s (the paper's exact setting); None uses the
            model config.
        progress: show a progress bar.

    Returns:
        (N, dim) float32 unit-norm embeddings, one row per clip.
    """
    dim = model.check_dim(dim)
    pad = model.config.audio.pad_to_30s if pad_to_30s is None else pad_to_30s
    items = _as_list(audio)
    chunks: list[np.ndarray] = []
    owner: list[int] = []
    for i, item in enumerate(items):
        for w in windows(load_audio(item, sampling_rate)):
            chunks.append(w)
            owner.append(i)
    # Similar lengths share a batch, so dynamic-length batches carry little padding.
    order = sorted(range(len(chunks)), key=lambda j: len(chunks[j]))
    window_emb = np.zeros((len(chunks), model.config.embed_dim), dtype=np.float32)
    model.eval()
    bar = tqdm(total=len(chunks), desc="embedding audio", unit="window", disable=not progress)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        mel, frames = batch_log_mel([chunks[j] for j in idx], model.config.audio.n_mels, pad)
        frames_t = None if pad else torch.as_tensor(frames)
        emb = model.encode_audio(mel.to(model.device), frames_t)
        window_emb[idx] = emb.float().cpu().numpy()
        bar.update(len(idx))
    bar.close()
    weights = np.array([len(c) for c in chunks], dtype=np.float32)
    out = np.zeros((len(items), model.config.embed_dim), dtype=np.float32)
    np.add.at(out, np.array(owner), window_emb * weights[:, None])
    return truncate_np(out, dim)


@torch.inference_mode()
def embed_text(
    model: WavLink, texts: str | Iterable[str], dim: int | None = None, batch_size: int = 64
) -> np.ndarray:
    """(N, dim) float32 unit-norm text embeddings."""
    dim = model.check_dim(dim)
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise ValueError(f"texts must be non-empty strings; got {texts!r}")
    model.eval()
    out = []
    for start in range(0, len(texts), batch_size):
        batch = model.text.tokenize(texts[start : start + batch_size], model.device)
        out.append(model.encode_text(**batch).float().cpu().numpy())
    return truncate_np(np.concatenate(out), dim)


def similarity(a: np.ndarray, b: np.ndarray, dim: int | None = None) -> np.ndarray:
    """Cosine similarity (N, M) of two embedding sets, truncated to ``dim`` first if given."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    if dim is not None:
        a, b = truncate_np(a, dim), truncate_np(b, dim)
    return truncate_np(a, a.shape[1]) @ truncate_np(b, b.shape[1]).T


def parse_labels(labels: str | Iterable[str]) -> list[str]:
    """Labels from a list or from text separated by commas or newlines; blanks and repeats dropped."""
    if isinstance(labels, str):
        labels = labels.replace("\n", ",").split(",")
    out: list[str] = []
    for label in labels:
        label = str(label).strip()
        if label and label not in out:
            out.append(label)
    if not out:
        raise ValueError("no labels given: type at least one, separated by commas or new lines")
    return out


def label_prompts(labels: str | Iterable[str], template: str) -> tuple[list[str], list[str]]:
    """Parsed labels and their prompts; the template must hold a ``{}`` for the label."""
    labels = parse_labels(labels)
    check_template(template)
    return labels, [fill_template(template, label) for label in labels]


def zero_shot(
    model: WavLink,
    audio: AudioInput,
    labels: str | Iterable[str],
    template: str = DEFAULT_TEMPLATE,
    dim: int | None = None,
    sampling_rate: int | None = None,
    templates: Sequence[str] | None = None,
) -> ZeroShotResult:
    """Rank ``labels`` for one clip by the similarity of the clip to ``template`` prompts.

    ``templates`` (several, e.g. ``wavlink_core.prompts.DEFAULT_TEMPLATES``) replaces ``template``
    with a prompt ensemble: each label's prompts are averaged in embedding space.
    """
    templates = check_templates(templates if templates is not None else template)
    labels = parse_labels(labels)
    prompts = [" | ".join(row) for row in ensemble_prompts(labels, templates)]
    dim = model.check_dim(dim)
    a = embed_audio(model, [audio], sampling_rate=sampling_rate, dim=dim)
    cos = (a @ label_embeddings(model, labels, templates, dim=dim).T)[0]
    logits = model.scale().detach().item() * cos
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-cos, kind="stable")
    calibration = getattr(model, "openset", None)
    verdict = calibration.verdict("zeroshot", dim, cos, int(order[0])) if calibration else None
    return ZeroShotResult(
        labels=tuple(labels[i] for i in order),
        probs=tuple(float(probs[i]) for i in order),
        cosine=tuple(float(cos[i]) for i in order),
        prompts=tuple(prompts[i] for i in order),
        dim=dim,
        trained=model.is_trained,
        open_set=verdict,
    )
