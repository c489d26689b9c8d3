#!/usr/bin/env bash
# sparkner train on a cluster: N data-parallel replicas in one Spark barrier stage, one executor
# (and one GPU, with SPARKNER_GPUS_PER_EXECUTOR=1) per replica.
#   jobs/train.sh --data abfss://.../prepared --model abfss://.../bge-small-zh-v1.5 \
#     --output abfss://.../models/stockmark-bge --conf conf/train-stockmark.json \
#     --deepspeed conf/ds_config_zero2.json --replicas 4
# --replicas defaults to SPARKNER_REPLICAS and sizes the cluster request. A local --conf or
# --deepspeed file is shipped with the job in cluster mode. Arguments: bin/sparkner train --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
replicas="$SPARKNER_REPLICAS"
args=()
while (($#)); do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --replicas=*) replicas="${1#*=}"; shift ;;
    --conf | --deepspeed) ship_file "$2"; args+=("$1" "$SHIPPED_AS"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
sparkner_common_conf train
sparkner_barrier_conf "$replicas"
sparkner_submit train --replicas "$replicas" "${args[@]+"${args[@]}"}"
