"""Few-shot classification: a user's own sound classes from a handful of example clips.

Training-free, after Tip-Adapter (Zhang et al., ECCV 2022, arXiv 2111.03930): the examples are
embedded once and kept as a cache; a clip's logit for label ``c`` blends the text prior (cosine of
the clip to the label's prompt, as zero-shot does) with its affinity to the label's examples::

    logit_c = scale * (cos(clip, text_c) + alpha * mean_{e in examples_c} exp(-beta * (1 - cos(clip, e))))

``scale`` is the model's learned temperature. Tip-Adapter sums the affinities over the examples;
the mean is used here so a label with more examples does not win by count alone (users give
uneven numbers). ``beta`` sharpens the affinity (large: nearest example; small: class mean);
``alpha`` weighs examples against the text prior. The defaults are the best of a grid scored on
few-shot episodes from the training corpus's validation split (``python -m
wavlink_core.calibration``), never on the evaluation sets; see ``docs/evaluation.md``.

With enough examples per label, a linear head fitted on them (:mod:`wavlink_core.fewshot_head`,
started from the label prompts) replaces the text cosine in that blend: ``head="auto"`` (the
default) fits it from ``DEFAULT_HEAD_MIN_SHOTS`` examples per label, ``"linear"`` always,
``"none"`` never.

Everything is stored at full size and truncated on use, so a fit works at every Matryoshka size.
A fitted classifier saves as ``fewshot.safetensors`` (embeddings) + ``fewshot.json`` (labels,
settings, provenance): no pickle.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .audio import load_audio
from .errors import AudioError, CheckpointError
from .fewshot_head import (
    DEFAULT_HEAD_L2,
    DEFAULT_HEAD_MIN_SHOTS,
    LinearHead,
    check_head,
    fit_linear_head,
    wants_head,
)
from .inference import DEFAULT_TEMPLATE, AudioInput, embed_audio
from .matryoshka import truncate_np
from .openset import OpenSetCalibration, OpenSetVerdict
from .prompts import check_templates, label_embeddings

if TYPE_CHECKING:
    from .model import WavLink

log = logging.getLogger(__name__)

# Best on corpus validation episodes (python -m wavlink_core.calibration); see the module docstring.
# beta 5.5 for the model retrained on corpus v2 (65.6 % against 63.2 % for the earlier 8; the
# shipped openset.json's few-shot thresholds were fitted with it too).
DEFAULT_ALPHA = 16.0
DEFAULT_BETA = 5.5
FORMAT_VERSION = 2  # 2 added the optional linear head; version 1 files load as head-less
READABLE_VERSIONS = (1, 2)
JSON_NAME, WEIGHTS_NAME = "fewshot.json", "fewshot.safetensors"
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class FewShotResult:
    """Labels ranked best first, with softmax probabilities over the blended logits."""

    labels: tuple[str, ...]
    probs: tuple[float, ...]
    cosine: tuple[float, ...]  # clip to the label's nearest example
    text_cosine: tuple[float, ...]  # clip to the label's prompt (the zero-shot evidence)
    dim: int
    trained: bool  # False: untrained projections, the scores carry no meaning
    open_set: OpenSetVerdict | None = None  # None: the model has no open-set calibration

    def top(self, k: int = 5) -> list[tuple[str, float, float]]:
        return list(zip(self.labels, self.probs, self.cosine))[:k]


def class_evidence(
    query: np.ndarray, examples: np.ndarray, example_label: np.ndarray, n_classes: int, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class affinity (mean of ``exp(-beta (1 - cos))``) and nearest-example cosine.

    Args:
        query: (Q, d) unit-norm clip embeddings.
        examples: (N, d) unit-norm example embeddings.
        example_label: (N,) class index of each example.

    Returns:
        ``(affinity, nearest)``, both (Q, C). A class without examples (possible only in the
        evaluation, where a fold can lack a class) gets affinity 0 and nearest cosine -1.
    """
    cos = query @ examples.T
    onehot = np.eye(n_classes, dtype=np.float32)[example_label]  # (N, C)
    affinity = np.exp(-beta * (1.0 - cos)) @ onehot / np.maximum(onehot.sum(axis=0), 1)
    nearest = np.full((len(query), n_classes), -1.0, dtype=np.float32)
    for c in np.unique(example_label):
        nearest[:, c] = cos[:, example_label == c].max(axis=1)
    return affinity, nearest


def blend_logits(
    text_cos: np.ndarray, affinity: np.ndarray, scale: float, alpha: float
) -> np.ndarray:
    """Tip-Adapter-style logits (Q, C) from the text cosines and the example affinities."""
    return scale * (text_cos + alpha * affinity)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def examples_from_folder(folder: str | Path) -> dict[str, list[Path]]:
    """``{label: [audio files]}`` from a folder holding one subfolder of examples per label.

    The label is the subfolder name, normalised as the evaluation sets are (``001 - Dog bark`` →
    ``dog bark``). A subfolder without audio files is an error naming it.
    """
    from .evaluation.datasets import AUDIO_EXTS, normalise_label

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder of examples (one subfolder per label)")
    out: dict[str, list[Path]] = {}
    for sub in sorted(d for d in root.iterdir() if d.is_dir()):
        files = sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTS)
        if not files:
            raise ValueError(
                f"{sub}: no audio files ({', '.join(sorted(AUDIO_EXTS))}) for label {sub.name!r}"
            )
        out.setdefault(normalise_label(sub.name) or sub.name, []).extend(files)
    if not out:
        raise ValueError(
            f"{root}: no subfolders; put each label's example clips in its own subfolder"
        )
    return out


def _example_name(item: AudioInput, label: str, i: int) -> str:
    return str(item) if isinstance(item, (str, Path)) else f"{label!r} example {i + 1}"


@dataclass(frozen=True)
class FewShotClassifier:
    """Labels with their example embeddings and prompt embeddings (full size), ready to classify.

    Build it with :func:`fit_examples` (``model.fit_examples``) or :meth:`load`.
    """

    model: WavLink
    labels: tuple[str, ...]
    text_emb: np.ndarray  # (C, D) label prompt embeddings, averaged over the templates
    example_emb: np.ndarray  # (N, D)
    example_label: np.ndarray  # (N,) int index into labels
    example_names: tuple[str, ...]
    templates: tuple[str, ...]
    dim: int
    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    skipped: tuple[tuple[str, str], ...] = ()  # (example, why) left out of the fit
    head: LinearHead | None = None  # None: training-free (the text cosine is the prior)

    def with_dim(self, dim: int | None) -> FewShotClassifier:
        """The same fit at another trained Matryoshka size."""
        return replace(self, dim=self.model.check_dim(dim))

    def with_head(
        self,
        head: str = "auto",
        l2: float = DEFAULT_HEAD_L2,
        min_shots: int = DEFAULT_HEAD_MIN_SHOTS,
        dims: Sequence[int] | None = None,
    ) -> FewShotClassifier:
        """The same examples with a linear head fitted at ``dims`` (default: every trained size)
        when ``head`` asks for one (see :func:`fit_examples`); otherwise without a head."""
        if not l2 > 0:
            raise ValueError(f"head_l2 must be > 0 (the pull toward the label prompts); got {l2}")
        if not wants_head(head, self.example_label, min_shots):
            return replace(self, head=None)
        scale = float(self.model.scale().detach().item())
        dims = self.model.matryoshka_dims if dims is None else dims
        fitted = fit_linear_head(
            self.example_emb, self.example_label, self.text_emb, scale, dims, l2
        )
        return replace(self, head=fitted)

    def scores(self, emb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Logits, nearest-example cosines and text cosines (each (Q, C)) of clip embeddings."""
        q = truncate_np(np.atleast_2d(emb), self.dim)
        text_cos = q @ truncate_np(self.text_emb, self.dim).T
        prior = text_cos if self.head is None else self.head.score(q, self.dim)
        affinity, nearest = class_evidence(
            q,
            truncate_np(self.example_emb, self.dim),
            self.example_label,
            len(self.labels),
            self.beta,
        )
        scale = float(self.model.scale().detach().item())
        return blend_logits(prior, affinity, scale, self.alpha), nearest, text_cos

    def classify(self, audio: AudioInput, sampling_rate: int | None = None) -> FewShotResult:
        """Rank the labels for one clip."""
        emb = embed_audio(self.model, [audio], sampling_rate=sampling_rate)
        logits, nearest, text_cos = (x[0] for x in self.scores(emb))
        probs = softmax(logits)
        order = np.argsort(-logits, kind="stable")
        calibration: OpenSetCalibration | None = getattr(self.model, "openset", None)
        verdict = calibration and calibration.verdict("fewshot", self.dim, nearest, int(order[0]))
        return FewShotResult(
            labels=tuple(self.labels[i] for i in order),
            probs=tuple(float(probs[i]) for i in order),
            cosine=tuple(float(nearest[i]) for i in order),
            text_cosine=tuple(float(text_cos[i]) for i in order),
            dim=self.dim,
            trained=self.model.is_trained,
            open_set=verdict or None,
        )

    def save(self, directory: str | Path) -> Path:
        """Write ``fewshot.safetensors`` and ``fewshot.json`` into ``directory``."""
        from safetensors.numpy import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "text_emb": np.ascontiguousarray(self.text_emb, dtype=np.float32),
                "example_emb": np.ascontiguousarray(self.example_emb, dtype=np.float32),
                "example_label": np.ascontiguousarray(self.example_label, dtype=np.int64),
                **(self.head.tensors() if self.head is not None else {}),
            },
            str(out / WEIGHTS_NAME),
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "example_names": list(self.example_names),
            "templates": list(self.templates),
            "dim": self.dim,
            "alpha": self.alpha,
            "beta": self.beta,
            "head": None if self.head is None else {"kind": "linear", "l2": self.head.l2},
            "model": {"name": self.model.config.name, "embed_dim": self.model.config.embed_dim},
            "skipped": [list(s) for s in self.skipped],
        }
        (out / JSON_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path, model: WavLink) -> FewShotClassifier:
        """A saved classifier, checked against ``model`` (the one that embedded its examples)."""
        from safetensors.numpy import load_file

        folder = Path(directory)
        if not (folder / JSON_NAME).is_file() or not (folder / WEIGHTS_NAME).is_file():
            raise CheckpointError(
                f"{folder}: no saved few-shot classifier ({JSON_NAME}, {WEIGHTS_NAME})"
            )
        try:
            meta = json.loads((folder / JSON_NAME).read_text())
            arrays = load_file(str(folder / WEIGHTS_NAME))
            labels, templates = tuple(meta["labels"]), check_templates(meta["templates"])
            text, examples = arrays["text_emb"], arrays["example_emb"]
            example_label = arrays["example_label"].astype(np.int64)
            head_meta = meta.get("head")
            head = head_meta and LinearHead.from_tensors(arrays, head_meta["l2"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{folder}: cannot read the few-shot classifier: {exc}") from exc
        if meta.get("format_version") not in READABLE_VERSIONS:
            raise CheckpointError(
                f"{folder / JSON_NAME}: format_version={meta.get('format_version')!r}, "
                f"expected one of {list(READABLE_VERSIONS)}"
            )
        d = model.config.embed_dim
        if text.shape != (len(labels), d) or examples.shape[1:] != (d,):
            raise CheckpointError(
                f"{folder}: embeddings of size {examples.shape[1:]} for {len(labels)} labels do "
                f"not fit {model.config.name} (size {d})"
            )
        if example_label.shape != (len(examples),) or set(example_label.tolist()) != set(
            range(len(labels))
        ):
            raise CheckpointError(f"{folder}: every label needs examples and every example a label")
        if head is not None and any(
            head.weights.get(k, np.zeros(0)).shape != (len(labels), k)
            or head.bias.get(k, np.zeros(0)).shape != (len(labels),)
            for k in model.matryoshka_dims
        ):
            raise CheckpointError(
                f"{folder}: the linear head does not cover {len(labels)} labels at every size "
                f"{list(model.matryoshka_dims)}"
            )
        # The examples are only meaningful in the space of the model that embedded them: the label
        # prompts, re-embedded now, must give the stored vectors.
        now = label_embeddings(model, labels, templates)
        if float((now * text).sum(axis=1).min()) < 0.999:
            raise CheckpointError(
                f"{folder}: saved with another model ({meta.get('model', {}).get('name')!r}); "
                "fit the examples again with this one"
            )
        return cls(
            model=model,
            labels=labels,
            text_emb=text,
            example_emb=examples,
            example_label=example_label,
            example_names=tuple(meta["example_names"]),
            templates=templates,
            dim=model.check_dim(meta["dim"]),
            alpha=float(meta["alpha"]),
            beta=float(meta["beta"]),
            skipped=tuple(tuple(s) for s in meta.get("skipped", [])),
            head=head or None,
        )


def fit_examples(
    model: WavLink,
    examples: Mapping[str, Sequence[AudioInput]] | str | Path,
    dim: int | None = None,
    *,
    template: str = DEFAULT_TEMPLATE,
    templates: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    head: str = "auto",
    head_l2: float = DEFAULT_HEAD_L2,
    head_min_shots: int = DEFAULT_HEAD_MIN_SHOTS,
    sampling_rate: int | None = None,
) -> FewShotClassifier:
    """Fit a few-shot classifier from example clips per label.

    Args:
        examples: ``{label: [clip, ...]}`` (paths, bytes, arrays, (rate, array) tuples), or a
            folder holding one subfolder of examples per label.
        dim: a trained Matryoshka size; None is the full size.
        template: prompt for the label names' text prior; ``templates`` (several) overrides it
            with a prompt ensemble.
        alpha, beta: the blend, see the module docstring.
        head: "auto" fits a linear head (:mod:`wavlink_core.fewshot_head`) when every label has
            at least ``head_min_shots`` examples, "linear" always, "none" never (training-free).
        head_l2: the head's pull toward the label prompts (larger: closer to zero-shot).
        sampling_rate: rate of array inputs.

    Returns:
        The classifier; ``skipped`` lists examples that could not be read, with the reason.

    Raises:
        ValueError: no labels, a label with no usable example (named, with its files' errors),
            alpha/beta/head_l2 out of range, or an unknown ``head``.
    """
    if isinstance(examples, (str, Path)):
        examples = examples_from_folder(examples)
    if not isinstance(examples, Mapping) or not examples:
        raise ValueError("examples must map each label to a list of clips; got none")
    if not (alpha >= 0 and beta > 0):
        raise ValueError(f"alpha must be >= 0 and beta > 0; got alpha={alpha}, beta={beta}")
    check_head(head)
    dim = model.check_dim(dim)
    templates = check_templates(templates if templates is not None else template)
    labels: list[str] = []
    waves, owner, names, skipped = [], [], [], []
    for raw_label, clips in examples.items():
        label = str(raw_label).strip()
        if not label:
            raise ValueError(f"label {raw_label!r} is blank; give each label a name")
        if isinstance(clips, (str, Path, bytes, tuple, np.ndarray)):
            clips = [clips]
        errors = []
        for i, clip in enumerate(clips):
            name = _example_name(clip, label, i)
            try:
                waves.append(load_audio(clip, sampling_rate))
            except AudioError as exc:  # one bad file never sinks the fit
                errors.append(str(exc))
                skipped.append((name, str(exc)))
                log.info("skipped example %s: %s", name, exc)
                continue
            owner.append(len(labels))
            names.append(name)
        if len(owner) == 0 or owner[-1] != len(labels):
            why = "; ".join(errors) if errors else "no clips given"
            raise ValueError(f"label {label!r} has no usable example ({why})")
        labels.append(label)
    example_emb = embed_audio(model, waves, sampling_rate=SAMPLE_RATE)
    return FewShotClassifier(
        model=model,
        labels=tuple(labels),
        text_emb=label_embeddings(model, labels, templates),
        example_emb=example_emb,
        example_label=np.array(owner, dtype=np.int64),
        example_names=tuple(names),
        templates=templates,
        dim=dim,
        alpha=float(alpha),
        beta=float(beta),
        skipped=tuple(skipped),
    ).with_head(head, head_l2, head_min_shots)
