#!/usr/bin/env bash
# Reproduces assets/wavlink-tiny (the demo's weights) from a built corpus, then evaluates it:
#   stage 1 (whole corpus) -> stage 2 (curated real recordings) -> float16 delta export -> eval.
# Usage: bash scripts/ship_tiny.sh CORPUS_DIR [EVAL_DATA_DIR] [RUNS_DIR]
#   CORPUS_DIR     built by `python -m wavlink_core.corpus build --out CORPUS_DIR ...` (docs/corpus.md)
#   EVAL_DATA_DIR  folder with esc10/ us8k_subset/ fsdd/ clotho7/ (default ../shared/data); it is
#                  only read by the evaluation at the end, never by training.
#   RUNS_DIR       where the two training runs go (default runs/); both resume if interrupted.
# On 2 CPU cores: stage 1 ~100 min (2,500 steps), stage 2 ~18 min, evaluation ~10 min.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:?usage: bash scripts/ship_tiny.sh CORPUS_DIR [EVAL_DATA_DIR] [RUNS_DIR]}
DATA=${2:-../shared/data}
RUNS=${3:-runs}
PY=${PY:-.venv/bin/python}
OUT=assets/wavlink-tiny

# Both stages: Whisper tiny.en encoder fully fine-tuned with its global token, MiniLM frozen
# (its caption features cached), CLIP loss averaged over 256/128/64/32, AdamW 1e-4, cosine, 5 %
# warm-up, batch 32, random 3-s crops (the median corpus clip is 1.35 s; 3 s halves the step
# time of 5-s crops on CPU). Stage 2 keeps the global token and the text head as stage 1 left
# them and pulls the rest toward stage 1 (L2-SP 0.1): the shipped weights were trained so (these
# are the CPU fine-tune defaults for --init_from), and spelling them out gives the same recipe
# on a GPU, where those defaults do not apply.
common=(--corpus="$CORPUS" --regime=full --scope=audio --clip_seconds=3 --batch_size=32
        --lr=1e-4 --num_workers=1 --progress=false --resume=true)
$PY -m wavlink_core.train "${common[@]}" --output_dir="$RUNS/tiny-stage1" \
    --max_steps=2500 --val_every=250 --val_max_clips=256 --save_every=250
$PY -m wavlink_core.train "${common[@]}" --output_dir="$RUNS/tiny-stage2" \
    --init_from="$RUNS/tiny-stage1/model" --stage=stage2 --curated=true --epochs=3 \
    --train_global_token=false --train_text_head=false --l2sp=0.1 \
    --val_max_clips=256 --save_every=100

# float16 delta; fails (exit 3) if any gallery clip's embedding moves below cosine 0.999.
$PY -m wavlink_core export --model "$RUNS/tiny-stage2/model" --out "$OUT" --dtype float16 \
    --check assets/gallery/*.ogg

bash scripts/evaluate_all.sh "$OUT" "$DATA"
