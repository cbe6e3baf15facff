"""Vectors for the library benchmarks: real embeddings of real clips, and synthetic ones drawn to match.

Real: the shipped model's full-size embeddings of ``assets/gallery`` plus clips of the evaluation
data in ``../shared/data`` (ESC-10, the US8K subset, Clotho, FSDD). They are used only to measure
search (database speed, recall), never to train or to choose the model.

Synthetic: a Gaussian with the real vectors' mean and covariance, L2-normalised, so that 100k-1M
vector benchmarks see the same anisotropy (a few dominant directions) that real embeddings have;
isotropic random vectors would make every search look easier or harder than it is.

    python scripts/library_bench_data.py --out /tmp/real_emb.npy   # writes .npy + .txt (paths)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIO_EXTS = (".wav", ".ogg", ".flac", ".mp3")
# Per folder of ../shared/data: how many clips to take, spread evenly over the sorted listing.
REAL_SOURCES = {"esc10": 400, "us8k_subset": 200, "clotho7": 10, "fsdd": 300}


def real_files(data: Path) -> list[str]:
    """The gallery's clips plus an even spread of each evaluation set's clips (sorted, deterministic)."""
    files = sorted(str(p) for p in (ROOT / "assets" / "gallery").glob("*.ogg"))
    for name, n in REAL_SOURCES.items():
        found = sorted(str(p) for p in (data / name).rglob("*") if p.suffix in AUDIO_EXTS)
        files += found[:: max(1, len(found) // n)][:n]
    return files


def synthetic_like(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """(n, D) float32 unit vectors from a Gaussian fitted to ``real`` (mean and full covariance)."""
    rng = np.random.default_rng(seed)
    mean = real.mean(0)
    cov = np.cov(real, rowvar=False) + 1e-6 * np.eye(real.shape[1])
    chol = np.linalg.cholesky(cov).astype(np.float32)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):  # bounded memory at 1M x 256
        z = rng.standard_normal((min(100_000, n - start), real.shape[1]), dtype=np.float32)
        block = mean + z @ chol.T
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="output .npy (paths go to .txt)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")  # ../shared/data
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from wavlink_core import embed_audio, load_pretrained

    files = real_files(args.data)
    emb = embed_audio(load_pretrained(args.model), files, progress=True)
    np.save(args.out, emb)
    args.out.with_suffix(".txt").write_text("".join(f"{f}\n" for f in files))
    print(f"{len(files)} clips -> {args.out} {emb.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
