#!/usr/bin/env bash
# sparkner evaluate on a cluster: seqeval P/R/F1 per type and language, token confusion -> report.json.
#   jobs/evaluate.sh --model abfss://.../models/stockmark-bge --data abfss://.../prepared \
#     --split test --report abfss://.../reports/stockmark-bge
# Arguments: bin/sparkner evaluate --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
sparkner_common_conf evaluate
sparkner_static_conf
sparkner_submit evaluate "$@"
