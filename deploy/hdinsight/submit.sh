#!/usr/bin/env bash
# Uploads the jar and configurations, or submits a Livy batch of deploy/hdinsight/livy/ to an
# HDInsight cluster.
#
#   deploy/hdinsight/submit.sh upload                 # jar -> .../jars/, conf/*.json + retrain-hdinsight.json -> .../conf/
#   deploy/hdinsight/submit.sh prepare|train|evaluate|score|retrain
#
# Environment: HDI_CLUSTER (the cluster name), HDI_STORAGE_ACCOUNT (replaces STORAGE_ACCOUNT in the
# batch files), HDI_USER (default admin) and HDI_PASSWORD (the cluster login; read from the
# environment and handed to curl through a file descriptor, never on its command line nor
# printed). Livy has no scheduler: run "submit.sh retrain" from cron on an edge node, an Oozie
# coordinator, or an Azure Data Factory HDInsight Spark activity with the same class and arguments.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${HDI_CLUSTER:?set HDI_CLUSTER to the cluster name}"
: "${HDI_STORAGE_ACCOUNT:?set HDI_STORAGE_ACCOUNT to the ADLS Gen2 account of the batches}"
: "${HDI_USER:=admin}"
LIVY="https://$HDI_CLUSTER.azurehdinsight.net/livy/batches"
JAR="$ROOT/target/sparkner-0.1.0-SNAPSHOT.jar"
DEST="abfss://sparkner@$HDI_STORAGE_ACCOUNT.dfs.core.windows.net"

job="${1:?usage: submit.sh upload|prepare|train|evaluate|score|retrain}"
case "$job" in
  upload)
    # hdfs dfs on a cluster node, or azcopy/az storage from anywhere: both take these paths
    command -v hdfs >/dev/null || { echo "run upload on a cluster node (hdfs), or copy $JAR and conf/ to $DEST with azcopy" >&2; exit 2; }
    hdfs dfs -mkdir -p "$DEST/jars" "$DEST/conf"
    hdfs dfs -put -f "$JAR" "$DEST/jars/"
    hdfs dfs -put -f "$ROOT"/conf/*.json "$HERE/retrain-hdinsight.json" "$DEST/conf/"
    exit 0
    ;;
  prepare | train | evaluate | score | retrain) ;;
  *) echo "unknown job $job: upload|prepare|train|evaluate|score|retrain" >&2; exit 2 ;;
esac

: "${HDI_PASSWORD:?set HDI_PASSWORD (the cluster login password)}"
body="$(sed "s/STORAGE_ACCOUNT/$HDI_STORAGE_ACCOUNT/g" "$HERE/livy/$job.json")"
# credentials through a netrc on a file descriptor: not visible in ps, not in the shell history
curl --fail-with-body -sS --netrc-file <(printf 'machine %s.azurehdinsight.net login %s password %s\n' "$HDI_CLUSTER" "$HDI_USER" "$HDI_PASSWORD") \
  -H 'Content-Type: application/json' -H "X-Requested-By: $HDI_USER" \
  -X POST --data "$body" "$LIVY"
echo
echo "follow it: GET $LIVY/<id>/state and $LIVY/<id>/log (same credentials), or the YARN UI"
