"""Word error rate of a full Whisper on held-out corpus speech, before and after adaptation.

Texts are normalised the way Whisper's own evaluations are: ``EnglishTextNormalizer`` (from
``transformers``, openai-whisper's normaliser: lower case, no punctuation or fillers, numbers and
contractions standardised) for English, ``BasicTextNormalizer`` for other languages. Whisper's
British-to-American spelling map (``english.json``) is not shipped with the CTranslate2 packages,
so it is left empty. WER = word-level Levenshtein edits over all clips / reference words.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..audio import load_audio
from ..features import N_SAMPLES, batch_log_mel
from .data import Example
from .seq2seq import encode, encoder_tower, greedy_decode


@functools.cache
def _normaliser(english: bool):
    from transformers.models.whisper.english_normalizer import (
        BasicTextNormalizer,
        EnglishTextNormalizer,
    )

    return EnglishTextNormalizer({}) if english else BasicTextNormalizer()


def normalise(text: str, language: str | None = "en") -> str:
    return _normaliser(language in (None, "en"))(text)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word lists (substitutions, deletions, insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(
    refs: Sequence[str], hyps: Sequence[str], languages: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """Corpus WER of normalised texts; clips whose reference normalises to nothing are skipped.

    Returns:
        ``{"wer", "errors", "words", "clips", "skipped"}`` (``wer`` is NaN with no words).
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    languages = languages or [None] * len(refs)
    errors = words = clips = skipped = 0
    for ref, hyp, lang in zip(refs, hyps, languages):
        r, h = normalise(ref, lang).split(), normalise(hyp, lang).split()
        if not r:
            skipped += 1
            continue
        errors += edit_distance(r, h)
        words += len(r)
        clips += 1
    return {
        "wer": errors / words if words else float("nan"),
        "errors": errors,
        "words": words,
        "clips": clips,
        "skipped": skipped,
    }


@torch.inference_mode()
def transcribe(
    model,
    tokenizer,
    examples: Sequence[Example],
    corpus: str | Path,
    *,
    batch_size: int = 8,
    pad_to_30s: bool = True,
    progress: bool = False,
) -> list[str]:
    """Greedy transcripts of ``examples`` (speech; each with its own transcribe prompt).

    ``pad_to_30s=True`` decodes Whisper's usual 30-s windows; False encodes at dynamic length.
    """
    model.eval()
    tower = encoder_tower(model)
    device = model.device
    order = sorted(range(len(examples)), key=lambda i: examples[i].prompt)  # equal-length prompts
    texts = [""] * len(examples)
    for start in tqdm(range(0, len(order), batch_size), desc="transcribing", disable=not progress):
        idx = order[start : start + batch_size]
        waves = [load_audio(str(Path(corpus) / examples[i].path), max_seconds=None) for i in idx]
        mel, frames = batch_log_mel(
            [w[:N_SAMPLES] for w in waves], model.config.num_mel_bins, pad_to_30s
        )
        frames_t = None if pad_to_30s else torch.tensor(frames, device=device)
        hidden = encode(tower, mel.to(device), frames_t)
        prompts = [examples[i].prompt for i in idx]
        if len({len(p) for p in prompts}) > 1:
            raise ValueError("prompts in one batch must have the same length")
        ids = greedy_decode(model, hidden, torch.tensor(prompts, device=device))
        for i, tokens in zip(idx, ids):
            texts[i] = tokenizer.decode(tokens, skip_special_tokens=True).strip()
    return texts


def evaluate_wer(
    model, tokenizer, examples: Sequence[Example], corpus: str | Path, **kwargs
) -> dict:
    """:func:`transcribe` + :func:`word_error_rate`, with every (path, reference, hypothesis)."""
    hyps = transcribe(model, tokenizer, examples, corpus, **kwargs)
    refs = [ex.texts[0] for ex in examples]
    langs = [ex.language for ex in examples]
    result = word_error_rate(refs, hyps, langs)
    result["transcripts"] = [
        {"path": ex.path, "language": ex.language, "reference": r, "hypothesis": h}
        for ex, r, h in zip(examples, refs, hyps)
    ]
    return result
