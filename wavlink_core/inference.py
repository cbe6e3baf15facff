"""The embedding API: audio and text in, unit-norm numpy embeddings out, at any trained size.

Audio longer than 30 s is cut into consecutive 30-s windows from the start; the clip's embedding
is the duration-weighted mean of its window embeddings, re-normalised. Nothing is random, so the
same file always gives the same vector (users of LAION-CLAP and MS-CLAP report random crops).

Input rule: a list (or tuple, or any other iterable) is a batch of clips; a single path, bytes,
array or tensor is ONE clip, in any channel layout (see :func:`wavlink_core.load_audio`), and so
is Gradio's ``(sampling_rate, array)`` pair. Clips are decoded and encoded in bounded groups, so
memory does not grow with the number of clips.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .audio import load_audio
from .errors import AudioError, ConfigError
from .features import N_SAMPLES, batch_log_mel
from .matryoshka import truncate_np
from .runtime import AudioEncoder
from .openset import OpenSetVerdict
from .prompts import check_templates, ensemble_prompts, label_embeddings
from .templates import check_template, fill_template

if TYPE_CHECKING:
    from .model import WavLink

DEFAULT_TEMPLATE = "This is a sound of {}."
AudioInput = Any  # path, bytes, array, tensor or (sampling_rate, array); see audio.load_audio
# Decoded windows held before they are encoded (at least one batch): 32 x 30 s is 61 MB of audio.
_GROUP_WINDOWS = 32
# Windows shorter than this share a batch beyond ``batch_size``, up to the audio ``batch_size``
# windows of this length hold (at most _GROUP_WINDOWS): a forward pass has a fixed cost that
# dominates a batch of eight half-second clips (FSDD digits: 119x real time in batches of 8,
# 178x in batches of 32, bf16 on 2 cores; docs/benchmarks.md).
_FULL_BATCH_SAMPLES = 5 * 16000
_ONE_CLIP = (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, torch.Tensor)
_VALID_AUDIO = (
    "a path, bytes, a numpy array or torch tensor (one clip in any channel layout), "
    "a (sampling_rate, array) tuple, or a list of these (a batch)"
)


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


def as_clips(audio: AudioInput | Iterable[AudioInput]) -> list[AudioInput]:
    """The clips an ``audio`` argument holds: one clip as a list of one, or a batch's clips.

    Raises:
        TypeError: ``audio`` is None or of a type that is neither a clip nor a batch.
        ValueError: an empty batch.
    """
    if audio is None:
        raise TypeError(f"audio is None; pass {_VALID_AUDIO}")
    # Gradio's (sampling_rate, array) pair is one clip: a tuple led by a number is never a batch.
    pair = isinstance(audio, tuple) and len(audio) == 2 and isinstance(audio[0], numbers.Real)
    if isinstance(audio, _ONE_CLIP) or (pair and not isinstance(audio[0], bool)):
        return [audio]
    if isinstance(audio, Mapping) or not isinstance(audio, Iterable):
        raise TypeError(f"unsupported audio of type {type(audio).__name__}; pass {_VALID_AUDIO}")
    items = list(audio)
    if not items:
        raise ValueError("no audio given: the batch of clips is empty; pass at least one clip")
    return items


def iter_audio_embeddings(
    model: WavLink,
    audio: AudioInput | Iterable[AudioInput],
    sampling_rate: int | None = None,
    dim: int | None = None,
    batch_size: int = 8,
    pad_to_30s: bool | None = None,
    progress: bool = False,
    channels_first: bool | None = None,
    encoder: AudioEncoder | None = None,
) -> Iterator[np.ndarray | AudioError]:
    """Embed clips one group at a time, yielding one result per clip in input order.

    A clip that cannot be loaded yields its :class:`~wavlink_core.errors.AudioError` in place of
    an embedding, so the caller decides whether one bad file stops the rest. At most
    ``max(batch_size, 32)`` decoded windows (plus one long clip's) are held at any time, and the
    progress bar counts clips from the start. Args as in :func:`embed_audio`.

    Yields:
        (dim,) float32 unit-norm embedding, or the AudioError of a clip that could not be loaded.
    """
    dim = model.check_dim(dim)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    pad = model.config.audio.pad_to_30s if pad_to_30s is None else pad_to_30s
    items = as_clips(audio)
    model.eval()
    with tqdm(total=len(items), desc="embedding audio", unit="clip", disable=not progress) as bar:
        group: list[list[np.ndarray] | AudioError] = []
        held = 0
        for n, item in enumerate(items, 1):
            try:
                wave = load_audio(item, sampling_rate, channels_first=channels_first)
                group.append(windows(wave))
                held += len(group[-1])
            except AudioError as exc:
                group.append(exc)
            if held >= max(batch_size, _GROUP_WINDOWS) or n == len(items):
                done = [g for g in group if not isinstance(g, AudioError)]
                emb = iter(truncate_np(_encode_clips(model, done, batch_size, pad, encoder), dim))
                for g in group:
                    yield g if isinstance(g, AudioError) else next(emb)
                bar.update(len(group))
                group, held = [], 0


def length_batches(lengths: Sequence[int], batch_size: int, pad: bool = False) -> list[list[int]]:
    """Indices of windows grouped into forward passes, shortest first.

    Similar lengths share a batch, so dynamic-length batches carry little padding. A batch holds
    ``batch_size`` windows, or more when they are short: as many as fit in the audio of
    ``batch_size`` five-second windows, at most ``_GROUP_WINDOWS``. Padded to 30 s (``pad``),
    every window costs the same and batches hold ``batch_size``.
    """
    order = sorted(range(len(lengths)), key=lambda j: lengths[j])
    batches: list[list[int]] = []
    for j in order:  # ascending, so j is the longest window of the batch it joins
        fits = batch_size if pad else batch_size * _FULL_BATCH_SAMPLES // max(lengths[j], 1)
        cap = max(batch_size, min(fits, _GROUP_WINDOWS))
        if not batches or len(batches[-1]) >= cap:
            batches.append([])
        batches[-1].append(j)
    return batches


@torch.inference_mode()
def _encode_clips(
    model: WavLink,
    clips: list[list[np.ndarray]],
    batch_size: int,
    pad: bool,
    encoder: AudioEncoder | None = None,
) -> np.ndarray:
    """(N, D) duration-weighted sums of each clip's window embeddings (not yet normalised)."""
    chunks = [w for clip in clips for w in clip]
    owner = np.repeat(np.arange(len(clips)), [len(clip) for clip in clips])
    window_emb = np.zeros((len(chunks), model.config.embed_dim), dtype=np.float32)
    for idx in length_batches([len(c) for c in chunks], batch_size, pad):
        mel, frames = batch_log_mel([chunks[j] for j in idx], model.config.audio.n_mels, pad)
        frames_t = None if pad else torch.as_tensor(frames)
        emb = (encoder or model.encode_audio)(mel.to(model.device), frames_t)
        window_emb[idx] = emb.float().cpu().numpy()
    weights = np.array([len(c) for c in chunks], dtype=np.float32)
    out = np.zeros((len(clips), model.config.embed_dim), dtype=np.float32)
    np.add.at(out, owner, window_emb * weights[:, None])
    return out


def embed_audio(
    model: WavLink,
    audio: AudioInput | Sequence[AudioInput],
    sampling_rate: int | None = None,
    dim: int | None = None,
    batch_size: int = 8,
    pad_to_30s: bool | None = None,
    progress: bool = False,
    channels_first: bool | None = None,
    encoder: AudioEncoder | None = None,
) -> np.ndarray:
    """Embed one clip or a batch of clips.

    Args:
        audio: A batch is a list (or tuple, or other iterable) of clips. One clip is a path,
            bytes, a numpy array or torch tensor, or a Gradio ``(sampling_rate, array)`` tuple. A
            single array or tensor is always ONE clip: 2-D means (samples, channels) or
            (channels, samples), the channel axis being the one at most 8 long while the other is
            longer; other shapes are refused as ambiguous (state ``channels_first``, or pass a
            list of 1-D arrays for a batch).
        sampling_rate: rate of array inputs (files carry their own).
        dim: a trained Matryoshka size; None is the full size.
        batch_size: windows per forward pass (>= 1); windows under 5 s share bigger batches, up
            to the same amount of audio (:func:`length_batches`).
        pad_to_30s: encode every window as 30 s (the paper's exact setting); None uses the
            model config.
        progress: show a progress bar (counting clips).
        channels_first: layout of 2-D arrays: True (channels, samples), False (samples,
            channels), None to detect it.
        encoder: what runs the audio path, e.g. ``wavlink_core.runtime.audio_encoder(model,
            "onnx")``; None is ``model.encode_audio`` (float32 PyTorch).

    Returns:
        (N, dim) float32 unit-norm embeddings, one row per clip.

    Raises:
        AudioError: the first clip that cannot be loaded (use :func:`iter_audio_embeddings` to
            go on past bad clips).
        TypeError: ``audio`` is None or not a clip or batch. ValueError: an empty batch.
        ConfigError: ``dim`` is not a trained size or ``batch_size`` < 1.
    """
    rows = []
    for result in iter_audio_embeddings(
        model, audio, sampling_rate, dim, batch_size, pad_to_30s, progress, channels_first, encoder
    ):
        if isinstance(result, AudioError):
            raise result
        rows.append(result)
    return np.stack(rows)


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
    channels_first: bool | None = None,
    templates: Sequence[str] | None = None,
) -> ZeroShotResult:
    """Rank ``labels`` for one clip by the similarity of the clip to ``template`` prompts.

    ``audio`` is one clip under :func:`embed_audio`'s rule (a 2-D array is one multichannel clip);
    a batch is refused: call this once per clip. ``templates`` (several, e.g.
    ``wavlink_core.prompts.DEFAULT_TEMPLATES``) replaces ``template`` with a prompt ensemble: each
    label's prompts are averaged in embedding space.
    """
    templates = check_templates(templates if templates is not None else template)
    labels = parse_labels(labels)
    prompts = [" | ".join(row) for row in ensemble_prompts(labels, templates)]
    dim = model.check_dim(dim)
    clip = as_clips(audio)
    if len(clip) != 1:
        raise ValueError(f"zero_shot ranks labels for one clip; got {len(clip)}: call it per clip")
    a = embed_audio(model, clip, sampling_rate, dim, channels_first=channels_first)
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
