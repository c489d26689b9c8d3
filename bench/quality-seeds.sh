#!/usr/bin/env bash
# Parity across seeds on Stockmark (bench/README.md, "quality-seeds"): for every seed, sparkner
# (train --conf conf/train-stockmark.json --set seed=S, then evaluate --split test) and the plain
# PyTorch reference (tools/reference/ner_reference.py train, the same hyper-parameters and seed, its
# own torch.randperm epoch order), then bench/quality_seeds_summary.py writes the means and spreads.
#   bench/quality-seeds.sh [SEED...]     default: 42 7 1234
# A seed whose report already exists is not run again (delete its directory to redo it); a run that
# stopped half-way is started over (the output directory is removed first, never resumed).
# Needs the prepared Stockmark windows and their export (bench/quality.sh prepare-bge export-bge);
# if they are missing, it runs those two stages first.
# Environment: WORK (default bench/work/quality), SPARKNER_SHARED, PYTHON, THREADS (reference
#   intra-op threads, default 2), SIDES (default "java python").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="$(cd "${SPARKNER_SHARED:-$ROOT/../shared}" && pwd)"
WORK="${WORK:-$ROOT/bench/work/quality}"
PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-2}"
SIDES="${SIDES:-java python}"
BGE="$SHARED/models/bge-small-zh-v1.5"
export WORK SPARKNER_SHARED="$SHARED" PYTHON THREADS

SEEDS=("$@")
((${#SEEDS[@]})) || SEEDS=(42 7 1234)
for s in "${SEEDS[@]}"; do
  if ! [[ "$s" =~ ^[0-9]+$ ]]; then
    echo "bench/quality-seeds.sh: seed '$s' is not a non-negative integer" >&2
    exit 2
  fi
done
mkdir -p "$WORK"
[[ -f "$WORK/prepared-bge/labels.json" ]] || bench/quality.sh prepare-bge
[[ -d "$WORK/export-bge" ]] || bench/quality.sh export-bge

# shellcheck source=bench/quality-stage.sh
source "$ROOT/bench/quality-stage.sh"

for s in "${SEEDS[@]}"; do
  if [[ " $SIDES " == *" java "* && ! -f "$WORK/java-bge-s$s-report/report.json" ]]; then
    rm -rf "$WORK/java-bge-s$s" "$WORK/java-bge-s$s-report"
    stage "$WORK" "train-bge-java-s$s" bin/sparkner train --data "$WORK/prepared-bge" --model "$BGE" \
      --output "$WORK/java-bge-s$s" --conf conf/train-stockmark.json --set "seed=$s"
    stage "$WORK" "eval-bge-java-s$s" bin/sparkner evaluate --model "$WORK/java-bge-s$s" \
      --data "$WORK/prepared-bge" --split test --report "$WORK/java-bge-s$s-report"
  fi
  if [[ " $SIDES " == *" python "* && ! -f "$WORK/python-bge-s$s/report.json" ]]; then
    rm -rf "$WORK/python-bge-s$s"
    stage "$WORK" "train-bge-python-s$s" "$PYTHON" tools/reference/ner_reference.py train \
      --data "$WORK/export-bge" --model "$BGE" --output "$WORK/python-bge-s$s" --lr 5e-5 \
      --batch-size 12 --weight-decay 0.01 --warmup-ratio 0.1 --epochs 2 --max-grad-norm 1.0 \
      --seed "$s" --order torch --threads "$THREADS" --logging-steps 50
  fi
done
"$PYTHON" bench/quality_seeds_summary.py "$WORK" "${SEEDS[@]}"
