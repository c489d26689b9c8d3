package io.sparkner.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.collective.Handshake;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import io.sparkner.model.DeviceUnavailable;
import io.sparkner.model.TaskCompute;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import io.sparkner.track.MetricsFollower;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.Tuple2;
import scala.reflect.ClassTag$;

/**
 * N data-parallel replicas as one Spark barrier stage ({@code rdd.barrier().mapPartitions}): each
 * task takes the GPU Spark assigned it (or the CPU with {@code spark.task.cpus} threads), opens a
 * server socket, publishes its address with {@code allGather}, joins the authenticated ring and
 * runs {@link RankTraining}. The stage ends in a shuffle so that it is a ShuffleMapStage, which
 * Spark re-attempts whole when a task dies (a failed barrier ResultStage aborts the job); the
 * relaunched ranks resume from the newest complete checkpoint. When Spark gives up, the driver runs
 * the job again from the checkpoint, a bounded number of times.
 */
public final class BarrierTraining {
  private static final Logger LOG = LoggerFactory.getLogger(BarrierTraining.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int DRIVER_RETRIES = 2;

  private BarrierTraining() {}

  static List<RankTraining.Outcome> run(
      SparkSession spark,
      TrainPlan plan,
      RankData.Source source,
      int replicas,
      TrainJob.Distribution dist,
      PrintStream console,
      MetricsFollower follower) {
    SparkContext sc = spark.sparkContext();
    checkCluster(sc.getConf(), replicas, slots(sc), plan.windows().size());
    String unencrypted = unencryptedSecretWarning(sc.getConf());
    if (unencrypted != null) {
      LOG.warn(unencrypted);
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret); // travels inside the task closure only; never logged
    Broadcast<TrainPlan> shared = jsc.broadcast(plan);
    // the windows: streamed to each rank from its partition of the feed, or (the reference path)
    // broadcast whole to every rank with empty partitions
    Broadcast<RankData.Collected> collected =
        source instanceof RankData.Collected c ? jsc.broadcast(c) : null;
    ValidationPlan validation = source instanceof RankData.Fed f ? f.validation() : null;
    JavaRDD<Tuple2<FeedKey, byte[]>> input =
        source instanceof RankData.Fed f
            ? f.feed().forRanks(plan.config(), replicas, f.validation())
            : jsc.parallelize(List.of(), replicas);
    HadoopConf hconf = new HadoopConf(sc.hadoopConfiguration());
    MetricsFollower.Listener progress = new Progress(console, sc, plan.config());
    follower.subscribe(progress);
    try {
      RuntimeException last = null;
      for (int attempt = 0; attempt <= DRIVER_RETRIES; attempt++) {
        sc.setJobDescription(
            "sparkner train: "
                + replicas
                + " replicas, "
                + plan.config().epochs()
                + " epoch(s), "
                + plan.config().totalSteps()
                + " steps"
                + (attempt > 0
                    ? " (driver retry " + attempt + ", from the newest checkpoint)"
                    : ""));
        try {
          boolean injectOnThisRun = attempt == 0;
          Function1<
                  scala.collection.Iterator<Tuple2<FeedKey, byte[]>>,
                  scala.collection.Iterator<String>>
              task =
                  (Function1<
                              scala.collection.Iterator<Tuple2<FeedKey, byte[]>>,
                              scala.collection.Iterator<String>>
                          & Serializable)
                      it -> {
                        TrainPlan p = shared.value();
                        RankData data =
                            collected != null
                                ? collected.value().open(BarrierTaskContext.get().partitionId())
                                : RankData.streamed(p.windows(), validation, TrainingFeed.of(it));
                        return scala.collection.Iterator$.MODULE$.single(
                            rank(p, data, hconf, secret, dist, injectOnThisRun));
                      };
          List<String> out =
              JavaRDD.fromRDD(
                      input
                          .rdd()
                          .barrier()
                          .mapPartitions(task, false, ClassTag$.MODULE$.apply(String.class)),
                      ClassTag$.MODULE$.apply(String.class))
                  .mapToPair(
                      s ->
                          new Tuple2<>(
                              0, s)) // a shuffle ends the barrier stage: a ShuffleMapStage is
                  // re-attempted whole
                  .groupByKey(1)
                  .values()
                  .flatMap(v -> v.iterator())
                  .collect();
          List<RankTraining.Outcome> outcomes = new ArrayList<>();
          for (String s : out) {
            outcomes.add(JSON.readValue(s, RankTraining.Outcome.class));
          }
          outcomes.sort((a, b) -> Integer.compare(a.rank(), b.rank()));
          return outcomes;
        } catch (Exception e) {
          last = e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
          DeviceUnavailable device = DeviceUnavailable.in(e);
          if (device != null) {
            device.addSuppressed(e);
            throw device; // the tasks' device cannot be used: the same on every retry
          }
          if (rootCause(e) instanceof IllegalArgumentException) {
            throw last; // bad input or configuration: retrying would fail the same way
          }
          LOG.warn(
              "training job failed (attempt {} of {}): {}",
              attempt + 1,
              DRIVER_RETRIES + 1,
              Redaction.text(firstLine(e.getMessage()), sc.hadoopConfiguration()));
        }
      }
      throw last;
    } finally {
      follower.unsubscribe(progress);
      sc.setJobDescription(null);
      shared.destroy();
      if (collected != null) {
        collected.destroy();
      }
    }
  }

  /** One barrier task: device, threads, rendezvous, ring, training. Returns the outcome as JSON. */
  static String rank(
      TrainPlan plan,
      RankData data,
      HadoopConf hconf,
      byte[] secret,
      TrainJob.Distribution dist,
      boolean injectOnThisRun) {
    try {
      return rankUnchecked(plan, data, hconf, secret, dist, injectOnThisRun);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String rankUnchecked(
      TrainPlan plan,
      RankData data,
      HadoopConf hconf,
      byte[] secret,
      TrainJob.Distribution dist,
      boolean injectOnThisRun)
      throws java.io.IOException {
    BarrierTaskContext ctx = BarrierTaskContext.get();
    int rank = ctx.partitionId();
    BarrierTaskInfo[] infos = ctx.getTaskInfos();
    int n = infos.length;
    Device device = TaskCompute.use(dist.device());
    String host =
        RankAddress.choose(
            dist.host(),
            isLocalMaster(),
            infos[rank].address(),
            BarrierTraining::localHostLookup,
            LOG::warn);
    try (RingEndpoint endpoint = RingEndpoint.open(host, dist.portFrom(), dist.portTo())) {
      String[] addresses = ctx.allGather(endpoint.address());
      // a key per stage attempt: a task left over from a failed attempt cannot join the next one
      byte[] key = Handshake.ringKey(secret, ctx.stageId(), ctx.stageAttemptNumber());
      Ring joined;
      try {
        joined =
            endpoint.join(
                rank, Arrays.asList(addresses), key, Duration.ofSeconds(dist.timeoutSeconds()));
      } finally {
        Arrays.fill(key, (byte) 0);
      }
      try (Ring ring = joined) {
        ring.setHalfPrecisionWire(plan.fp16());
        var exchange =
            new RingExchange(
                ring,
                plan.config().zeroStage(),
                parameterCount(plan, hconf),
                plan.config().reduceBucketSize());
        // the plan's faults hit the first attempt only: the relaunched one must get through
        boolean inject = injectOnThisRun && ctx.stageAttemptNumber() == 0;
        if (inject) {
          plan.faults().ringStallOf(rank).ifPresent(ring::simulate);
        }
        RankTraining.Outcome o =
            RankTraining.run(plan, data, exchange, device, hconf.get(), null, inject)
                .withRing(ring.bytesSent(), exchange.sparseSteps(), exchange.denseFallbacks());
        LOG.info("rank {} of {} on {} finished {} steps", rank, n, device, o.steps());
        if (plan.config().sparseGradients()) {
          LOG.info(
              "rank {}: sparse_gradients: word-embedding gradient exchanged sparsely in {} steps,"
                  + " densely in {} (sparse would have sent more bytes)",
              rank,
              exchange.sparseSteps(),
              exchange.denseFallbacks());
        }
        return JSON.writeValueAsString(o);
      }
    }
  }

  private static String localHostLookup() {
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (java.net.UnknownHostException e) {
      throw new java.io.UncheckedIOException(
          "no executor address from Spark and this host's own name does not resolve: "
              + e.getMessage(),
          e);
    }
  }

  private static boolean isLocalMaster() {
    String master = org.apache.spark.SparkEnv.get().conf().get("spark.master", "");
    return master.startsWith("local");
  }

  /**
   * The number of parameters of the plan's model, from its config (the ZeRO shards depend on it).
   */
  private static long parameterCount(TrainPlan plan, HadoopConf hconf) {
    var cfg =
        plan.head(
            io.sparkner.model.ModelConfig.parse(
                HadoopFiles.readString(plan.modelDir() + "/config.json", hconf.get()),
                plan.modelDir()));
    try (var m = ai.djl.ndarray.NDManager.newBaseManager()) {
      long total = 0;
      for (long[] shape :
          new io.sparkner.model.TokenClassificationModel(cfg, m).parameterShapes().values()) {
        long k = 1;
        for (long d : shape) {
          k *= d;
        }
        total += k;
      }
      return total;
    }
  }

  /**
   * The warning to log at start when the ring secret would cross the network in the clear: it
   * travels to the executors inside the task closure, which Spark encrypts only with {@code
   * spark.network.crypto.enabled}. Null on a local master (nothing leaves the JVM) or with
   * encryption on. Never contains the secret.
   */
  static String unencryptedSecretWarning(SparkConf conf) {
    String master = conf.get("spark.master", "");
    if (master.startsWith("local") || conf.getBoolean("spark.network.crypto.enabled", false)) {
      return null;
    }
    return "--replicas: the ring's secret travels to the executors inside the task closure, and"
        + " spark.network.crypto.enabled is off on master "
        + Redaction.uri(master)
        + ": whoever can read the traffic between the driver and the executors can read it and join"
        + " the ring. Set spark.authenticate=true and spark.network.crypto.enabled=true on a"
        + " network you do not trust.";
  }

  /**
   * What would make the barrier stage hang or fail obscurely, checked before launch: dynamic
   * allocation (barrier stages need all executors at once), fewer task slots than replicas (Spark
   * would retry for minutes before failing), more replicas than training windows.
   *
   * @param slots the concurrent task slots, or -1 when unknown
   */
  public static void checkCluster(SparkConf conf, int replicas, int slots, int examples) {
    if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new IllegalArgumentException(
          "--replicas "
              + replicas
              + " runs a barrier stage, which dynamic allocation cannot serve: set"
              + " spark.dynamicAllocation.enabled=false (and spark.executor.instances so that"
              + " executors × cores / spark.task.cpus ≥ "
              + replicas
              + ")");
    }
    if (slots >= 0 && slots < replicas) {
      throw new IllegalArgumentException(
          "--replicas "
              + replicas
              + " needs "
              + replicas
              + " concurrent task slots but the cluster has "
              + slots
              + ": use more executors or cores (spark.executor.instances, spark.executor.cores), a"
              + " lower spark.task.cpus, a local["
              + replicas
              + "] master, or fewer --replicas");
    }
    if (replicas > examples) {
      throw new IllegalArgumentException(
          "--replicas " + replicas + " is more than the " + examples + " training windows");
    }
  }

  /**
   * Concurrent task slots: local[N] → N; a cluster → executors × cores / task cpus; -1 if unknown.
   */
  static int slots(SparkContext sc) {
    String master = sc.master();
    int taskCpus = sc.getConf().getInt("spark.task.cpus", 1);
    if (master.startsWith("local")) {
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("local\\[(\\d+|\\*)(?:,\\d+)?\\]").matcher(master);
      if (master.equals("local")) {
        return 1 / taskCpus;
      }
      if (m.matches()) {
        int cores =
            m.group(1).equals("*")
                ? Runtime.getRuntime().availableProcessors()
                : Integer.parseInt(m.group(1));
        return cores / taskCpus;
      }
      return -1;
    }
    int executors = sc.statusTracker().getExecutorInfos().length - 1; // minus the driver
    int cores = sc.getConf().getInt("spark.executor.cores", -1);
    if (executors <= 0 || cores <= 0) {
      return -1;
    }
    return executors * cores / taskCpus;
  }

  private static Throwable rootCause(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /**
   * The driver's progress line: the records of rank 0's metrics.jsonl on storage, as the run's
   * {@link MetricsFollower} delivers them. It also names each epoch in the Spark UI: Spark cannot
   * retitle the running barrier job, so when the log reaches a new epoch it submits an empty job
   * (no partitions, no tasks) whose description is "sparkner train: epoch E of T ..." — it appears
   * in the UI's job list at that moment, next to the barrier job. Records of an earlier run (a
   * resumed one) are history, printed once.
   */
  static final class Progress implements MetricsFollower.Listener {
    private final PrintStream console;
    private final SparkContext sc;
    private final TrainConfig config;
    private long epochNamed;

    Progress(PrintStream console, SparkContext sc, TrainConfig config) {
      this.console = console;
      this.sc = sc;
      this.config = config;
    }

    @Override
    public void record(JsonNode m) {
      console.println(MetricsLog.format(m));
      nameEpoch(m);
    }

    /** The empty marker job of the epoch that {@code m}'s step belongs to, once per epoch. */
    private void nameEpoch(JsonNode m) {
      long step = m.path("step").asLong(0);
      long perEpoch = config.stepsPerEpoch();
      if (step <= 0 || perEpoch <= 0) {
        return;
      }
      long epoch = (step - 1) / perEpoch + 1;
      if (epoch <= epochNamed) {
        return;
      }
      epochNamed = epoch;
      sc.setJobDescription(
          "sparkner train: epoch "
              + epoch
              + " of "
              + config.epochs()
              + " (step "
              + step
              + " of "
              + config.totalSteps()
              + " logged; the training itself is the running barrier job)");
      try {
        sc.emptyRDD(ClassTag$.MODULE$.apply(Object.class)).count();
      } catch (RuntimeException e) {
        LOG.debug("could not name epoch {} in the Spark UI: {}", epoch, e.toString());
      } finally {
        sc.setJobDescription(null);
      }
    }
  }
}
