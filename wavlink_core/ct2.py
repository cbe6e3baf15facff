"""Reader for CTranslate2 ``model.bin`` files (also split into ``model.bin.part*``).

Layout, as written by ``ctranslate2/specs/model_spec.py`` and read by the C++
``models/model.cc`` (all integers little-endian)::

    uint32  binary version (1..6 known)
    if version >= 2:  string spec name, uint32 spec revision
    uint32  number of variables, then per variable:
        string name, uint8 rank, rank x uint32 dims,
        version >= 4: uint8 dtype id, uint32 byte count
        version <  4: uint8 item size, uint32 element count
        raw bytes (C order)
    if version >= 3:  uint32 number of aliases, then pairs (string alias, string target)

A *string* is a uint16 length that counts a trailing NUL, then the bytes.
This module only depends on numpy so that it stays cheap to import.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wavlink_core.errors import CheckpointError

logger = logging.getLogger(__name__)

MAX_BINARY_VERSION = 6

# Order of the C++ ``DataType`` enum (include/ctranslate2/types.h); the id is the index.
_DTYPE_NAMES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_NUMPY_DTYPES = {
    "float32": np.dtype("<f4"),
    "int8": np.dtype("i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),  # widened to float32 after reading: numpy has no bfloat16
}
# Binary versions < 4 store an item size instead of a dtype id (model.cc get_dtype_from_item_size).
_DTYPE_BY_ITEM_SIZE = {4: "float32", 2: "int16", 1: "int8"}
_MAX_RANK = 8


@dataclass(frozen=True)
class Ct2Model:
    """Variables of one CTranslate2 model file, with aliases already resolved.

    Attributes:
        spec_name: Model specification, e.g. ``"WhisperSpec"`` (empty for binary version 1).
        revision: Revision of that specification.
        binary_version: Version of the file layout.
        variables: Name -> array in its stored dtype (bfloat16 is widened to float32).
            An alias maps to the same array object as its target.
        stored_dtypes: Name -> dtype name as stored in the file (aliases included).
        aliases: Alias name -> target name, as stored.
        sources: The file(s) that were read, in stream order.
    """

    spec_name: str
    revision: int
    binary_version: int
    variables: dict[str, np.ndarray]
    stored_dtypes: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()

    def get(self, name: str) -> np.ndarray:
        """Returns variable ``name``; raises CheckpointError naming its siblings if absent."""
        try:
            return self.variables[name]
        except KeyError:
            raise CheckpointError(
                f"{_describe(self.sources)}: no variable {name!r} "
                f"(spec {self.spec_name!r}); variables under the same scope: "
                f"{_siblings(name, self.variables)}"
            ) from None

    def scalar(self, name: str, default: int | float | None = None) -> int | float | None:
        """Returns the rank-0 attribute ``name`` as a Python number, or ``default`` if absent."""
        if name not in self.variables:
            return default
        value = self.variables[name]
        if value.ndim != 0:
            raise CheckpointError(
                f"{_describe(self.sources)}: {name!r} should be a scalar, has shape {value.shape}"
            )
        return value.item()

    def float32(self, name: str) -> np.ndarray:
        """Returns variable ``name`` as float32, dequantizing int8/int16 weights.

        CTranslate2 stores a quantized weight ``w`` as ``q = round(w * scale)`` next to
        ``<name>_scale`` (int8: one scale per output row, int16: one global scale), so
        ``w ~= q / scale``; the error is at most half a quantization step per element.

        Returns:
            np.ndarray: float32 array with the variable's shape.
        """
        value = self.get(name)
        dtype = self.stored_dtypes[name]
        if dtype in ("float32", "float16", "bfloat16"):
            return value.astype(np.float32, copy=False)
        scale_name = f"{name}_scale"
        if f"{name}_zero" in self.variables:
            raise CheckpointError(
                f"{_describe(self.sources)}: {name!r} uses zero-point (AWQ/GPTQ) quantization, "
                "which is not supported; convert with quantization float32, float16 or int8"
            )
        if dtype not in ("int8", "int16") or scale_name not in self.variables:
            raise CheckpointError(
                f"{_describe(self.sources)}: {name!r} is stored as {dtype} without a "
                f"{scale_name!r} variable, so it cannot be read as a float weight"
            )
        scale = self.variables[scale_name].astype(np.float32)
        # Per-row scales broadcast over every trailing axis (conv weights are (out, in, k)).
        scale = scale.reshape(scale.shape + (1,) * (value.ndim - scale.ndim))
        return value.astype(np.float32) / scale


class _SplitStream:
    """Reads several files as one byte stream, never concatenating them on disk."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.sizes = []
        for path in paths:
            if path.is_dir():
                raise CheckpointError(f"{path} is a folder; pass {path / 'model.bin'} or its parts")
            try:
                self.sizes.append(path.stat().st_size)
            except OSError as exc:
                raise CheckpointError(f"cannot read CTranslate2 model file {path}: {exc}") from exc
        self.total = sum(self.sizes)
        self.pos = 0
        self._index = 0
        self._handle = open(paths[0], "rb")  # noqa: SIM115 - closed in close()

    def close(self) -> None:
        self._handle.close()

    def where(self) -> str:
        """Names the file and local offset of the current position, for error messages."""
        offset = self.pos
        for path, size in zip(self.paths, self.sizes):
            if offset < size:
                return f"{path} at byte {offset}"
            offset -= size
        return f"{self.paths[-1]} at its end (byte {self.sizes[-1]})"

    def readinto(self, buffer: memoryview, what: str) -> None:
        """Fills ``buffer`` completely, crossing file boundaries; raises on premature end."""
        need = len(buffer)
        if self.pos + need > self.total:
            raise CheckpointError(
                f"{self.where()}: file is truncated while reading {what}: needs {need} bytes, "
                f"only {self.total - self.pos} left in {_describe(tuple(self.paths))}"
            )
        done = 0
        while done < need:
            got = self._handle.readinto(buffer[done:])
            if not got:
                # Current part exhausted: continue in the next one.
                self._index += 1
                self._handle.close()
                self._handle = open(self.paths[self._index], "rb")  # noqa: SIM115
                continue
            done += got
        self.pos += need

    def read(self, n: int, what: str) -> bytes:
        buffer = bytearray(n)
        self.readinto(memoryview(buffer), what)
        return bytes(buffer)

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.read(struct.calcsize("<" + fmt), what))

    def string(self, what: str) -> str:
        (length,) = self.unpack("H", f"length of {what}")
        if length == 0:
            raise CheckpointError(f"{self.where()}: {what} has length 0 (no NUL terminator)")
        raw = self.read(length, what)
        if raw[-1] != 0:
            raise CheckpointError(f"{self.where()}: {what} is not NUL-terminated: {raw[:60]!r}")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{self.where()}: {what} is not UTF-8: {raw[:60]!r}") from None


def read_ct2_model(paths: Path | str | list[Path] | list[str]) -> Ct2Model:
    """Parses a CTranslate2 ``model.bin``, possibly split into consecutive parts.

    Args:
        paths: The ``model.bin`` file, or its parts in order (``model.bin.part1``,
            ``model.bin.part2``, ...); the parts are read as one stream.

    Returns:
        Ct2Model: Every variable as a numpy array of its stored shape, e.g.
        ``encoder/conv1/weight`` of shape (d_model, n_mels, 3) for Whisper.

    Raises:
        CheckpointError: A file is missing, truncated, has trailing bytes, an unknown
            binary version or dtype, inconsistent sizes or a dangling alias; the
            message names the file and the offset.
    """
    path_list = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not path_list:
        raise CheckpointError("read_ct2_model needs at least one model.bin file, got an empty list")
    stream = _SplitStream(path_list)
    try:
        model = _parse(stream)
    finally:
        stream.close()
    logger.debug(
        "read %d variables (%d aliases) of %s rev %d from %s",
        len(model.variables),
        len(model.aliases),
        model.spec_name,
        model.revision,
        _describe(model.sources),
    )
    return model


def _parse(stream: _SplitStream) -> Ct2Model:
    (version,) = stream.unpack("I", "binary version")
    if not 1 <= version <= MAX_BINARY_VERSION:
        raise CheckpointError(
            f"{_describe(tuple(stream.paths))}: binary version {version} is not a known "
            f"CTranslate2 model.bin version (1..{MAX_BINARY_VERSION}); is this a model.bin?"
        )
    spec_name, revision = "", 1
    if version >= 2:
        spec_name = stream.string("spec name")
        (revision,) = stream.unpack("I", "spec revision")
    (count,) = stream.unpack("I", "variable count")

    variables: dict[str, np.ndarray] = {}
    stored_dtypes: dict[str, str] = {}
    for index in range(count):
        name = stream.string(f"name of variable #{index}")
        if name in variables:
            raise CheckpointError(f"{stream.where()}: variable {name!r} appears twice")
        (rank,) = stream.unpack("B", f"rank of {name!r}")
        if rank > _MAX_RANK:
            raise CheckpointError(f"{stream.where()}: {name!r} has rank {rank} (> {_MAX_RANK})")
        dims = stream.unpack(f"{rank}I", f"shape of {name!r}") if rank else ()
        dtype_name, num_bytes = _read_dtype_and_size(stream, version, name)
        np_dtype = _NUMPY_DTYPES[dtype_name]
        expected = int(np.prod(dims, dtype=np.int64)) * np_dtype.itemsize
        if num_bytes != expected:
            raise CheckpointError(
                f"{stream.where()}: variable {name!r} of shape {tuple(dims)} and dtype "
                f"{dtype_name} should hold {expected} bytes, header says {num_bytes}"
            )
        data = np.empty(tuple(dims), dtype=np_dtype)
        stream.readinto(memoryview(data.reshape(-1).view(np.uint8)), f"data of {name!r}")
        if dtype_name == "bfloat16":
            # bfloat16 is the upper half of a float32, so widening is exact.
            data = (data.astype(np.uint32) << 16).view(np.float32)
        variables[name] = data
        stored_dtypes[name] = dtype_name

    aliases: dict[str, str] = {}
    if version >= 3:
        (num_aliases,) = stream.unpack("I", "alias count")
        for _ in range(num_aliases):
            alias = stream.string("alias name")
            aliases[alias] = stream.string(f"target of alias {alias!r}")
    if stream.pos != stream.total:
        raise CheckpointError(
            f"{stream.where()}: {stream.total - stream.pos} unexpected trailing bytes after the "
            f"last {'alias' if version >= 3 else 'variable'} of {_describe(tuple(stream.paths))} "
            "(wrong part order, or a part from another model?)"
        )
    for alias in aliases:
        target = _resolve(alias, aliases, variables, stream)
        variables[alias] = variables[target]
        stored_dtypes[alias] = stored_dtypes[target]
    return Ct2Model(
        spec_name=spec_name,
        revision=revision,
        binary_version=version,
        variables=variables,
        stored_dtypes=stored_dtypes,
        aliases=aliases,
        sources=tuple(stream.paths),
    )


def _read_dtype_and_size(stream: _SplitStream, version: int, name: str) -> tuple[str, int]:
    if version >= 4:
        type_id, num_bytes = stream.unpack("BI", f"dtype and size of {name!r}")
        if type_id >= len(_DTYPE_NAMES):
            raise CheckpointError(
                f"{stream.where()}: variable {name!r} has unknown dtype id {type_id}; "
                f"known ids: {dict(enumerate(_DTYPE_NAMES))}"
            )
        return _DTYPE_NAMES[type_id], num_bytes
    item_size, num_items = stream.unpack("BI", f"item size and count of {name!r}")
    if item_size not in _DTYPE_BY_ITEM_SIZE:
        raise CheckpointError(
            f"{stream.where()}: variable {name!r} has item size {item_size}; "
            f"binary version {version} only knows {sorted(_DTYPE_BY_ITEM_SIZE)}"
        )
    return _DTYPE_BY_ITEM_SIZE[item_size], num_items * item_size


def _resolve(alias: str, aliases: dict[str, str], variables: dict, stream: _SplitStream) -> str:
    seen = [alias]
    target = aliases[alias]
    while target in aliases and target not in variables:
        if target in seen:
            cycle = " -> ".join(seen + [target])
            raise CheckpointError(f"{_describe(tuple(stream.paths))}: alias cycle {cycle}")
        seen.append(target)
        target = aliases[target]
    if target not in variables:
        raise CheckpointError(
            f"{_describe(tuple(stream.paths))}: alias {alias!r} points to unknown {target!r}"
        )
    return target


def _describe(paths: tuple[Path, ...]) -> str:
    if len(paths) == 1:
        return str(paths[0])
    return " + ".join(str(p) for p in paths)


def _siblings(name: str, variables: dict[str, np.ndarray], limit: int = 12) -> str:
    scope = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
    close = sorted(n for n in variables if n.startswith(scope))[:limit]
    return ", ".join(close) if close else "(none)"
