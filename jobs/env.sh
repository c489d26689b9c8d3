# shellcheck shell=bash disable=SC2034 # SHIPPED_AS and friends are read by the scripts that source this file
# Common settings of the spark-submit scripts in jobs/ (prepare, train, evaluate, score, retrain).
# Every value can be set in the environment, or in jobs/env.local.sh (sourced first if it exists,
# not versioned), e.g. for an HDInsight cluster:
#
#   SPARKNER_JAR=abfss://jobs@myaccount.dfs.core.windows.net/sparkner/sparkner-0.1.0-SNAPSHOT.jar
#   SPARKNER_MASTER=yarn
#   SPARKNER_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64   # installed by deploy/hdinsight/install-jdk17.sh
#
# and for a standalone cluster with GPUs:
#
#   SPARKNER_MASTER=spark://master:7077 SPARKNER_DEPLOY_MODE=client SPARKNER_GPUS_PER_EXECUTOR=1
#
# SPARKNER_DRY_RUN=1 prints the spark-submit command instead of running it (=lines: one argument a line).

SPARKNER_JOBS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPARKNER_HOME="$(cd "$SPARKNER_JOBS_DIR/.." && pwd)"
if [[ -f "$SPARKNER_JOBS_DIR/env.local.sh" ]]; then
  # shellcheck source=/dev/null
  source "$SPARKNER_JOBS_DIR/env.local.sh"
fi

# --- where things are
: "${SPARKNER_JAR:=$SPARKNER_HOME/target/sparkner-0.1.0-SNAPSHOT.jar}" # any path spark-submit reads: local, hdfs:, abfss:, wasbs:, s3a:
: "${SPARK_SUBMIT:=${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit}"
: "${SPARKNER_MASTER:=yarn}"            # yarn (HDInsight, EMR, on-prem) | spark://host:7077 (standalone) | local[4]
: "${SPARKNER_DEPLOY_MODE:=cluster}"     # cluster: the driver runs on the cluster (local --conf files are shipped, see ship_file)
: "${SPARKNER_QUEUE:=}"                  # YARN queue, empty = default

# --- sizes (one executor per training replica; see sparkner_barrier_conf)
: "${SPARKNER_DRIVER_MEMORY:=8g}"        # retrain/train read the prepared windows on the driver
: "${SPARKNER_EXECUTOR_MEMORY:=8g}"
: "${SPARKNER_EXECUTOR_MEMORY_OVERHEAD:=6g}" # libtorch allocates outside the JVM heap: give it room or YARN kills the container
: "${SPARKNER_EXECUTOR_CORES:=4}"        # CPU training: also spark.task.cpus (libtorch threads of one replica)
: "${SPARKNER_EXECUTORS:=4}"             # prepare/evaluate/score executors (static; dynamic allocation is fine there)
: "${SPARKNER_REPLICAS:=2}"              # train/retrain: data-parallel replicas = barrier tasks (= executors)

# --- GPUs (0 = CPU training). Spark schedules one GPU per replica task.
: "${SPARKNER_GPUS_PER_EXECUTOR:=0}"
: "${SPARKNER_GPU_DISCOVERY_SCRIPT:=${SPARK_HOME:-/opt/spark}/examples/src/main/scripts/getGpusResources.sh}"

# --- JVM
: "${SPARKNER_JAVA_HOME:=}"              # a Java 17 on every node when the cluster's default is older (HDInsight: Java 8)
: "${SPARKNER_DJL_CACHE:=/tmp/sparkner-djl}" # where DJL unpacks libtorch from the jar (a YARN user may have no writable home)
: "${SPARKNER_EXTRA_JAVA_OPTS:=}"
: "${SPARKNER_SUBMIT_ARGS:=}"            # more spark-submit options, split on spaces

# Spark 3.3+'s spark-submit adds the --add-opens Java 17 needs (JavaModuleOptions) to driver and
# executors itself; SPARKNER_ADD_OPENS=1 adds them for a launcher that does not (harmless twice).
: "${SPARKNER_ADD_OPENS:=0}"
SPARKNER_JAVA_OPENS="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED"
# nothing is downloaded at run time: libtorch and the tokenizers' natives come inside the jar
SPARKNER_JAVA_OPTS="-Dai.djl.offline=true -DENGINE_CACHE_DIR=$SPARKNER_DJL_CACHE"
if [[ "$SPARKNER_ADD_OPENS" == 1 ]]; then
  SPARKNER_JAVA_OPTS+=" $SPARKNER_JAVA_OPENS"
fi
if [[ -n "$SPARKNER_EXTRA_JAVA_OPTS" ]]; then
  SPARKNER_JAVA_OPTS+=" $SPARKNER_EXTRA_JAVA_OPTS"
fi

SUBMIT=()
SHIPPED=()

# The options every job shares: master, main class, JVM options, memory, Java 17 where needed.
sparkner_common_conf() {
  local name="$1"
  SUBMIT=("$SPARK_SUBMIT" --master "$SPARKNER_MASTER" --deploy-mode "$SPARKNER_DEPLOY_MODE"
    --name "sparkner $name" --class io.sparkner.cli.Main
    --driver-memory "$SPARKNER_DRIVER_MEMORY"
    --conf "spark.driver.extraJavaOptions=$SPARKNER_JAVA_OPTS"
    --conf "spark.executor.extraJavaOptions=$SPARKNER_JAVA_OPTS"
    --conf "spark.executor.memory=$SPARKNER_EXECUTOR_MEMORY"
    --conf "spark.executor.memoryOverhead=$SPARKNER_EXECUTOR_MEMORY_OVERHEAD"
    --conf "spark.executor.cores=$SPARKNER_EXECUTOR_CORES")
  if [[ -n "$SPARKNER_QUEUE" ]]; then
    SUBMIT+=(--queue "$SPARKNER_QUEUE")
  fi
  if [[ -n "$SPARKNER_JAVA_HOME" ]]; then
    SUBMIT+=(--conf "spark.executorEnv.JAVA_HOME=$SPARKNER_JAVA_HOME"
      --conf "spark.yarn.appMasterEnv.JAVA_HOME=$SPARKNER_JAVA_HOME")
    export JAVA_HOME="$SPARKNER_JAVA_HOME" # the client-side JVM (and the driver in client mode)
  fi
}

# Static executors for the jobs that are plain Spark stages (prepare, evaluate, score).
sparkner_static_conf() {
  case "$SPARKNER_MASTER" in
    yarn*) SUBMIT+=(--conf "spark.executor.instances=$SPARKNER_EXECUTORS") ;;
    spark://*) SUBMIT+=(--conf "spark.cores.max=$((SPARKNER_EXECUTORS * SPARKNER_EXECUTOR_CORES))") ;;
  esac
}

# Barrier training: all replicas at once, one per executor, each with a GPU or spark.task.cpus cores.
sparkner_barrier_conf() {
  local replicas="$1"
  SUBMIT+=(
    --conf spark.dynamicAllocation.enabled=false # a barrier stage needs every task slot at once
    --conf spark.task.maxFailures=4              # a failed replica relaunches the whole stage; ranks resume from the newest checkpoint
    --conf spark.stage.maxConsecutiveAttempts=4
    --conf spark.scheduler.minRegisteredResourcesRatio=1.0 # wait for every executor before the barrier stage...
    --conf spark.scheduler.maxRegisteredResourcesWaitingTime=600s # ...at most 10 minutes
    --conf spark.locality.wait=0s)
  case "$SPARKNER_MASTER" in
    yarn*) SUBMIT+=(--conf "spark.executor.instances=$replicas") ;;
    spark://*) SUBMIT+=(--conf "spark.cores.max=$((replicas * SPARKNER_EXECUTOR_CORES))") ;;
  esac
  if ((SPARKNER_GPUS_PER_EXECUTOR > 0)); then
    SUBMIT+=(
      --conf "spark.executor.resource.gpu.amount=$SPARKNER_GPUS_PER_EXECUTOR"
      --conf "spark.executor.resource.gpu.discoveryScript=$SPARKNER_GPU_DISCOVERY_SCRIPT"
      --conf spark.task.resource.gpu.amount=1 # one GPU per replica; the task reads its index from TaskContext.resources()
      --conf "spark.task.cpus=$((SPARKNER_EXECUTOR_CORES / SPARKNER_GPUS_PER_EXECUTOR > 0 ? SPARKNER_EXECUTOR_CORES / SPARKNER_GPUS_PER_EXECUTOR : 1))")
    # YARN: Spark asks for yarn.io/gpu itself (YARN 3.1+ with GPU scheduling enabled); standalone:
    # the workers need spark.worker.resource.gpu.amount and the same discovery script in spark-defaults.conf
  else
    SUBMIT+=(--conf "spark.task.cpus=$SPARKNER_EXECUTOR_CORES") # one replica per executor, all its cores as libtorch threads
  fi
}

# A local file argument in cluster mode: shipped with --files, named by its base name on the
# driver; SHIPPED_AS is what to pass. Storage paths (hdfs:, abfss:, s3a:, dbfs:) and client mode
# pass through unchanged.
SHIPPED_AS=""
ship_file() {
  local path="$1"
  SHIPPED_AS="$path"
  if [[ "$SPARKNER_DEPLOY_MODE" == cluster && "$path" != *:/* && -f "$path" ]]; then
    SHIPPED+=("$(cd "$(dirname "$path")" && pwd)/$(basename "$path")")
    SHIPPED_AS="$(basename "$path")"
  fi
}

# Runs (or, with SPARKNER_DRY_RUN=1, prints) spark-submit with the sparkner jar and arguments.
sparkner_submit() {
  if ((${#SHIPPED[@]})); then
    local IFS=,
    SUBMIT+=(--files "${SHIPPED[*]}")
    unset IFS
  fi
  if [[ -n "$SPARKNER_SUBMIT_ARGS" ]]; then
    local extra
    read -r -a extra <<<"$SPARKNER_SUBMIT_ARGS"
    SUBMIT+=("${extra[@]}")
  fi
  SUBMIT+=("$SPARKNER_JAR" "$@")
  if [[ "${SPARKNER_DRY_RUN:-}" == 1 ]]; then
    printf '%q ' "${SUBMIT[@]}"
    printf '\n'
  elif [[ "${SPARKNER_DRY_RUN:-}" == lines ]]; then # one argument per line, for tools and tests
    printf '%s\n' "${SUBMIT[@]}"
  else
    exec "${SUBMIT[@]}"
  fi
}
