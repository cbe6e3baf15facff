"""Full Whisper as the seq2seq model Whisper-AuT fine-tunes (arXiv 2604.10438 §2.3).

Loading (:func:`load_seq2seq`), decoder prompts (:class:`Prompts`), the encoder forward at
dynamic or 30-s length (:func:`encoder_tower`), the teacher-forced loss (:func:`token_losses`),
greedy decoding (:func:`greedy_decode`) and saving the result as a backbone folder that
``load_whisper`` and ``AudioConfig(backbone=<folder>)`` read (:func:`save_backbone`).

Decoder sequences, in Whisper's own training format (the paper names no special tokens, so
speech keeps Whisper's transcription prompt and captions reuse it):

* English-only backbones (vocabulary 51864): ``<|startoftranscript|><|notimestamps|> text<|endoftext|>``
* multilingual ones: ``<|startoftranscript|><|xx|><|transcribe|><|notimestamps|> text<|endoftext|>``,
  ``xx`` the clip's language for speech and ``en`` for captions (they are English);
* ``caption_prompt="prev"`` puts ``<|startofprev|> Audio caption:`` before a caption's prompt,
  Whisper's previous-text conditioning, so the decoder can tell captions from transcripts.

The text starts with a space, as Whisper's own outputs do. Loss is computed on the text tokens
and ``<|endoftext|>`` only, never on the prompt.
"""

from __future__ import annotations

import copy
import functools
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from ..audio_tower import WhisperAudioTower
from ..config import PRESETS, AudioConfig
from ..errors import CheckpointError, ConfigError
from ..whisper_weights import load_whisper, locate_whisper, whisper_tokenizer_path

if TYPE_CHECKING:
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizerFast

log = logging.getLogger(__name__)

RANDOM = "random"
# openai-whisper's rule: multilingual checkpoints have 51865+ tokens, English-only ones 51864.
MULTILINGUAL_VOCAB = 51865
ENGLISH_EOT = 50256  # <|endoftext|> of the English-only vocabulary (<|startoftranscript|> follows)
CAPTION_PREFIX = " Audio caption:"
PROVENANCE_KEY = "wavlink_adaptation"  # the adaptation record inside the backbone's config.json
IGNORE = -100  # label of positions that carry no loss (prompt, padding)


def load_seq2seq(
    backbone: str | Path, *, seed: int = 0
) -> tuple[WhisperForConditionalGeneration, WhisperTokenizerFast]:
    """The full Whisper (encoder, decoder, tied output layer) and its tokenizer, in float32.

    Args:
        backbone: A ``locate_whisper`` source, or ``"random"`` (random weights seeded by ``seed``,
            the shape of the ``test`` preset's audio tower, tiny.en's vocabulary and tokenizer).

    Raises:
        ConfigError, CheckpointError: from ``locate_whisper`` / ``load_whisper``.
    """
    from transformers import WhisperForConditionalGeneration, WhisperTokenizerFast

    if str(backbone) == RANDOM:
        config = _random_config()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = WhisperForConditionalGeneration(config)
    else:
        source = locate_whisper(backbone)
        config, state = load_whisper(source)
        config._attn_implementation = "sdpa"
        with torch.device("meta"):
            model = WhisperForConditionalGeneration(config)
        model.load_state_dict(state, strict=True, assign=True)
        if config.tie_word_embeddings:
            # assign=True wraps each key in its own Parameter; one Parameter gets one gradient
            # and one optimizer update, as tying means.
            model.proj_out.weight = model.model.decoder.embed_tokens.weight
    if config.tie_word_embeddings and (
        model.proj_out.weight is not model.model.decoder.embed_tokens.weight
    ):
        raise CheckpointError(f"Whisper {backbone!r}: output layer and embeddings came untied")
    return model, WhisperTokenizerFast(tokenizer_file=str(tokenizer_file(backbone)))


def tokenizer_file(backbone: str | Path) -> Path:
    """The backbone's ``tokenizer.json`` (tiny.en's for ``"random"``)."""
    return whisper_tokenizer_path("tiny.en" if str(backbone) == RANDOM else backbone)


def _random_config() -> WhisperConfig:
    import json

    from transformers import WhisperConfig

    a = PRESETS["test"].audio
    # tiny.en's vocabulary and token ids, read without its weights (the CT2 config.json).
    tiny = json.loads(locate_whisper("tiny.en").config_path.read_text())
    eot = ENGLISH_EOT
    config = WhisperConfig(
        vocab_size=MULTILINGUAL_VOCAB - 1,
        num_mel_bins=a.n_mels,
        d_model=a.width,
        encoder_layers=a.layers,
        decoder_layers=a.layers,
        encoder_attention_heads=a.heads,
        decoder_attention_heads=a.heads,
        encoder_ffn_dim=a.ffn_dim,
        decoder_ffn_dim=a.ffn_dim,
        max_source_positions=1500,
        max_target_positions=448,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=eot + 1,
        suppress_tokens=tiny.get("suppress_ids"),
        begin_suppress_tokens=tiny.get("suppress_ids_begin"),
    )
    config._attn_implementation = "sdpa"
    return config


def is_multilingual(config: WhisperConfig) -> bool:
    return config.vocab_size >= MULTILINGUAL_VOCAB


def language_code(language: str | None) -> str | None:
    """Manifest language -> Whisper code: ``en_GB`` -> ``en``, ``sr@latin`` -> ``sr``."""
    if not language:
        return None
    return language.replace("@", "_").split("_")[0].lower()


@dataclass(frozen=True)
class Prompts:
    """Token ids of the decoder prompts for one backbone (see the module docstring)."""

    tokenizer: Any
    multilingual: bool
    caption_prompt: str
    eot: int
    max_positions: int  # the decoder's position limit (448 for every Whisper)

    @classmethod
    def for_model(cls, model, tokenizer, caption_prompt: str = "transcribe") -> Prompts:
        c = model.config
        return cls(
            tokenizer, is_multilingual(c), caption_prompt, c.eos_token_id, c.max_target_positions
        )

    @functools.cached_property
    def special(self) -> dict[str, int]:
        """Special token -> id (convert_tokens_to_ids would answer <|endoftext|> for a missing one)."""
        return self.tokenizer.get_added_vocab()

    def _id(self, token: str) -> int:
        idx = self.special.get(token)
        if idx is None:
            raise ConfigError(f"the Whisper tokenizer has no {token} token")
        return idx

    def languages(self) -> tuple[str, ...]:
        """Languages this backbone can be prompted to transcribe."""
        if not self.multilingual:
            return ("en",)
        codes = [t[2:-2] for t in self.special if t.startswith("<|") and t.endswith("|>")]
        return tuple(c for c in codes if 2 <= len(c) <= 3 and c.isalpha() and c.islower())

    def speech(self, language: str = "en") -> tuple[int, ...]:
        """``<|startoftranscript|>[<|xx|><|transcribe|>]<|notimestamps|>``."""
        if not self.multilingual:
            if language != "en":
                raise ConfigError(
                    f"language {language!r}: this Whisper is English-only (vocabulary "
                    f"< {MULTILINGUAL_VOCAB}); valid: ['en']"
                )
            return (self._id("<|startoftranscript|>"), self._id("<|notimestamps|>"))
        if language not in self.languages():
            raise ConfigError(
                f"language {language!r} has no Whisper token; valid: {self.languages()}"
            )
        return tuple(
            self._id(t)
            for t in (
                "<|startoftranscript|>",
                f"<|{language}|>",
                "<|transcribe|>",
                "<|notimestamps|>",
            )
        )

    def caption(self) -> tuple[int, ...]:
        prompt = self.speech("en")
        if self.caption_prompt == "prev":
            prompt = (self._id("<|startofprev|>"), *self.text(CAPTION_PREFIX)[:-1], *prompt)
        return prompt

    def text(self, text: str) -> tuple[int, ...]:
        """`` text`` as token ids, with the closing ``<|endoftext|>``."""
        ids = self.tokenizer.encode(" " + text.strip(), add_special_tokens=False)
        return (*ids, self.eot)

    def texts(self, texts: Sequence[str]) -> list[tuple[int, ...]]:
        """Batched :meth:`text` (the fast tokenizer encodes a list in one call)."""
        enc = self.tokenizer([" " + t.strip() for t in texts], add_special_tokens=False)
        return [(*ids, self.eot) for ids in enc["input_ids"]]


def encoder_tower(model) -> WhisperAudioTower:
    """A WavLink audio tower (mean pooling, no global token) running ``model``'s own encoder.

    It reuses the tower's dynamic-length forward (padded keys masked); with ``frames=None`` and
    3000-frame mels it computes exactly what Whisper's encoder does. No weights of its own.
    """
    c = model.config
    cfg = AudioConfig(
        backbone=RANDOM,
        n_mels=c.num_mel_bins,
        width=c.d_model,
        layers=c.encoder_layers,
        heads=c.encoder_attention_heads,
        ffn_dim=c.encoder_ffn_dim,
        pooling="mean",
    )
    with torch.device("meta"):  # its own encoder is replaced at once: allocate nothing
        tower = WhisperAudioTower(cfg)
    tower.encoder = model.model.encoder
    return tower


def encode(
    tower: WhisperAudioTower, mel: torch.Tensor, frames: torch.Tensor | None
) -> torch.Tensor:
    """(B, n_mels, T) log-mel -> (B, T/2, W) final encoder states; ``frames=None``: all valid."""
    tower.training = tower.encoder.training  # the tower's own flag drives its dropout
    hidden, _ = tower.forward_hidden(mel, frames)
    return hidden


def token_losses(
    model, hidden: torch.Tensor, input_ids: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forced cross-entropy per example.

    Args:
        hidden: (B, S, W) encoder states.
        input_ids: (B, L) decoder inputs (prompt + text, right-padded).
        labels: (B, L) next tokens, ``IGNORE`` on prompt and padding positions.

    Returns:
        (loss_sum, tokens): (B,) summed token losses and (B,) counted tokens. The training loss is
        ``loss_sum.sum() / tokens.sum()``, the paper's mean over target tokens.
    """
    # Right padding under a causal mask: real tokens never see the padding, so no mask is needed.
    logits = model(encoder_outputs=(hidden,), decoder_input_ids=input_ids, use_cache=False).logits
    loss = F.cross_entropy(
        logits.float().transpose(1, 2), labels, ignore_index=IGNORE, reduction="none"
    )  # (B, L)
    return loss.sum(1), (labels != IGNORE).sum(1)


@torch.inference_mode()
def greedy_decode(
    model, hidden: torch.Tensor, prompts: torch.Tensor, *, max_new_tokens: int | None = None
) -> list[list[int]]:
    """Greedy decoding with Whisper's token suppression; returns the text token ids per clip.

    Args:
        hidden: (B, S, W) encoder states.
        prompts: (B, P) prompt ids (all prompts of one batch have the same length).
        max_new_tokens: default: half the decoder context (224), as openai-whisper samples.

    Suppressed: the config's ``suppress_tokens`` and every special token (ids above
    ``<|endoftext|>``: no timestamps), plus ``begin_suppress_tokens`` (blank, end) at step one.
    """
    c = model.config
    eot = c.eos_token_id
    limit = c.max_target_positions - prompts.shape[1]
    steps = min(limit, max_new_tokens or c.max_target_positions // 2)
    suppress = torch.zeros(c.vocab_size, dtype=torch.bool, device=hidden.device)
    suppress[eot + 1 :] = True
    suppress[list(c.suppress_tokens or [])] = True
    begin = list(c.begin_suppress_tokens or [])
    out: list[list[int]] = [[] for _ in range(len(prompts))]
    done = torch.zeros(len(prompts), dtype=torch.bool, device=hidden.device)
    step_input, past = prompts, None
    for t in range(steps):
        o = model(
            encoder_outputs=(hidden,),
            decoder_input_ids=step_input,
            past_key_values=past,
            use_cache=True,
        )
        past = o.past_key_values
        logits = o.logits[:, -1].float().masked_fill(suppress, float("-inf"))
        if t == 0 and begin:
            logits[:, begin] = float("-inf")
        nxt = logits.argmax(-1).masked_fill(done, eot)
        for i, tok in enumerate(nxt.tolist()):
            if not done[i] and tok != eot:
                out[i].append(tok)
        done |= nxt == eot
        if bool(done.all()):
            break
        step_input = nxt[:, None]
    return out


def save_backbone(
    model, tokenizer_json: str | Path, folder: str | Path, provenance: dict[str, Any]
) -> Path:
    """Write ``config.json`` (with ``provenance`` under ``wavlink_adaptation``), ``model.safetensors``
    (float32, the tied output layer stored once, as ``save_pretrained`` does) and ``tokenizer.json``.

    The folder is a Hugging Face Whisper layout: ``load_whisper(folder)`` reads the full model and
    ``AudioConfig(backbone=str(folder))`` builds a WavLink audio tower on its encoder.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("proj_out.weight")
    save_file(state, str(folder / "model.safetensors.tmp"), metadata={"format": "pt"})
    (folder / "model.safetensors.tmp").replace(folder / "model.safetensors")
    config = copy.deepcopy(model.config)
    setattr(config, PROVENANCE_KEY, provenance)
    config.to_json_file(str(folder / "config.json"), use_diff=False)
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    return folder


def read_provenance(backbone: str | Path) -> dict[str, Any] | None:
    """The adaptation record of a saved backbone folder (None for any other Whisper source)."""
    import json

    source = locate_whisper(backbone)
    if source.kind != "hf" or source.config_path is None:
        return None
    return json.loads(source.config_path.read_text()).get(PROVENANCE_KEY)


def audio_config_for(backbone: str | Path, pooling: str = "mean") -> AudioConfig:
    """An ``AudioConfig`` whose shape matches the Whisper ``backbone`` (read from its weights)."""
    wcfg, _ = load_whisper(backbone, encoder_only=True)
    return AudioConfig(
        backbone=str(backbone),
        n_mels=wcfg.num_mel_bins,
        width=wcfg.d_model,
        layers=wcfg.encoder_layers,
        heads=wcfg.encoder_attention_heads,
        ffn_dim=wcfg.encoder_ffn_dim,
        pooling=pooling,
    )
