"""Settings of a sound library, fixed when it is created and stored with it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..audio import DEFAULT_MAX_SECONDS
from ..errors import ConfigError

QUANTIZATIONS = ("float32", "int8", "binary")


@dataclass(frozen=True)
class LibraryConfig:
    """How files are cut, batched and indexed.

    Attributes:
        segment_s: Length of the segments a long file is also embedded as, in seconds.
        hop_s: Step between segment starts (``hop_s < segment_s`` overlaps them).
        max_seconds: Longer files are skipped as bad (the limit of ``load_audio``).
        batch_files: Files decoded, embedded and committed together; bounds memory and the work a
            kill can lose.
        batch_seconds: A batch is also closed once it holds this much audio.
        shortlist_quantization: How the small Matryoshka sizes are stored for the shortlist:
            ``float32``, ``int8`` (per-vector scale) or ``binary`` (sign bits, Hamming distance).
        shortlist_factor: The shortlist holds ``k * shortlist_factor`` rows before the full-size
            re-rank.
    """

    segment_s: float = 10.0
    hop_s: float = 5.0
    max_seconds: float = DEFAULT_MAX_SECONDS
    batch_files: int = 32
    batch_seconds: float = 900.0
    shortlist_quantization: str = "int8"
    shortlist_factor: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.hop_s <= self.segment_s:
            raise ConfigError(
                f"hop_s={self.hop_s} and segment_s={self.segment_s}: need 0 < hop_s <= segment_s"
            )
        if self.shortlist_quantization not in QUANTIZATIONS:
            raise ConfigError(
                f"shortlist_quantization={self.shortlist_quantization!r}; choose one of "
                f"{QUANTIZATIONS}"
            )
        for name in ("max_seconds", "batch_files", "batch_seconds", "shortlist_factor"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be > 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LibraryConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
