"""Any training source -> WebDataset shards (``python -m wavlink_core.data shard``).

Each sample is ``<key>.flac`` (the audio decoded by :func:`wavlink_core.audio.load_audio`, i.e.
mono 16 kHz, re-encoded as 16-bit FLAC) plus ``<key>.json`` (``captions``, ``source``,
``original``: the file or sample it came from). ``index.json`` beside the shards holds each
shard's sample count, which the training stream reads instead of scanning every tar. A clip that
cannot be decoded is skipped and counted; it never stops the conversion.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..audio import load_audio
from ..errors import AudioError, ConfigError
from .shards import (
    INDEX_FILE,
    encode_flac,
    expand,
    iter_samples,
    sample_audio,
    sample_captions,
    sample_id,
)
from .sources import Source, is_url, load_rows, read_wave

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test", "all")


@dataclass(frozen=True)
class Example:
    original: str
    captions: list[str]
    wave: Any  # float32 16 kHz, or None when it could not be decoded


def _decode(data: Any, name: str):
    """The 16-kHz wave of one clip (encoded bytes, a path, or a function that decodes it), or
    None (logged) when it cannot be decoded."""
    try:
        return data() if callable(data) else load_audio(data, name=name, max_seconds=None)
    except AudioError as exc:
        log.warning("%s; skipped", exc)
        return None


def examples(source: Source, index: int, cfg: Any, split: str) -> Iterator[Example]:
    """The decoded examples of one source (rows of ``split`` when rows carry a split)."""
    if source.kind == "shards":
        for url in expand(source.spec):
            for sample in iter_samples(url):
                audio = sample_audio(sample)
                if audio is not None:
                    ident = sample_id(sample)
                    yield Example(ident, sample_captions(sample), _decode(audio[1], ident))
        return
    if source.kind == "hfstream":
        from .hfstream import open_stream

        for ident, captions, audio in open_stream(source.spec, cfg, 1).entries(0, 0, 0):
            yield Example(ident, captions, _decode(audio, ident))
        return
    rows = load_rows(source, index, cfg)
    root = Path(source.spec) if source.kind == "corpus" and index == 0 else Path("/")
    for row in rows:
        if split != "all" and row.get("split", split) != split:
            continue
        wave = _decode(functools.partial(read_wave, row, root), row["path"])
        yield Example(row["path"], list(row["captions"]), wave)


def write_shards(
    sources: list[Source], out: str | Path, shard_size: int, cfg: Any, split: str = "train"
) -> dict[str, Any]:
    """Write ``out/shard-000000.tar ...`` and ``out/index.json``; returns the summary. ``out``
    may be an fsspec URL (``s3://bucket/prefix``): the shards are written to a temporary folder
    and copied there at the end."""
    if is_url(str(out)):
        import fsspec

        fs, _, (root,) = fsspec.get_fs_token_paths(str(out))
        if fs.exists(root) and fs.glob(f"{root}/*.tar"):
            raise ConfigError(f"{out} already holds .tar shards; choose an empty prefix")
        with tempfile.TemporaryDirectory(prefix="wavlink-shards-") as tmp:
            summary = write_shards(sources, Path(tmp), shard_size, cfg, split)
            fs.put([str(p) for p in sorted(Path(tmp).iterdir())], root.rstrip("/") + "/")
        return summary
    from webdataset import ShardWriter

    out = Path(out)
    if shard_size <= 0:
        raise ConfigError(f"--shard-size={shard_size} must be > 0")
    if split not in SPLITS:
        raise ConfigError(f"--split={split!r} is not valid; choose one of {list(SPLITS)}")
    if any(s.kind == "shards" and Path(s.spec).resolve() == out.resolve() for s in sources):
        raise ConfigError(f"{out}: the output folder is also a source")
    if out.is_dir() and any(out.glob("*.tar")):
        raise ConfigError(f"{out} already holds .tar shards; choose an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    written = skipped = 0

    with ShardWriter(str(out / "shard-%06d.tar"), maxcount=shard_size, verbose=0) as sink:
        for i, src in enumerate(sources):
            for ex in examples(src, i, cfg, split):
                if ex.wave is None or not ex.captions:
                    skipped += 1
                    continue
                meta = {"captions": ex.captions, "source": src.spec, "original": ex.original}
                sink.write(
                    {"__key__": f"{written:09d}", "flac": encode_flac(ex.wave), "json": meta}
                )
                name = Path(sink.fname).name
                counts[name] = counts.get(name, 0) + 1
                written += 1
    if not written:
        raise ConfigError(
            f"nothing to write: {skipped} examples skipped, none usable in "
            f"{[s.spec for s in sources]} (split={split})"
        )
    summary = {
        "shards": counts,
        "samples": written,
        "skipped": skipped,
        "format": "flac, 16 kHz mono, 16-bit",
        "sources": [s.spec for s in sources],
        "split": split,
    }
    (out / INDEX_FILE).write_text(json.dumps(summary, indent=1) + "\n")
    return summary
