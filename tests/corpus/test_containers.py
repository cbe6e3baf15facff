"""Qt .rcc and OpenTTD .cat parsers on small byte blobs built here."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import pytest

from wavlink_core.corpus.containers import ContainerError, iter_opensfx_cat, iter_rcc


def _wav_bytes(n: int = 200) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * n)
    return buf.getvalue()


def _rcc(version: int, compress: bool) -> bytes:
    """A bundle with /sounds/dog.ogg (compressed or not) and /readme.txt."""
    names = b""
    name_off = {}
    for name in ("sounds", "dog.ogg", "readme.txt"):
        name_off[name] = len(names)
        enc = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + enc
    payload_dog = b"OggS-fake-audio" * 3
    stored = (
        struct.pack(">I", len(payload_dog)) + zlib.compress(payload_dog)
        if compress
        else payload_dog
    )
    data = struct.pack(">I", len(stored)) + stored
    readme_off = len(data)
    data += struct.pack(">I", 2) + b"hi"
    extra = b"" if version == 1 else b"\0" * 8

    def dir_node(name_o: int, count: int, first: int) -> bytes:
        return struct.pack(">IHII", name_o, 2, count, first) + extra

    def file_node(name_o: int, flags: int, data_o: int) -> bytes:
        return struct.pack(">IHHHI", name_o, flags, 0, 0, data_o) + extra

    # 0 root -> children 1..2 ; 1 sounds -> child 3 ; 2 readme ; 3 dog
    tree = (
        dir_node(0, 2, 1)
        + dir_node(name_off["sounds"], 1, 3)
        + file_node(name_off["readme.txt"], 0, readme_off)
        + file_node(name_off["dog.ogg"], 1 if compress else 0, 0)
    )
    header_len = 20 if version < 3 else 24
    tree_o = header_len
    data_o = tree_o + len(tree)
    names_o = data_o + len(data)
    header = (
        b"qres"
        + struct.pack(">IIII", version, tree_o, data_o, names_o)
        + (b"\0" * 4 if version >= 3 else b"")
    )
    return header + tree + data + names


@pytest.mark.parametrize("version, compress", [(1, False), (2, True), (3, True)])
def test_rcc_parser(version: int, compress: bool) -> None:
    files = dict(iter_rcc(_rcc(version, compress)))
    assert files == {"sounds/dog.ogg": b"OggS-fake-audio" * 3, "readme.txt": b"hi"}


def test_rcc_bad_magic() -> None:
    with pytest.raises(ContainerError, match="qres"):
        list(iter_rcc(b"nope" + b"\0" * 40))


def _cat(entries: list[tuple[str, bytes]]) -> bytes:
    index_len = 8 * len(entries)
    body = b""
    index = b""
    for desc, wav in entries:
        name = desc.encode("latin-1") + b"\0"
        rec = bytes([len(name)]) + name + wav
        index += struct.pack("<II", (index_len + len(body)) | 0x80000000, len(rec))
        body += rec
    return index + body


def test_opensfx_cat_parser() -> None:
    wav = _wav_bytes()
    blob = _cat(
        [
            ('"Ship horn". Original by someone. License: CC-BY 3.0', wav),
            ("Unused/Nothing", b""),
            ("Tropical: Lion roar", wav),
        ]
    )
    got = list(
        iter_opensfx_cat(blob)
    )  # the audio-less placeholder (as in the real file) is skipped
    assert [(i, d) for i, d, _ in got] == [
        (0, '"Ship horn". Original by someone. License: CC-BY 3.0'),
        (2, "Tropical: Lion roar"),
    ]
    assert all(w == wav for _, _, w in got)


def test_opensfx_cat_rejects_non_riff() -> None:
    with pytest.raises(ContainerError, match="RIFF"):
        list(iter_opensfx_cat(_cat([("bad", b"X" * 100)])))
