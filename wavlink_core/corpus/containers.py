"""Parsers for the two non-zip audio containers: Qt resource bundles and OpenTTD's ``.cat``.

Both are pure functions over bytes so they can be tested on small synthetic blobs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from wavlink_core.errors import WavLinkError


class ContainerError(WavLinkError, ValueError):
    """A container that does not parse; the message names the offset and what was expected."""


def iter_rcc(blob: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, data)`` for every file in a Qt ``.rcc`` bundle.

    Layout (big-endian): ``b"qres"``, version, tree, data and names offsets (plus a flags word from
    version 3). Tree nodes are 14 bytes (version 1) or 22 (version 2+, an extra u64 mtime):
    ``name_off:u32, flags:u16`` then ``count:u32, first:u32`` for a directory (flag 2) or
    ``country:u16, lang:u16, data_off:u32`` for a file. Data is ``size:u32`` + bytes; flag 1 means
    qCompress (4-byte length prefix + zlib), flag 4 means zstd (not supported: skipped).

    Raises:
        ContainerError: if the magic or an offset is invalid.
    """
    if blob[:4] != b"qres":
        raise ContainerError(f"not a Qt rcc bundle: magic {blob[:4]!r}, expected b'qres'")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    if version not in (1, 2, 3):
        raise ContainerError(f"unsupported rcc version {version}; valid: 1, 2, 3")
    node_size = 14 if version == 1 else 22

    def name_at(off: int) -> str:
        pos = names + off
        (length,) = struct.unpack(">H", blob[pos : pos + 2])
        return blob[pos + 6 : pos + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        pos = tree + index * node_size
        if pos + 14 > len(blob):
            raise ContainerError(
                f"rcc tree node {index} at offset {pos} is past the end ({len(blob)})"
            )
        name_off, flags = struct.unpack(">IH", blob[pos : pos + 6])
        name = "" if index == 0 else name_at(name_off)
        path = f"{prefix}/{name}" if prefix else name
        if flags & 2:
            count, first = struct.unpack(">II", blob[pos + 6 : pos + 14])
            for child in range(first, first + count):
                yield from walk(child, path)
            return
        (data_off,) = struct.unpack(">I", blob[pos + 10 : pos + 14])
        dpos = data + data_off
        (size,) = struct.unpack(">I", blob[dpos : dpos + 4])
        payload = blob[dpos + 4 : dpos + 4 + size]
        if flags & 4:
            return  # zstd-compressed entries are rare in the audio bundles; skipping is safe
        if flags & 1:
            payload = zlib.decompress(payload[4:])
        yield path, payload

    yield from walk(0, "")


def iter_opensfx_cat(blob: bytes) -> Iterator[tuple[int, str, bytes]]:
    """Yield ``(index, description, wav_bytes)`` for each entry of an OpenTTD ``.cat`` file.

    The index is ``(offset | 0x80000000, size)`` pairs (the first offset gives the entry count);
    each record is a name-length byte, the NUL-padded description, then a RIFF/WAVE file.

    Raises:
        ContainerError: if the index or a record is malformed.
    """
    if len(blob) < 8:
        raise ContainerError(
            f"cat file too short ({len(blob)} bytes); expected an 8-byte index entry"
        )
    count = (struct.unpack("<I", blob[:4])[0] & 0x7FFFFFFF) // 8
    for i in range(count):
        off, size = struct.unpack("<II", blob[i * 8 : i * 8 + 8])
        off &= 0x7FFFFFFF
        if off + size > len(blob) or size == 0:
            raise ContainerError(
                f"cat entry {i}: offset {off} + size {size} exceeds file size {len(blob)}"
            )
        length = blob[off]
        desc = blob[off + 1 : off + 1 + length].rstrip(b"\0").decode("latin-1").strip()
        wav = blob[off + 1 + length : off + size]
        if len(wav) < 44:
            continue  # placeholder entries ("Unused/Nothing") carry no audio
        if wav[:4] != b"RIFF":
            raise ContainerError(
                f"cat entry {i} ({desc!r}): payload starts {wav[:4]!r}, expected b'RIFF'"
            )
        yield i, desc, wav
