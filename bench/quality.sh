#!/usr/bin/env bash
# Model quality on the Stockmark test split (see bench/README.md, "quality-stockmark"):
#   bench/quality.sh [STAGE...]        default: all stages, in this order
# Stages:
#   prepare-bge       sparkner prepare, full Stockmark, the bge-small-zh-v1.5 tokenizer
#   train-bge-java    sparkner train  --model bge-small-zh-v1.5 --conf conf/train-stockmark.json
#   eval-bge-java     sparkner evaluate --split test
#   export-bge        ExportWindows: the prepared windows and gold documents as JSON lines
#   train-bge-python  tools/reference/ner_reference.py train (same hyper-parameters, plain PyTorch)
#   tiny-tokenizer    sparkner tokenizer build (unigram, 4000) from the full Stockmark corpus
#   prepare-tiny      sparkner prepare with that tokenizer
#   init-tiny         sparkner init conf/tiny-xlmr-config.json (random, seed 42)
#   train-tiny-java   sparkner train --conf conf/train-demo.json
#   eval-tiny-java    sparkner evaluate --split test
#   export-tiny, train-tiny-python   the same tiny run in the reference
# Every stage logs to $WORK/<stage>.log and records its wall time in $WORK/times.tsv.
# Environment: WORK (default bench/work/quality), SPARKNER_SHARED (default ../shared),
#   PYTHON (default /usr/bin/python3), THREADS (reference intra-op threads, default 2),
#   BENCH_SKIP_BUILD=1 (reuse target/bench-classpath.txt for ExportWindows).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="$(cd "${SPARKNER_SHARED:-$ROOT/../shared}" && pwd)"
WORK="${WORK:-$ROOT/bench/work/quality}"
PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-2}"
BGE="$SHARED/models/bge-small-zh-v1.5"
CORPUS="$SHARED/data/stockmark/ner.json"
mkdir -p "$WORK"

STAGES=("$@")
((${#STAGES[@]})) || STAGES=(prepare-bge train-bge-java eval-bge-java export-bge train-bge-python
  tiny-tokenizer prepare-tiny init-tiny train-tiny-java eval-tiny-java export-tiny train-tiny-python)

export_windows() { # PREPARED OUT
  local cp="$ROOT/target/bench-classpath.txt"
  if [[ "${BENCH_SKIP_BUILD:-}" != 1 || ! -f "$cp" ]]; then
    mvn -B -q test-compile
    mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp" >/dev/null
  fi
  SPARK_LOCAL_IP=127.0.0.1 java -Xmx4g --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
    -Dai.djl.offline=true "-Dlog4j2.configurationFile=$ROOT/conf/log4j2.properties" \
    -cp "$ROOT/target/test-classes:$ROOT/target/classes:$(cat "$cp")" io.sparkner.bench.ExportWindows "$1" "$2"
}

run_stage() {
  case "$1" in
    prepare-bge)
      bin/sparkner prepare --input "stockmark:$CORPUS" --tokenizer "$BGE" --output "$WORK/prepared-bge" --overwrite ;;
    train-bge-java)
      rm -rf "$WORK/java-bge"
      bin/sparkner train --data "$WORK/prepared-bge" --model "$BGE" --output "$WORK/java-bge" --conf conf/train-stockmark.json ;;
    eval-bge-java)
      bin/sparkner evaluate --model "$WORK/java-bge" --data "$WORK/prepared-bge" --split test --report "$WORK/java-bge-report" ;;
    export-bge)
      export_windows "$WORK/prepared-bge" "$WORK/export-bge" ;;
    train-bge-python)
      "$PYTHON" tools/reference/ner_reference.py train --data "$WORK/export-bge" --model "$BGE" \
        --output "$WORK/python-bge" --lr 5e-5 --batch-size 12 --weight-decay 0.01 --warmup-ratio 0.1 \
        --epochs 2 --max-grad-norm 1.0 --seed 42 --threads "$THREADS" --logging-steps 50 ;;
    tiny-tokenizer)
      bin/sparkner tokenizer build --corpus "stockmark:$CORPUS" --kind unigram --vocab-size 4000 --output "$WORK/tiny-tokenizer" ;;
    prepare-tiny)
      bin/sparkner prepare --input "stockmark:$CORPUS" --tokenizer "$WORK/tiny-tokenizer" --output "$WORK/prepared-tiny" --overwrite ;;
    init-tiny)
      rm -rf "$WORK/tiny-model"
      bin/sparkner init --config conf/tiny-xlmr-config.json --tokenizer "$WORK/tiny-tokenizer" \
        --labels "$WORK/prepared-tiny/labels.json" --output "$WORK/tiny-model" --seed 42 ;;
    train-tiny-java)
      rm -rf "$WORK/java-tiny"
      bin/sparkner train --data "$WORK/prepared-tiny" --model "$WORK/tiny-model" --output "$WORK/java-tiny" --conf conf/train-demo.json ;;
    eval-tiny-java)
      bin/sparkner evaluate --model "$WORK/java-tiny" --data "$WORK/prepared-tiny" --split test --report "$WORK/java-tiny-report" ;;
    export-tiny)
      export_windows "$WORK/prepared-tiny" "$WORK/export-tiny" ;;
    train-tiny-python)
      # conf/train-demo.json: 10 epochs, batch 16, lr 3e-3, warmup 0.1, wd 0.01, dropout 0, seed 42
      "$PYTHON" tools/reference/ner_reference.py train --data "$WORK/export-tiny" --model "$WORK/tiny-model" \
        --output "$WORK/python-tiny" --lr 3e-3 --batch-size 16 --weight-decay 0.01 --warmup-ratio 0.1 \
        --epochs 10 --max-grad-norm 1.0 --seed 42 --threads "$THREADS" --logging-steps 25 --dropout 0.0 ;;
    *) echo "bench/quality.sh: unknown stage $1" >&2; exit 2 ;;
  esac
}

for s in "${STAGES[@]}"; do
  echo "== $(date -u +%FT%TZ) $s (log: $WORK/$s.log)"
  t0=$(date +%s.%N)
  if ! run_stage "$s" >"$WORK/$s.log" 2>&1; then
    echo "bench/quality.sh: stage $s failed, see $WORK/$s.log" >&2
    tail -20 "$WORK/$s.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  printf '%s\t%s\t%.1f\n' "$(date -u +%FT%TZ)" "$s" "$(echo "$t1 - $t0" | bc)" >>"$WORK/times.tsv"
  echo "   $s: $(echo "$t1 - $t0" | bc) s"
done
