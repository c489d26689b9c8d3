#!/usr/bin/env bash
# The cross-lingual table of the original example (bench/README.md, "crosslingual"):
#   bench/crosslingual.sh [NAME...]     run conf/crosslingual-NAME.json for each NAME (default:
#                                       panx-ja stockmark panx-jako), then summarise
# Each is one `sparkner crosslingual` job (prepare, train on 2 replicas, evaluate in-language and
# zero-shot) into WORK/NAME; its matrix row goes into bench/results/crosslingual.json. A run whose
# report exists is not run again; one that stopped half-way resumes from its last checkpoint (the
# job's own resume).
# Environment: WORK (default bench/work/crosslingual).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${WORK:-$ROOT/bench/work/crosslingual}"
mkdir -p "$WORK"
# shellcheck source=bench/quality-stage.sh
source "$ROOT/bench/quality-stage.sh" # stage LOG_DIR NAME COMMAND...

names=("$@")
((${#names[@]})) || names=(panx-ja stockmark panx-jako)
for name in "${names[@]}"; do
  conf="conf/crosslingual-$name.json"
  [[ -f "$conf" ]] || { echo "bench/crosslingual.sh: no $conf" >&2; exit 2; }
  if [[ -f "$WORK/$name/report/report.json" ]]; then
    continue
  fi
  stage "$WORK" "crosslingual-$name" bin/sparkner crosslingual --conf "$conf" --output "$WORK/$name"
done
/usr/bin/python3 bench/crosslingual_summary.py "$WORK" "${names[@]}"
