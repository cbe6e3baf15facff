"""``TrainConfig``: every knob of one training stage, frozen, JSON round-trippable.

Built from a JSON file plus ``--key=value`` overrides (:func:`TrainConfig.from_json`,
:func:`parse_overrides`); each value is checked against the field's type and unknown keys are
rejected with the valid ones listed. The resolved config is written to ``<output_dir>/train_config.json``
before the first step, so a run dir always says exactly how it was made.

Two stages are two invocations (see ``engine.py``): stage 1 on the whole corpus, stage 2 with
``init_from=<stage-1 run>/model`` and ``curated=true``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

REGIMES = ("projector", "lora", "full")
SCOPES = ("audio", "both")
LOSSES = ("clip", "siglip")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
LORA_SAVES = ("merge",)
# The corpus subsets (wavlink_core.corpus.sources.SUBSETS); "curated" = real recordings of these.
CURATED_SUBSETS = ("sfx", "instruments")
# Whisper encoder layers (HF WhisperEncoderLayer) and BERT/MiniLM layers (HF BertLayer): every
# Linear of attention and MLP. "dense" matches BERT's attention-output, intermediate and output
# Linears; none of the names occurs outside the transformer blocks of either tower.
LORA_TARGETS_AUDIO = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
LORA_TARGETS_TEXT = ("query", "key", "value", "dense")


class JsonConfig:
    """JSON and ``--key=value`` round trip for a frozen config dataclass; every value is checked
    against its field's type and unknown keys are rejected with the valid ones listed."""

    KIND = "config"  # named in errors: "cannot read training config ..."

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def replace(self, **changes: Any) -> typing.Self:
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        return typing.get_type_hints(cls)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> typing.Self:
        types_ = cls.field_types()
        _check_keys(data, types_, cls.KIND)
        return cls(**{k: _coerce(k, v, types_[k], from_text=False) for k, v in data.items()})

    @classmethod
    def from_json(cls, path: str | Path | None, overrides: list[str] | None = None) -> typing.Self:
        """Config file (optional) + ``--key=value`` overrides; every value type-checked."""
        data: dict[str, Any] = {}
        if path is not None:
            try:
                data = json.loads(Path(path).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(f"cannot read {cls.KIND} config {path}: {exc}") from exc
            if not isinstance(data, dict):
                raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
        types_ = cls.field_types()
        _check_keys(data, types_, cls.KIND)
        values = {k: _coerce(k, v, types_[k], from_text=False) for k, v in data.items()}
        values.update(parse_overrides(overrides or [], types_, cls.KIND))
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """One training stage. Paper values (arXiv 2601.15118 §1.7) where it gives them."""

    KIND = "training"

    # --- model -------------------------------------------------------------------------------
    model: str = "tiny"  # preset name (tiny/base/small/test); ignored when init_from is set
    init_from: str | None = None  # checkpoint folder (e.g. stage 1's <run>/model) to start from
    audio_pooling: str | None = None  # override the preset's pooling: "global" | "mean" (baseline)
    # Override the preset's audio weights: a Whisper name or an HF folder of the same shape, e.g.
    # an adapted encoder from `python -m wavlink_core.adapt` (<run>/backbone).
    audio_backbone: str | None = None
    # --- data --------------------------------------------------------------------------------
    corpus: str = ""  # corpus dir; manifest paths are relative to it (alias of one --data entry)
    # Sources of any kind (wavlink_core.data.sources): corpus, table, folder, hf, shards.
    data: tuple[str, ...] = ()
    data_weights: tuple[float, ...] = ()  # expected passes over each source per epoch (default 1)
    val_data: tuple[str, ...] = ()  # validation sources (default: split column or a holdout)
    val_fraction: float = 0.05  # seeded holdout of sources without a split (>= 10 clips)
    caption_column: str | None = None  # table / HF column with the caption(s), when not obvious
    audio_column: str | None = None  # table / HF column with the audio, when not obvious
    audio_dir: str | None = None  # where a table's audio files are, when not beside it
    folder_template: str = "This is a sound of {}."  # class folder name -> caption
    min_clips: int = 16  # refuse sources with fewer training clips than this
    shuffle_buffer: int = 1000  # samples in each shard stream's shuffle buffer
    log_samples: bool = False  # write the sample ids of every step to <run>/samples/rank<r>.jsonl
    manifest: str = "manifest.jsonl"  # relative to corpus (or absolute)
    stage: str = "stage1"
    subsets: tuple[str, ...] = ()  # keep only these subsets (empty: all)
    categories: tuple[str, ...] = ()  # keep only these categories (empty: all)
    exclude_packages: tuple[str, ...] = ()  # drop clips of these source packages
    curated: bool = False  # stage-2 filter: subsets sfx+instruments, real recordings only
    synthetic_weight: float = 1.0  # expected draws of a synthetic clip per epoch (0 drops them)
    max_clips: int | None = None  # cap of train clips (seeded random subset), for quick runs
    clip_seconds: float = 10.0  # train/val crop length; shorter clips are not padded (dynamic)
    random_crop: bool = True  # seeded random crop in training (val and caches: first seconds)
    min_seconds: float = 0.0  # drop clips shorter than this
    # --- objective ---------------------------------------------------------------------------
    loss: str = "clip"  # clip | siglip
    matryoshka: bool = True  # mean of the loss over the model's D, D/2, D/4, D/8
    caption_groups: bool = True  # equal captions in a batch are positives (ClipLoss group_ids)
    # --- what trains -------------------------------------------------------------------------
    regime: str = "full"  # projector | lora | full (paper sweep winner: full, both towers)
    scope: str = "both"  # audio (text tower frozen) | both
    train_global_token: bool = True  # False + projector: audio tower fully frozen -> feature cache
    # False: the text projection keeps init_from's weights, so every word's text embedding (the
    # shared space's anchor points) stays as shipped and only the audio side moves toward it
    train_text_head: bool = True
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets_audio: tuple[str, ...] = LORA_TARGETS_AUDIO
    lora_targets_text: tuple[str, ...] = LORA_TARGETS_TEXT
    lora_save: str = (
        "merge"  # merged into the tower weights (loads with the current checkpoint code)
    )
    feature_cache: bool = True  # cache frozen-tower outputs (pooled features) once per clip/caption
    cache_dir: str | None = (
        None  # where caches live (default <output_dir>/cache); share it across runs
    )
    # --- optimisation ------------------------------------------------------------------------
    lr: float = 1e-4
    weight_decay: float = (
        0.01  # paper silent; not applied to biases, norms, global token, temperature
    )
    betas: tuple[float, ...] = (0.9, 0.999)
    warmup_ratio: float = 0.05
    schedule: str = "cosine"
    grad_clip: float = 1.0  # max grad norm; 0 disables (paper silent)
    l2sp: float = 0.0  # weight of sum ||w - w_init||^2 over trainable weights (training/anchor.py)
    epochs: int = 3
    max_steps: int | None = None  # overrides epochs for the schedule length
    halt_at_step: int | None = None  # stop early (resume state saved), the schedule is unchanged
    batch_size: int = 32  # per device
    num_workers: int = 0
    # --- hardware ----------------------------------------------------------------------------
    device: str = "auto"  # auto | cpu | cuda; several GPUs/nodes: launch with `accelerate launch`
    precision: str = "auto"  # auto = bf16 on CUDA, fp32 on CPU
    threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    # --- bookkeeping -------------------------------------------------------------------------
    val_every: int = 0  # validate every N steps (0: at the end of each epoch only)
    val_max_clips: int | None = None
    log_every: int = 1
    save_every: int = 0  # write resume state every N steps (0: only at the end / halt)
    save_dtype: str = "float32"  # float32 | float16 for the final checkpoint
    seed: int = 0
    output_dir: str = "runs/stage1"
    resume: bool = False  # continue from <output_dir>/state if present
    progress: bool = True  # tqdm bar

    def __post_init__(self) -> None:
        def choice(name: str, valid: tuple[str, ...]) -> None:
            value = getattr(self, name)
            if value not in valid:
                raise ConfigError(f"{name}={value!r} is not valid; choose one of {list(valid)}")

        choice("regime", REGIMES)
        choice("scope", SCOPES)
        choice("loss", LOSSES)
        choice("precision", PRECISIONS)
        choice("device", DEVICES)
        choice("lora_save", LORA_SAVES)
        choice("schedule", ("cosine",))
        choice("save_dtype", ("float32", "float16"))
        if self.audio_pooling is not None:
            choice("audio_pooling", ("global", "mean"))
        positive = {
            "lr": self.lr,
            "batch_size": self.batch_size,
            "clip_seconds": self.clip_seconds,
            "lora_rank": self.lora_rank,
            "epochs": self.epochs,
            "log_every": self.log_every,
        }
        bad = {k: v for k, v in positive.items() if not v > 0}
        if bad:
            raise ConfigError(f"these must be > 0: {bad}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio={self.warmup_ratio} must lie in [0, 1)")
        if not self.l2sp >= 0:
            raise ConfigError(f"l2sp={self.l2sp} must be >= 0 (0 turns the penalty off)")
        if self.synthetic_weight < 0:
            raise ConfigError(f"synthetic_weight={self.synthetic_weight} must be >= 0")
        if len(self.betas) != 2:
            raise ConfigError(f"betas={self.betas} must have two values")
        if self.clip_seconds > 30:
            raise ConfigError(f"clip_seconds={self.clip_seconds} exceeds Whisper's 30-s window")
        for name in ("max_steps", "halt_at_step", "max_clips", "val_max_clips", "threads"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name}={value} must be > 0 or null")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction={self.val_fraction} must lie in [0, 1)")
        from ..templates import check_template

        try:
            check_template(self.folder_template)
        except ValueError as exc:
            raise ConfigError(f"folder_template: {exc}") from exc
        if self.val_every < 0 or self.save_every < 0 or self.num_workers < 0:
            raise ConfigError("val_every, save_every and num_workers must be >= 0")

    # --- derived -----------------------------------------------------------------------------
    @property
    def audio_weights_train(self) -> bool:
        """Whisper encoder weights (or their LoRA adapters) train."""
        return self.regime in ("lora", "full")

    @property
    def text_weights_train(self) -> bool:
        return self.regime in ("lora", "full") and self.scope == "both"

    @property
    def audio_frozen(self) -> bool:
        """The whole audio tower output is fixed: its pooled features can be cached."""
        return not self.audio_weights_train and not self.train_global_token

    @property
    def effective_subsets(self) -> tuple[str, ...]:
        if self.curated:
            keep = self.subsets or CURATED_SUBSETS
            return tuple(s for s in keep if s in CURATED_SUBSETS)
        return self.subsets

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir)


def _check_keys(data: dict[str, Any], types_: dict[str, Any], kind: str = "training") -> None:
    unknown = sorted(set(data) - set(types_))
    if unknown:
        raise ConfigError(f"unknown {kind} config keys {unknown}; valid keys are {sorted(types_)}")


def parse_overrides(
    items: list[str], types_: dict[str, Any] | None = None, kind: str = "training"
) -> dict[str, Any]:
    """``["--lr=3e-4", "--subsets=sfx,instruments", "--init_from=null"]`` -> typed dict."""
    types_ = types_ or TrainConfig.field_types()
    out: dict[str, Any] = {}
    for item in items:
        if not item.startswith("--") or "=" not in item:
            raise ConfigError(f"override {item!r} must look like --key=value")
        key, value = item[2:].split("=", 1)
        key = key.replace("-", "_")
        _check_keys({key: None}, types_, kind)
        out[key] = _coerce(key, value, types_[key], from_text=True)
    return out


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _coerce(key: str, value: Any, tp: Any, *, from_text: bool) -> Any:
    """Check (JSON values) or parse (command-line strings) ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if value is None or (from_text and str(value).lower() in ("none", "null")):
            return None
        return _coerce(key, value, inner[0], from_text=from_text)
    if origin is tuple:
        elem = args[0]
        if from_text:
            text = str(value).strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{key}: {text!r} is not a JSON list: {exc}") from exc
            else:
                value = [v.strip() for v in text.split(",") if v.strip()]
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list of {elem.__name__}, got {value!r}")
        return tuple(_coerce(key, v, elem, from_text=from_text) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_text:
            try:
                return int(str(value))
            except ValueError:
                pass
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if from_text:
            try:
                return float(str(value))
            except ValueError:
                pass
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported field type {tp}")  # pragma: no cover
