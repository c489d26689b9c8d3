#!/usr/bin/env bash
# HDInsight script action: installs a Java 17 runtime on every node, for sparkner.
#
# Why: HDInsight 5.1 runs Spark 3.3 on Java 8, and sparkner's jar is Java 17 bytecode. Spark 3.3
# runs on Java 17, so the YARN containers of sparkner's jobs are pointed at this JDK with
# spark.yarn.appMasterEnv.JAVA_HOME and spark.executorEnv.JAVA_HOME (see livy/*.json and
# jobs/env.sh SPARKNER_JAVA_HOME); the cluster's own services keep their Java 8.
#
# Apply to head and worker nodes (edge nodes too if you spark-submit from one), persisted so that
# nodes added by scaling get it:
#   az hdinsight script-action execute --cluster-name CLUSTER --resource-group RG --name sparkner-jdk17 \
#     --script-uri https://STORAGE_ACCOUNT.blob.core.windows.net/sparkner/scripts/install-jdk17.sh \
#     --roles headnode workernode --persist-on-success
# Idempotent: a node that has it already is left alone.
set -euo pipefail

JDK_HOME=/usr/lib/jvm/java-17-openjdk-amd64

if [[ -x "$JDK_HOME/bin/java" ]]; then
  echo "sparkner: Java 17 already at $JDK_HOME"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# another script action or unattended-upgrades may hold the dpkg lock for a while
for attempt in 1 2 3 4 5 6; do
  if apt-get update -q && apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless; then
    break
  fi
  if [[ "$attempt" == 6 ]]; then
    echo "sparkner: could not install openjdk-17-jdk-headless" >&2
    exit 1
  fi
  sleep 20
done
# the cluster's default Java stays as it was: only sparkner's containers use this one
"$JDK_HOME/bin/java" -version
echo "sparkner: Java 17 installed at $JDK_HOME"
