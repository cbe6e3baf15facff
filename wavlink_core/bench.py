"""Embedding latency benchmark: dynamic length vs 30-s padding vs CTranslate2 (the peer).

``python -m wavlink_core.bench [--model tiny] [--seconds 1 5 10 30 60] [--repeats 7]``

For each clip length it times, in one process and on the same Whisper weights:
  * WavLink ``embed_audio`` with dynamic length (only the frames the clip needs),
  * WavLink ``embed_audio`` with ``pad_to_30s=True`` (the paper's setting),
  * ``ctranslate2.models.Whisper.encode`` of the 30-s padded log-mel (features included),
and prints medians and ratios, plus peak RSS. Clips are synthetic noise-and-tone audio: encoder
cost does not depend on content.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .features import N_SAMPLES, log_mel_spectrogram


def _interleaved_ms(fns: list, repeats: int, warmup: int = 2) -> list[tuple[float, float]]:
    """(median, min) milliseconds of each function, timed round-robin so drifts in machine load
    hit every contender alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [(1000 * statistics.median(b), 1000 * min(b)) for b in times]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _clip(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    wave = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def _ct2_folder(backbone: str, workdir: Path) -> Path:
    """A folder with one model.bin for ctranslate2 (split packages are joined into workdir)."""
    from .whisper_weights import locate_whisper

    source = locate_whisper(backbone)
    if len(source.weight_files) == 1:
        return source.weight_files[0].parent
    with open(workdir / "model.bin", "wb") as out:
        for part in source.weight_files:
            out.write(part.read_bytes())
    for side in (source.config_path, source.vocabulary_path, source.tokenizer_path):
        if side is not None:
            (workdir / side.name).write_bytes(side.read_bytes())
    return workdir


def run(model_name: str, seconds: list[float], repeats: int, threads: int) -> str:
    import ctranslate2

    from .checkpoint import load_pretrained
    from .inference import embed_audio

    torch.set_num_threads(threads)
    model = load_pretrained(model_name).eval()
    n_mels = model.config.audio.n_mels
    for pad in (False, True):  # warm every WavLink path before reading its memory peak
        embed_audio(model, _clip(max(seconds)), sampling_rate=16000, pad_to_30s=pad)
    rss_wavlink = _peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        folder = _ct2_folder(model.config.audio.backbone, Path(tmp))
        ct2 = ctranslate2.models.Whisper(
            str(folder), device="cpu", compute_type="float32", intra_threads=threads
        )

    def ct2_encode(wave: np.ndarray) -> None:
        # Whisper's own recipe: every 30-s window padded to 3000 frames, features included.
        for start in range(0, len(wave), N_SAMPLES):
            mel = log_mel_spectrogram(wave[start : start + N_SAMPLES], n_mels)[None]
            ct2.encode(ctranslate2.StorageView.from_array(mel.numpy()), to_cpu=True)

    rows = []
    for s in seconds:
        wave = _clip(s)
        timings = _interleaved_ms(
            [
                lambda w=wave: embed_audio(model, w, sampling_rate=16000),
                lambda w=wave: embed_audio(model, w, sampling_rate=16000, pad_to_30s=True),
                lambda w=wave: ct2_encode(w),
            ],
            repeats,
        )
        rows.append((s, *timings))
    return _report(model, rows, repeats, threads, rss_wavlink, _peak_rss_mb())


def _report(model, rows, repeats, threads, rss_wavlink, rss_all) -> str:
    lines = [
        f"model {model.config.name} (Whisper {model.config.audio.backbone}), {threads} threads, "
        f"median (min) of {repeats} interleaved runs, torch {torch.__version__}, "
        f"ctranslate2 float32, {platform.machine()}",
        "",
        "| clip | dynamic (ms) | pad_to_30s (ms) | ctranslate2 30-s (ms) "
        "| pad / dynamic | ctranslate2 / dynamic |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s, dyn, pad, ct2 in rows:
        lines.append(
            f"| {s:g} s | {dyn[0]:.1f} ({dyn[1]:.1f}) | {pad[0]:.1f} ({pad[1]:.1f}) "
            f"| {ct2[0]:.1f} ({ct2[1]:.1f}) | {pad[0] / dyn[0]:.2f}x | {ct2[0] / dyn[0]:.2f}x |"
        )
    lines += [
        "",
        "Ratios are of medians. Each WavLink time is the whole `embed_audio` call on a 16-kHz "
        "array (features, encoder, projection); ctranslate2's includes its log-mel features.",
        f"peak RSS: {rss_wavlink:.0f} MB with the WavLink model (towers for audio and text), "
        f"{rss_all:.0f} MB once ctranslate2 is loaded as well",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m wavlink_core.bench", description=__doc__)
    p.add_argument("--model", default="tiny", help="preset or checkpoint folder")
    p.add_argument("--seconds", type=float, nargs="+", default=[1, 5, 10, 30, 60])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    print(run(args.model, args.seconds, args.repeats, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
