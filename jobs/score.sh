#!/usr/bin/env bash
# sparkner score on a cluster: a table with a text column -> the same table with an entities column.
#   jobs/score.sh --model abfss://.../registry/runs/<run-id>/model \
#     --input abfss://.../articles.parquet --output abfss://.../articles-ner.parquet
# Scoring is a plain Spark stage (the model is loaded once per executor JVM); with
# SPARKNER_GPUS_PER_EXECUTOR > 0 each task takes one GPU. Arguments: bin/sparkner score --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
sparkner_common_conf score
sparkner_static_conf
if ((SPARKNER_GPUS_PER_EXECUTOR > 0)); then
  SUBMIT+=(--conf "spark.executor.resource.gpu.amount=$SPARKNER_GPUS_PER_EXECUTOR"
    --conf "spark.executor.resource.gpu.discoveryScript=$SPARKNER_GPU_DISCOVERY_SCRIPT"
    --conf spark.task.resource.gpu.amount=1)
fi
sparkner_submit score "$@"
