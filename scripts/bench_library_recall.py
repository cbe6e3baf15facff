"""Recall@10 of the Matryoshka shortlist + full-size re-rank on real audio, every size and
quantisation, against exact full-size search.

Library: full-size embeddings of real clips (see scripts/library_bench_data.py: the gallery plus
clips of ../shared/data). Queries: 20 text prompts and every 10th clip (the clip itself left out of
its own ranking). Shortlist: ``k * factor`` rows, as the library searches.

    python scripts/library_bench_data.py --out /tmp/real_emb.npy
    python scripts/bench_library_recall.py --real /tmp/real_emb.npy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_library_query import PROMPTS  # noqa: E402

from wavlink_core.library.search import measure_recall  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--real", type=Path, required=True)
    p.add_argument("--model", default=str(ROOT / "assets" / "wavlink-tiny"))
    p.add_argument("--factor", type=int, nargs="+", default=[10])
    args = p.parse_args()
    from wavlink_core import embed_text, load_pretrained

    library = np.load(args.real)
    model = load_pretrained(args.model)
    texts = embed_text(model, PROMPTS)
    clips = library[::10]
    dims = sorted(model.matryoshka_dims, reverse=True)
    print(f"library: {len(library)} real clips; queries: {len(texts)} texts, {len(clips)} clips")
    print("| queries | shortlist | size | quantisation | shortlist bytes | recall@10 |")
    print("|---|---|---|---|---|---|")
    for factor in args.factor:
        for name, queries, self_ in (("texts", texts, False), ("clips", clips, True)):
            for r in measure_recall(library, queries, dims, 10, factor, exclude_self=self_):
                print(
                    f"| {name} | {10 * factor} | {r['dim']} | {r['quantization']} | "
                    f"{r['bytes']} | {r['recall']:.3f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
