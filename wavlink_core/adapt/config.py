"""``AdaptConfig``: every knob of one Whisper-AuT adaptation run, frozen, JSON round-trippable.

Built like :class:`~wavlink_core.training.config.TrainConfig` (and with its parsing helpers): a
JSON file plus ``--key=value`` overrides, every value checked against the field's type, unknown
keys rejected with the valid ones listed. The resolved config is written to
``<output_dir>/adapt_config.json`` before the first step.

Defaults are the paper's (arXiv 2604.10438, Appendix A, Table 3) where it gives them; the rest
are marked "paper silent" with the reason for our choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..corpus.sources import SUBSETS
from ..errors import ConfigError
from ..training.config import JsonConfig

DOMAINS = ("speech", "sound", "music")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
# "transcribe": captions use the very prompt speech uses (the paper names no special tokens).
# "prev": captions get Whisper's own conditioning prefix <|startofprev|> + CAPTION_PREFIX first,
# so the decoder is told which kind of text to write (an ablation; not in the paper).
CAPTION_PROMPTS = ("transcribe", "prev")
ALL_LANGUAGES = "all"
# What the `for_tests` preset changes: a random 2-layer Whisper, short clips, fast steps.
TEST_OVERRIDES: dict[str, Any] = {
    "backbone": "random",
    "clip_seconds": 2.0,
    "pad_to_30s": False,
    "max_target_tokens": 64,
    "batch_size": 4,
    "epochs": 1,
    "lr": 1e-3,
    "warmup_ratio": 0.0,
    "val_max_clips": 4,
    "progress": False,
}


@dataclass(frozen=True)
class AdaptConfig(JsonConfig):
    """One seq2seq adaptation run of a full Whisper (encoder + decoder) on the offline corpus."""

    KIND = "adaptation"

    # --- model -------------------------------------------------------------------------------
    # A Whisper source (see wavlink_core.whisper_weights.locate_whisper: tiny.en, base, small, a
    # CTranslate2/HF folder, hf://owner/name), or "random": a 2-layer d=64 Whisper with tiny.en's
    # vocabulary, shaped like the `test` WavLink preset's audio tower (tests only).
    backbone: str = "tiny.en"
    gradient_checkpointing: bool = False  # the paper's setting for large-v3; saves memory on GPU
    # --- data --------------------------------------------------------------------------------
    corpus: str = ""  # corpus dir; manifest paths are relative to it
    manifest: str = "manifest.jsonl"  # relative to corpus (or absolute)
    # Sampling shares of the three domains per draw (the paper's 80/10/10); need not sum to 1.
    speech_weight: float = 0.8
    sound_weight: float = 0.1
    music_weight: float = 0.1
    # Corpus subsets per domain; "speech" is always the speech subset. sfx holds the synthetic
    # scenes too (synthetic=true rows of subset sfx).
    sound_subsets: tuple[str, ...] = ("sfx",)
    music_subsets: tuple[str, ...] = ("instruments", "gm", "grooves")
    # Languages of the speech clips kept (manifest `language`, region/script suffix ignored:
    # en_GB -> en). English only by default: tiny.en/base.en never learnt other languages.
    # "all" = every language the backbone has a token for (multilingual backbones only).
    speech_languages: tuple[str, ...] = ("en",)
    caption_prompt: str = "transcribe"
    # Audio per example: the first clip_seconds (the paper truncates at 30 s). Speech clips
    # longer than this are dropped rather than cut, since their transcript would no longer match.
    clip_seconds: float = 30.0
    # True: every clip padded to Whisper's 30-s window (the paper, and how Whisper was trained).
    # False: dynamic length as WavLink encodes (padded keys masked), much faster on short clips.
    pad_to_30s: bool = True
    # Longest decoder sequence (prompt + text + end token); longer targets are discarded, as
    # the paper discards captions over Whisper's 448-token limit.
    max_target_tokens: int = 448
    # --- optimisation ------------------------------------------------------------------------
    lr: float = 1e-5
    weight_decay: float = 0.01  # not applied to biases and norms (ndim < 2)
    betas: tuple[float, ...] = (0.9, 0.999)
    warmup_ratio: float = 0.05
    schedule: str = "cosine"
    grad_clip: float = (
        1.0  # paper silent; 1.0 is the HF Trainer default its setup suggests; 0 = off
    )
    epochs: int = 2  # one epoch = as many draws as there are training examples (all domains)
    max_steps: int | None = None  # overrides epochs for the schedule length
    halt_at_step: int | None = None  # stop early (resume state saved), the schedule is unchanged
    batch_size: int = 8  # per device and micro-step (paper: 8/GPU x 8 GPUs x 2 accumulation)
    grad_accum: int = 1  # micro-batches per optimizer step
    num_workers: int = 0
    # --- hardware ----------------------------------------------------------------------------
    device: str = "auto"  # auto | cpu | cuda; several GPUs/nodes: launch with `accelerate launch`
    precision: str = "auto"  # auto = bf16 on CUDA (paper), fp32 on CPU
    threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    # --- bookkeeping -------------------------------------------------------------------------
    val_every: int = 0  # validate every N steps (0: at the end of each epoch only)
    val_max_clips: int | None = 64  # per domain (seeded subset of the val split)
    log_every: int = 1
    save_every: int = 0  # write resume state every N steps (0: only at the end / halt)
    seed: int = 0
    output_dir: str = "runs/whisper_aut"
    resume: bool = False  # continue from <output_dir>/state if present
    progress: bool = True  # tqdm bar

    def __post_init__(self) -> None:
        def choice(name: str, valid: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in valid:
                raise ConfigError(f"{name}={value!r} is not valid; choose one of {list(valid)}")

        choice("precision", PRECISIONS)
        choice("device", DEVICES)
        choice("caption_prompt", CAPTION_PROMPTS)
        choice("schedule", ("cosine",))
        positive = {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "clip_seconds": self.clip_seconds,
            "epochs": self.epochs,
            "log_every": self.log_every,
        }
        bad = {k: v for k, v in positive.items() if not v > 0}
        if bad:
            raise ConfigError(f"these must be > 0: {bad}")
        weights = self.mix
        if any(w < 0 for w in weights.values()) or not sum(weights.values()) > 0:
            raise ConfigError(
                f"mix weights {weights} must be >= 0 with a positive sum "
                "(speech_weight, sound_weight, music_weight)"
            )
        for name in ("sound_subsets", "music_subsets"):
            unknown = [s for s in getattr(self, name) if s not in SUBSETS or s == "speech"]
            if unknown:
                valid = [s for s in SUBSETS if s != "speech"]
                raise ConfigError(f"{name}: unknown subset(s) {unknown}; valid: {valid}")
        both = sorted(set(self.sound_subsets) & set(self.music_subsets))
        if both:
            raise ConfigError(f"subset(s) {both} are in both sound_subsets and music_subsets")
        if not self.speech_languages:
            raise ConfigError(
                f"speech_languages is empty; give codes like en,fr or {ALL_LANGUAGES!r}"
            )
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio={self.warmup_ratio} must lie in [0, 1)")
        if len(self.betas) != 2:
            raise ConfigError(f"betas={self.betas} must have two values")
        if self.clip_seconds > 30:
            raise ConfigError(f"clip_seconds={self.clip_seconds} exceeds Whisper's 30-s window")
        if self.max_target_tokens < 8:
            raise ConfigError(f"max_target_tokens={self.max_target_tokens} must be >= 8")
        for name in ("max_steps", "halt_at_step", "val_max_clips", "threads"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name}={value} must be > 0 or null")
        if self.val_every < 0 or self.save_every < 0 or self.num_workers < 0:
            raise ConfigError("val_every, save_every and num_workers must be >= 0")

    # --- derived -----------------------------------------------------------------------------
    @property
    def mix(self) -> dict[str, float]:
        """Domain -> sampling weight (unnormalised)."""
        return {
            "speech": self.speech_weight,
            "sound": self.sound_weight,
            "music": self.music_weight,
        }

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir)

    @classmethod
    def for_tests(cls, **changes: Any) -> AdaptConfig:
        """The tiny preset (``TEST_OVERRIDES``: random 2-layer Whisper, 2-s clips) plus ``changes``."""
        return cls(**{**TEST_OVERRIDES, **changes})
