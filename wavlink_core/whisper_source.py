"""``WhisperSource``: where one Whisper checkpoint's files are. Its own module so that the
loader (``whisper_weights``) and the CTranslate2 converter (``whisper_ct2``) both import it
without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
