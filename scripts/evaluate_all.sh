#!/usr/bin/env bash
# Evaluates a checkpoint folder on the four evaluation sets (every task, every Matryoshka size)
# and writes MODEL_DIR/eval/<set>/results.{md,json} plus MODEL_DIR/eval_results.json (the file the
# demo's Sizes tab reads).
# Usage: bash scripts/evaluate_all.sh MODEL_DIR [EVAL_DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash scripts/evaluate_all.sh MODEL_DIR [EVAL_DATA_DIR]}
DATA=${2:-../shared/data}
PY=${PY:-.venv/bin/python}

mkdir -p "$OUT/eval"
for set in esc10 us8k_subset fsdd clotho7; do
    $PY -m wavlink_core.evaluate --model "$OUT" --data "$DATA/$set" --task all \
        --out "$OUT/eval/$set" --quiet
done
$PY - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
results = [json.loads(p.read_text()) for p in sorted(out.glob("eval/*/results.json"))]
(out / "eval_results.json").write_text(json.dumps(results, indent=1))
print(f"{len(results)} result files -> {out / 'eval_results.json'}")
PYEOF
