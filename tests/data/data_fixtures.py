"""Tiny data sets written with numpy + soundfile in each layout a training source can have."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
FREQS = (200.0, 800.0, 3000.0)
# `python -m wavlink_core.train` keys of the runs the subprocess tests launch: the random-weight
# preset, heads only (towers in eval mode: no dropout, so two runs compute the same steps).
RUN_ARGS = dict(
    model="test",
    batch_size=3,
    clip_seconds=1.0,
    epochs=2,
    lr=1e-2,
    regime="projector",
    num_workers=0,
    seed=0,
    progress=False,
    log_samples=True,
    threads=1,
)


def tone(freq: float, seconds: float = 1.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    noise = 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    return (0.4 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def write_wav(path: Path, freq: float, sr: int = SR, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(freq, sr=sr, seed=seed), sr)
    return path


def make_shards(root: Path, n_shards: int, per_shard: int, *, bad: set[int] = frozenset()) -> Path:
    """``root/shard-00000N.tar``: per key a 1-s FLAC tone and a LAION-style ``.json`` caption;
    keys in ``bad`` get undecodable audio."""
    root.mkdir(parents=True, exist_ok=True)
    k = 0
    for s in range(n_shards):
        with tarfile.open(root / f"shard-{s:06d}.tar", "w") as tar:
            for _ in range(per_shard):
                f = FREQS[k % len(FREQS)]
                buf = io.BytesIO()
                sf.write(buf, tone(f, seed=k), SR, format="FLAC")
                audio = b"not audio at all" if k in bad else buf.getvalue()
                caption = json.dumps({"text": [f"a tone at {int(f)} hertz", f"tone {int(f)}"]})
                for name, data in ((f"s{k:05d}.flac", audio), (f"s{k:05d}.json", caption.encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                k += 1
    return root


def make_class_folders(root: Path, per_class: int = 6) -> Path:
    for c, f in zip(("dog_bark", "Rain", "002 - car horn"), FREQS, strict=True):
        for i in range(per_class):
            write_wav(root / c / f"{i}.wav", f, sr=22050, seed=i)
    return root


def make_clotho(root: Path, n: int = 12) -> Path:
    """Clotho's layout: ``clotho_captions_development.csv`` + ``development/*.wav``."""
    lines = ["file_name,caption_1,caption_2,caption_3,caption_4,caption_5"]
    for i in range(n):
        f = FREQS[i % 3]
        write_wav(root / "development" / f"clip {i}.wav", f, seed=i)
        caps = [f"a steady tone {j} at {int(f)} hertz" for j in range(5)]
        lines.append(f'"clip {i}.wav",' + ",".join(caps))
    (root / "clotho_captions_development.csv").write_text("\n".join(lines) + "\n")
    return root / "clotho_captions_development.csv"


def make_audiocaps(root: Path, n: int = 12, missing: int = 2) -> Path:
    """AudioCaps' ``train.csv`` (one caption per line, two lines per clip) with audio as
    ``audio/{youtube_id}_{start_time}.wav``; the last ``missing`` clips have no file."""
    lines = ["audiocap_id,youtube_id,start_time,caption"]
    for i in range(n):
        yid, f = f"yt{i:04d}AbC", FREQS[i % 3]
        if i < n - missing:
            write_wav(root / "audio" / f"{yid}_30.wav", f, seed=i)
        lines += [f"{2 * i},{yid},30,a tone at {int(f)} hertz", f"{2 * i + 1},{yid},30,tone {i}"]
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root / "train.csv"


def make_hf(root: Path, n: int = 8) -> Path:
    """A Hugging Face dataset written by ``save_to_disk``: an ``Audio`` column and ``text``."""
    import datasets

    files = [str(write_wav(root / "src" / f"{i}.wav", FREQS[i % 3], seed=i)) for i in range(n)]
    caps = [f"a tone at {int(FREQS[i % 3])} hertz" for i in range(n)]
    ds = datasets.Dataset.from_dict({"audio": files, "text": caps})
    ds = ds.cast_column("audio", datasets.Audio())
    ds.save_to_disk(str(root / "hf"))
    return root / "hf"


def make_audiofolder(root: Path, n: int = 10) -> Path:
    """A Hugging Face audiofolder: ``metadata.csv`` (``file_name,caption``) beside the audio."""
    lines = ["file_name,caption"]
    for i in range(n):
        f = FREQS[i % 3]
        write_wav(root / f"{i}.wav", f, seed=i)
        lines.append(f"{i}.wav,a tone at {int(f)} hertz number {i}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def keys_of(stream, epoch: int, start: int = 0, workers: int = 0) -> list[list[str]]:
    """The sample ids of every batch a training stream gives from batch ``start`` of ``epoch``."""
    from torch.utils.data import DataLoader

    stream.set_position(epoch, start)
    loader = DataLoader(stream, batch_size=None, collate_fn=lambda b: b, num_workers=workers)
    return [[it["key"] for it in batch] for batch in loader]


def make_parquet(root: Path, n: int = 12) -> Path:
    """A folder of one parquet file (audio bytes + ``text``), the way Hub datasets are stored;
    ``datasets.load_dataset(folder, streaming=True)`` reads it like a Hub id, offline."""
    import datasets

    ds = datasets.load_from_disk(str(make_hf(root / "src", n)))
    ds = ds.cast_column("audio", datasets.Audio(decode=False))  # save_to_disk embedded the bytes
    (root / "pq").mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(root / "pq" / "train-00000-of-00001.parquet"))
    return root / "pq"
