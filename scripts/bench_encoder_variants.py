"""Audio-encoder variants on real clips: speed relative to float32 PyTorch, and cosine to it.

Variants: ``torch`` (float32, the reference), ``torch-bf16`` (``torch.autocast`` bfloat16),
``onnx`` (the exported graph in ONNX Runtime, float32: what ``--runtime onnx`` runs) and
``onnx-int8`` (the same graph after ONNX Runtime's ``quantize_dynamic``, int8 weights). A variant
is only worth keeping with cosine >= 0.999 to the reference on every clip. Log-mels are computed
once, batched as ``embed_audio`` batches them (sorted by length, ``--batch-size`` per pass), so
only the encoder is timed; the variants take turns within each round, each round starting with
the next one, so load from other processes hits them alike (compare the ratios on a busy machine).

    python scripts/bench_encoder_variants.py --data ../shared/data --clips 200 --rounds 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")  # ../shared/data
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    p.add_argument("--clips", type=int, default=200, help="ESC-10 and US8K clips, spread evenly")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from wavlink_core import load_pretrained
    from wavlink_core.audio import load_audio
    from wavlink_core.features import batch_log_mel
    from wavlink_core.runtime import OnnxAudioEncoder, audio_encoder

    model = load_pretrained(args.model).eval()
    pool = sorted((args.data / "esc10").rglob("*.ogg")) + sorted(
        (args.data / "us8k_subset").rglob("*.wav")
    )
    files = pool[:: max(1, len(pool) // args.clips)][: args.clips]
    waves = [load_audio(f) for f in files]
    seconds = sum(len(w) for w in waves) / 16000
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    batches = []
    for s in range(0, len(order), args.batch_size):
        idx = order[s : s + args.batch_size]
        mel, frames = batch_log_mel([waves[i] for i in idx], model.config.audio.n_mels)
        batches.append((idx, mel, torch.as_tensor(frames)))

    onnx = audio_encoder(model, "onnx")
    with tempfile.TemporaryDirectory() as tmp:
        int8_path = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(onnx.path), str(int8_path), weight_type=QuantType.QInt8)
        int8 = OnnxAudioEncoder(int8_path)

    def bf16(mel, frames):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model.encode_audio(mel, frames).float()

    variants = {"torch": model.encode_audio, "torch-bf16": bf16, "onnx": onnx, "onnx-int8": int8}

    def run(encode) -> np.ndarray:
        out = np.zeros((len(waves), model.config.embed_dim), np.float32)
        with torch.inference_mode():
            for idx, mel, frames in batches:
                out[idx] = encode(mel, frames).numpy()
        return out

    ref = run(model.encode_audio)
    cosine = {}
    for name, encode in variants.items():
        emb = run(encode)
        cosine[name] = np.sum(emb * ref, axis=1) / np.linalg.norm(emb, axis=1)
    spent = dict.fromkeys(variants, 0.0)
    names = list(variants)
    for r in range(args.rounds):
        # Each round starts with another variant, so none is always first after a quiet spell.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t = time.perf_counter()
            run(variants[name])
            spent[name] += time.perf_counter() - t
    print(
        f"{len(waves)} real clips ({seconds:.0f} s of audio), batch size {args.batch_size}, "
        f"{args.rounds} rounds, torch threads {torch.get_num_threads()}"
    )
    print(
        f"{'variant':<11} {'s/round':>8} {'x real time':>12} {'speed vs torch':>15} "
        f"{'cos min':>9} {'cos mean':>9}"
    )
    for name in variants:
        per_round = spent[name] / args.rounds
        print(
            f"{name:<11} {per_round:8.2f} {seconds / per_round:12.1f} "
            f"{spent['torch'] / spent[name]:15.2f} {cosine[name].min():9.5f} "
            f"{cosine[name].mean():9.6f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
