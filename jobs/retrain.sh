#!/usr/bin/env bash
# sparkner retrain on a cluster: prepare -> train a challenger -> evaluate champion and challenger
# -> promote when it wins; every run recorded in the registry the configuration names.
#   jobs/retrain.sh abfss://jobs@acct.dfs.core.windows.net/sparkner/conf/retrain.json [--run-id ID]
# The cluster request is sized for the configuration's train.replicas: set SPARKNER_REPLICAS to
# the same number. Paths inside the configuration must be readable by the driver (in cluster mode
# use storage paths, not local ones). Schedule it with cron, Oozie, Airflow or Livy; on Databricks
# deploy/databricks/databricks.yml schedules it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if (($# < 1)); then
  echo "usage: jobs/retrain.sh CONF [--run-id ID]   (see conf/retrain.json)" >&2
  exit 2
fi
ship_file "$1"
conf="$SHIPPED_AS"
shift
sparkner_common_conf retrain
sparkner_barrier_conf "$SPARKNER_REPLICAS"
sparkner_submit retrain --conf "$conf" "$@"
