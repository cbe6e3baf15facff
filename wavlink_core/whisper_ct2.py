"""CTranslate2 ``WhisperSpec`` variables → Hugging Face ``transformers`` Whisper keys.

CTranslate2 fuses Q, K and V in self-attention and K, V in cross-attention, stores no key bias
(exact to drop: softmax cancels it), and keeps the encoder's sinusoidal positions as a variable.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from wavlink_core.ct2 import Ct2Model
from wavlink_core.errors import CheckpointError, ConfigError
from wavlink_core.whisper_source import WhisperSource

if TYPE_CHECKING:
    import transformers

logger = logging.getLogger(__name__)


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


# Scalar attributes that make the decoder a plain pre-norm GELU Whisper decoder.
_EXPECTED_FLAGS = {
    "decoder/activation": 3,
    "decoder/alibi": 0,
    "decoder/pre_norm": 1,
    "decoder/start_from_zero_embedding": 0,
}  # activation 3 = Activation.GELU
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
    "self_attn_layer_norm": "self_attention/layer_norm",
    "fc1": "ffn/linear_0",
    "fc2": "ffn/linear_1",
    "final_layer_norm": "ffn/layer_norm",
}


def ct2_to_hf(model: Ct2Model, source: WhisperSource) -> tuple[transformers.WhisperConfig, dict]:
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
                _split_attention(
                    out, take, src + "attention/", dst + "encoder_attn.", d_model, cross=True
                )
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
    out.update(
        {
            f"{dst}q_proj.weight": weights[0],
            f"{dst}q_proj.bias": biases[0],
            f"{dst}k_proj.weight": weights[-2],
            f"{dst}v_proj.weight": weights[-1],
            f"{dst}v_proj.bias": biases[-1],
            f"{dst}out_proj.weight": take(out_scope + "weight"),
            f"{dst}out_proj.bias": take(out_scope + "bias"),
        }
    )


def _split_rows(array: np.ndarray, parts: int, d: int, where: str) -> list[np.ndarray]:
    if array.shape[0] != parts * d:
        raise CheckpointError(f"{where}: {array.shape[0]} rows, expected {parts} x d_model={d}")
    return [array[i * d : (i + 1) * d] for i in range(parts)]


def _make_config(
    model: Ct2Model,
    source: WhisperSource,
    out: dict,
    num_layers: dict,
    d_model: int,
    n_mels: int,
    tied: bool,
) -> transformers.WhisperConfig:
    from transformers import WhisperConfig

    # Every released Whisper has 64-dim heads; files from old converters may omit num_heads.
    heads = {s: int(model.scalar(f"{s}/num_heads", d_model // 64)) for s in num_layers}
    vocab_size = out["model.decoder.embed_tokens.weight"].shape[0]
    ct2_config = json.loads(source.config_path.read_text()) if source.config_path else {}
    eot, sot = _special_ids(source, vocab_size)
    return WhisperConfig(
        vocab_size=vocab_size,
        num_mel_bins=n_mels,
        d_model=d_model,
        encoder_layers=num_layers["encoder"],
        decoder_layers=num_layers["decoder"],
        encoder_attention_heads=heads["encoder"],
        decoder_attention_heads=heads["decoder"],
        encoder_ffn_dim=out["model.encoder.layers.0.fc1.weight"].shape[0],
        decoder_ffn_dim=out["model.decoder.layers.0.fc1.weight"].shape[0],
        max_source_positions=out["model.encoder.embed_positions.weight"].shape[0],
        max_target_positions=out["model.decoder.embed_positions.weight"].shape[0],
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=tied,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=sot,
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
