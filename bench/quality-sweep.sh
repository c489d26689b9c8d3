#!/usr/bin/env bash
# The settings sweep on Stockmark with bge-small-zh-v1.5 (bench/README.md, "quality-sweep"):
#   bench/quality-sweep.sh [NAME...]          train every setting of bench/sweep-stockmark.tsv (or
#                                             only those named), two seeds each; validation only
#   bench/quality-sweep.sh --test NAME        evaluate the chosen setting's runs on the test split
#                                             (training again those whose model is not here)
# A setting is one line of the TSV: its name, the prepared variant (iob2: the default prepare;
# io: --scheme IO; first: --no-label-all-subwords) and the train --set overrides on top of
# conf/train-stockmark.json. Every run trains with --replicas 2 (per_device_train_batch_size 6: the
# example's global batch of 12) and validates after every epoch; the choice is made on validation
# F1 (bench/quality_sweep_summary.py), and the test split is scored once, for the chosen setting.
# A finished run is recorded in LEDGER (bench/results/quality-sweep-runs, committed) as soon as it
# ends, and is not run again while its model or its record exists: the sweep is many hours and goes
# on across machines. One that stopped half-way resumes from its newest checkpoint. A finished run's
# checkpoints are deleted (2.4 GB each; the model stays).
# Environment: WORK (default bench/work/quality), SEEDS (default "42 7"), SPARKNER_SHARED,
#   SWEEP (default bench/sweep-stockmark.tsv), LEDGER (default bench/results/quality-sweep-runs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="$(cd "${SPARKNER_SHARED:-$ROOT/../shared}" && pwd)"
WORK="${WORK:-$ROOT/bench/work/quality}"
SEEDS="${SEEDS:-42 7}"
SWEEP="${SWEEP:-$ROOT/bench/sweep-stockmark.tsv}"
LEDGER="${LEDGER:-$ROOT/bench/results/quality-sweep-runs}"
BGE="$SHARED/models/bge-small-zh-v1.5"
CORPUS="$SHARED/data/stockmark/ner.json"
mkdir -p "$WORK/sweep"

# shellcheck source=bench/quality-stage.sh
source "$ROOT/bench/quality-stage.sh"

prepared() { # VARIANT: the prepared corpus of that variant, prepared once
  local dir
  case "$1" in
    iob2) dir="$WORK/prepared-bge"; set -- ;;
    io) dir="$WORK/prepared-bge-io"; set -- --scheme IO ;;
    first) dir="$WORK/prepared-bge-first"; set -- --no-label-all-subwords ;;
    *) echo "bench/quality-sweep.sh: unknown prepared variant '$1' (iob2, io, first)" >&2; exit 2 ;;
  esac
  if [[ ! -f "$dir/summary.json" ]]; then
    stage "$WORK/sweep" "prepare-$(basename "$dir")" bin/sparkner prepare --input "stockmark:$CORPUS" \
      --tokenizer "$BGE" --output "$dir" --overwrite "$@" >&2
  fi
  echo "$dir"
}

settings() { # the TSV's lines without comments: NAME VARIANT SETS...
  grep -v '^\s*#' "$SWEEP" | grep -v '^\s*$'
}

summary() {
  # shellcheck disable=SC2086
  /usr/bin/python3 bench/quality_sweep_summary.py "$WORK/sweep" "$SWEEP" $SEEDS --ledger "$LEDGER"
}

train() { # NAME VARIANT SEED SETS...: one run of the sweep, then its record
  local name="$1" variant="$2" seed="$3" data run
  shift 3
  data="$(prepared "$variant")"
  run="$WORK/sweep/$name-s$seed"
  local args=(--set per_device_train_batch_size=6 --set eval_strategy=epoch)
  for kv in "$@"; do
    args+=(--set "$kv")
  done
  # a run that stopped half-way resumes from its newest checkpoint (train's own resume, exact);
  # one that stopped before its first checkpoint starts over
  if ! compgen -G "$run/checkpoints/checkpoint-*/COMPLETE" >/dev/null; then
    rm -rf "$run"
  fi
  stage "$WORK/sweep" "train-$name-s$seed" bin/sparkner train --data "$data" --model "$BGE" --output "$run" \
    --conf conf/train-stockmark.json --replicas 2 "${args[@]}" --set "seed=$seed" </dev/null
  rm -rf "$run/checkpoints" # 2.4 GB a run; the finished model and metrics.jsonl stay
  summary >/dev/null
}

if [[ "${1:-}" == "--test" ]]; then
  name="${2:?bench/quality-sweep.sh --test NAME}"
  line="$(settings | awk -v n="$name" '$1 == n')"
  [[ -n "$line" ]] || { echo "bench/quality-sweep.sh: no setting '$name' in $SWEEP" >&2; exit 2; }
  read -r _ variant sets <<<"$line"
  data="$(prepared "$variant")"
  for s in $SEEDS; do
    run="$WORK/sweep/$name-s$s"
    # shellcheck disable=SC2086
    [[ -f "$run/model.safetensors" ]] || train "$name" "$variant" "$s" $sets
    stage "$WORK/sweep" "test-$name-s$s" bin/sparkner evaluate --model "$run" --data "$data" --split test \
      --report "$run-test"
  done
  summary
  exit 0
fi

wanted=("$@")
while read -r name variant sets; do
  if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $name "* ]]; then
    continue
  fi
  for s in $SEEDS; do
    if [[ -f "$WORK/sweep/$name-s$s/model.safetensors" || -f "$LEDGER/$name-s$s.json" ]]; then
      continue
    fi
    # shellcheck disable=SC2086
    train "$name" "$variant" "$s" $sets
  done
done < <(settings)
summary
