package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestSpark;
import io.sparkner.collective.SendStall;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training in a real Spark barrier stage with real sockets: N replicas reach the
 * weights of one replica with the same global batch, for every ZeRO stage; optimizer state is
 * sharded; overflow decisions are global; a killed task's stage is relaunched and resumes from the
 * checkpoint to the same weights; a run resumes with another N.
 */
class DistributedTrainingTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static String data;
  static String model;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    spark = TestSpark.session();
    TrainingFixture fixture = TrainingFixture.stockmarkSample(spark, dir);
    data = fixture.data();
    model = fixture.model();
  }

  /** 20 steps, global batch 12 split over the replicas, fp32, dropout off; the faults on rank 1. */
  static TrainJob.Result train(
      String name,
      int replicas,
      int zero,
      long failAtStep,
      List<Long> overflowSteps,
      String... extra) {
    return train(
        name,
        replicas,
        zero,
        FaultPlan.none().withRank(1).withFailAtStep(failAtStep).withOverflowSteps(overflowSteps),
        60,
        extra);
  }

  /** 20 steps, global batch 12 split over the replicas, fp32, dropout off. */
  static TrainJob.Result train(
      String name, int replicas, int zero, FaultPlan faults, int timeoutSeconds, String... extra) {
    return trainWith(name, replicas, zero, faults, timeoutSeconds, null, extra);
  }

  /** As {@link #train}, with a DeepSpeed JSON file (or null). */
  static TrainJob.Result trainWith(
      String name,
      int replicas,
      int zero,
      FaultPlan faults,
      int timeoutSeconds,
      String deepspeed,
      String... extra) {
    List<String> set =
        new ArrayList<>(
            List.of(
                "learning_rate=2e-3",
                "per_device_train_batch_size=" + (12 / replicas),
                "max_steps=20",
                "warmup_steps=2",
                "weight_decay=0.01",
                "logging_steps=5",
                "save_steps=5",
                "hidden_dropout_prob=0.0",
                "attention_probs_dropout_prob=0.0",
                "classifier_dropout=0.0",
                "zero_stage=" + zero,
                "seed=7"));
    set.addAll(List.of(extra));
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return TrainJob.run(
        spark,
        TrainJob.Options.builder(data, model, dir.resolve(name).toString())
            .overrides(set)
            .replicas(replicas)
            .distribution(new TrainJob.Distribution(null, 0, 0, timeoutSeconds))
            .faults(faults)
            .deepspeed(deepspeed)
            .build(),
        out);
  }

  /**
   * Runs several tests compare against, trained once per class (by whichever test needs one first).
   */
  static final Map<String, TrainJob.Result> SHARED = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The run {@code train} gives for these settings (no failure, no overflow), trained at most once
   * per class.
   */
  static synchronized TrainJob.Result shared(int replicas, int zero, String... extra) {
    String key =
        "n" + replicas + "-zero" + zero + (extra.length == 0 ? "" : "-" + String.join("-", extra));
    TrainJob.Result r = SHARED.get(key);
    if (r == null) {
      String name = "shared-" + SHARED.size() + "-n" + replicas + "-zero" + zero;
      r =
          replicas == 1
              ? trainOneReplica(name, extra)
              : train(name, replicas, zero, -1, List.of(), extra);
      SHARED.put(key, r);
    }
    return r;
  }

  static float[] weights(TrainJob.Result r) throws IOException {
    Path p = Path.of(java.net.URI.create(r.output() + "/model.safetensors"));
    Map<String, SafeTensors.Tensor> t = SafeTensors.read(p);
    float[] out = new float[t.values().stream().mapToInt(x -> x.data().length).sum()];
    int k = 0;
    for (SafeTensors.Tensor x : t.values()) {
      System.arraycopy(x.data(), 0, out, k, x.data().length);
      k += x.data().length;
    }
    return out;
  }

  static double maxDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @Test
  void preLaunchChecksSayWhatToSet() {
    SparkConf dyn = new SparkConf().set("spark.dynamicAllocation.enabled", "true");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> BarrierTraining.checkCluster(dyn, 2, 8, 100));
    assertTrue(e.getMessage().contains("spark.dynamicAllocation.enabled=false"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BarrierTraining.checkCluster(new SparkConf(), 4, 3, 100));
    assertTrue(
        e.getMessage().contains("needs 4 concurrent task slots but the cluster has 3"),
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BarrierTraining.checkCluster(new SparkConf(), 4, 8, 3));
    assertTrue(e.getMessage().contains("more than the 3 training windows"), e.getMessage());
    assertEquals(3, BarrierTraining.slots(spark.sparkContext())); // local[3,4]
    // through the job: 5 replicas on 3 slots
    e = assertThrows(IllegalArgumentException.class, () -> train("too-many", 5, 0, -1, List.of()));
    assertTrue(e.getMessage().contains("concurrent task slots"), e.getMessage());
  }

  /**
   * The one-replica reference, trained on this thread with one libtorch thread: each barrier task
   * runs libtorch with spark.task.cpus (1) threads, and a different thread count changes matmul
   * summation order, which Adam amplifies in parameters whose gradients are near zero.
   */
  static TrainJob.Result trainOneReplica(String name, String... extra) {
    ai.djl.engine.Engine.getInstance();
    int threads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
    ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
    try {
      return train(name, 1, 0, -1, List.of(), extra);
    } finally {
      ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
    }
  }

  @Test
  void replicasReachTheWeightsOfOneReplicaForEveryZeroStage() throws IOException {
    float[] reference = weights(shared(1, 0));
    for (int n : new int[] {2, 3}) {
      for (int zero : new int[] {0, 1, 2}) {
        TrainJob.Result r = shared(n, zero);
        assertEquals(20, r.steps());
        double d = maxDiff(reference, weights(r));
        System.out.printf("N=%d ZeRO %d vs N=1: max abs weight difference %.3g%n", n, zero, d);
        assertTrue(d <= 1e-5, "N=" + n + " ZeRO " + zero + " differs from N=1 by " + d);
        long psi = r.ranks().get(0).parameters();
        for (RankTraining.Outcome o : r.ranks()) {
          long shard = (psi + n - 1) / n;
          if (zero == 0) {
            assertEquals(12 * psi, o.optimizerBytes());
          } else {
            // 12 bytes (fp32 master, m, v) per parameter of the rank's 1/N shard
            assertTrue(
                o.optimizerBytes() <= 12 * shard
                    && o.optimizerBytes() >= 12 * (psi - (long) (n - 1) * shard),
                "rank " + o.rank() + ": " + o.optimizerBytes());
          }
          assertEquals(
              zero == 2 ? o.optimizerBytes() / 12 : psi,
              o.reducedGradientLength(),
              "reduced gradient held by rank " + o.rank());
        }
      }
    }
  }

  @Test
  void groupByLengthGivesTheSameWeightsWithTwoReplicasAsWithOne() throws IOException {
    TrainJob.Result one = shared(1, 0, "group_by_length=true");
    TrainJob.Result shuffled = shared(1, 0);
    assertTrue(one.config().groupByLength());
    TrainJob.Result two = shared(2, 2, "group_by_length=true");
    double d = maxDiff(weights(one), weights(two));
    assertTrue(d <= 1e-5, "group_by_length: N=2 differs from N=1 by " + d);
    // and the option did change the order: other batches, other weights
    assertTrue(maxDiff(weights(one), weights(shuffled)) > 1e-3);
  }

  @Test
  void theSparkUiNamesEachEpoch() throws Exception {
    List<String> descriptions = java.util.Collections.synchronizedList(new ArrayList<>());
    org.apache.spark.scheduler.SparkListener listener =
        new org.apache.spark.scheduler.SparkListener() {
          @Override
          public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart e) {
            String d =
                e.properties() == null ? null : e.properties().getProperty("spark.job.description");
            if (d != null) {
              descriptions.add(d);
            }
          }
        };
    spark.sparkContext().addSparkListener(listener);
    try {
      // global batch 120: a few steps per epoch, two epochs
      TrainJob.Result r =
          train(
              "epochs",
              2,
              2,
              -1,
              List.of(),
              "per_device_train_batch_size=60",
              "max_steps=0",
              "num_train_epochs=2",
              "logging_steps=1",
              "save_steps=1000");
      assertTrue(r.steps() >= 4, "steps " + r.steps());
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
    List<String> epochs =
        descriptions.stream().filter(d -> d.startsWith("sparkner train: epoch")).toList();
    assertEquals(2, epochs.size(), "epoch jobs among " + descriptions);
    assertTrue(epochs.get(0).startsWith("sparkner train: epoch 1 of 2 (step 1 of "), epochs.get(0));
    assertTrue(epochs.get(1).startsWith("sparkner train: epoch 2 of 2 "), epochs.get(1));
    assertTrue(
        descriptions.stream().anyMatch(d -> d.startsWith("sparkner train: 2 replicas, 2 epoch(s)")),
        descriptions.toString());
  }

  @Test
  void anInjectedOverflowIsSkippedByEveryRankAndHalvesTheScale() {
    // two overflows: DeepSpeed's hysteresis 2 absorbs the first, the second halves the scale
    TrainJob.Result r = train("fp16", 2, 2, -1, List.of(3L, 4L), "fp16=true", "max_steps=8");
    for (RankTraining.Outcome o : r.ranks()) {
      assertEquals(2, o.skippedSteps(), "rank " + o.rank());
      assertEquals(32768.0, o.lossScale(), "rank " + o.rank());
    }
  }

  /** The errors of the tasks that fail while it is registered. */
  static final class TaskFailures extends SparkListener implements AutoCloseable {
    private final List<String> errors = Collections.synchronizedList(new ArrayList<>());

    TaskFailures() {
      spark.sparkContext().addSparkListener(this);
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (e.reason() instanceof TaskFailedReason f) {
        errors.add(f.toErrorString());
      }
    }

    List<String> seen() {
      try {
        spark.sparkContext().listenerBus().waitUntilEmpty();
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("Spark's listener bus did not drain", e);
      }
      return List.copyOf(errors);
    }

    @Override
    public void close() {
      spark.sparkContext().removeSparkListener(this);
    }
  }

  @Test
  void aKilledTaskIsRelaunchedAndReachesTheUninterruptedWeights() throws IOException {
    float[] uninterrupted = weights(shared(2, 1));
    try (TaskFailures failures = new TaskFailures()) {
      TrainJob.Result r = train("killed-n2", 2, 1, 12, List.of());
      assertEquals(20, r.steps());
      double d = maxDiff(uninterrupted, weights(r));
      assertEquals(0.0, d, 1e-6, "after relaunch from step 10: " + d);
      // the fault plan reached rank 1 in its barrier task, which died as planned
      List<String> failed = failures.seen();
      assertTrue(
          failed.stream()
              .anyMatch(
                  f -> f.contains("injected failure of rank 1 after step 12 (--fail-at-step)")),
          failed.toString());
    }
  }

  @Test
  void aRankWhoseRingStallsFailsTheStageWhichIsRelaunchedAndReachesTheUninterruptedWeights()
      throws IOException {
    float[] uninterrupted = weights(shared(2, 1));
    try (TaskFailures failures = new TaskFailures()) {
      // rank 1's sender hangs after 30 frames (a few steps in) with its sockets open: rank 0 gives
      // up after the collective timeout (6 s), the stage fails and is relaunched without the fault.
      // The hung task keeps its Spark slot until it wakes: 8 s, so the tests after this one do not
      // wait for it.
      FaultPlan stall =
          FaultPlan.none().withRank(1).withRingStall(new SendStall(30, Duration.ofSeconds(8)));
      TrainJob.Result r = train("stalled-n2", 2, 1, stall, 6);
      assertEquals(20, r.steps());
      assertEquals(
          0.0,
          maxDiff(uninterrupted, weights(r)),
          1e-6,
          "after relaunch from the newest checkpoint");
      List<String> failed = failures.seen();
      assertTrue(
          failed.stream()
              .anyMatch(f -> f.contains("timed out after 6000 ms receiving from rank 1")),
          failed.toString());
    }
  }

  /** Dropout on every site, overriding the default list's zeros. */
  static final String[] DROPOUT = {
    "hidden_dropout_prob=0.1", "attention_probs_dropout_prob=0.1", "classifier_dropout=0.1"
  };

  static String[] withDropout(String... extra) {
    List<String> all = new ArrayList<>(List.of(DROPOUT));
    all.addAll(List.of(extra));
    return all.toArray(new String[0]);
  }

  @Test
  void twoRunsWithDropoutOnTwoReplicasInOneJvmGiveByteIdenticalWeights() throws IOException {
    TrainJob.Result a = shared(2, 2, DROPOUT);
    TrainJob.Result b = train("dropout-b", 2, 2, -1, List.of(), DROPOUT);
    assertEquals(0.1, a.config().hiddenDropoutProb());
    assertEquals(0.0, maxDiff(weights(a), weights(b)), "two identical runs with dropout differ");
    // and dropout is really applied: the same run without it ends elsewhere
    TrainJob.Result off = shared(2, 2);
    assertTrue(maxDiff(weights(a), weights(off)) > 1e-3);
  }

  @Test
  void aKilledTaskWithDropoutOnResumesToTheUninterruptedWeights() throws IOException {
    float[] uninterrupted = weights(shared(2, 2, DROPOUT));
    TrainJob.Result r = train("dropout-killed", 2, 2, 12, List.of(), DROPOUT);
    assertEquals(20, r.steps());
    assertEquals(
        0.0, maxDiff(uninterrupted, weights(r)), "with dropout, after relaunch from step 10");
  }

  @Test
  void withDropoutOnReplicasReachTheWeightsOfOneReplica() throws IOException {
    float[] reference = weights(shared(1, 0, DROPOUT));
    for (int n : new int[] {2, 3}) {
      TrainJob.Result r = shared(n, 2, DROPOUT);
      double d = maxDiff(reference, weights(r));
      System.out.printf("dropout 0.1: N=%d ZeRO 2 vs N=1: max abs weight difference %.3g%n", n, d);
      assertTrue(d <= 1e-5, "with dropout, N=" + n + " differs from N=1 by " + d);
    }
    // with group_by_length too: other micro-batch compositions, the same masks per example
    float[] grouped =
        weights(trainOneReplica("dropout-grouped-n1", withDropout("group_by_length=true")));
    double d =
        maxDiff(
            grouped,
            weights(
                train(
                    "dropout-grouped-n2",
                    2,
                    2,
                    -1,
                    List.of(),
                    withDropout("group_by_length=true"))));
    assertTrue(d <= 1e-5, "with dropout and group_by_length, N=2 differs from N=1 by " + d);
  }

  @Test
  void aCheckpointWrittenByThreeReplicasResumesWithTwo() throws IOException {
    TrainJob.Result three = shared(3, 2);
    // a new run that finds only the 3-replica checkpoint of step 10 (three optimizer shards)
    Path from = Path.of(java.net.URI.create(three.output())).resolve("checkpoints/checkpoint-10");
    Path to = dir.resolve("resumed-by-2/checkpoints/checkpoint-10");
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    assertEquals(
        3,
        Files.list(to)
            .filter(f -> f.getFileName().toString().startsWith("optimizer-rank"))
            .count());
    TrainJob.Result two = train("resumed-by-2", 2, 2, -1, List.of());
    assertEquals(20, two.steps());
    double d = maxDiff(weights(three), weights(two));
    assertTrue(d <= 1e-5, "resumed with N=2 from N=3's step 10 differs by " + d);
  }

  /** A DeepSpeed config that only turns sparse_gradients on (the rest from the arguments). */
  static synchronized String sparseGradientsConfig() throws IOException {
    Path p = dir.resolve("ds-sparse-gradients.json");
    if (!Files.exists(p)) {
      Files.writeString(p, "{\"sparse_gradients\": true}");
    }
    return p.toString();
  }

  /** {@link #shared} with sparse_gradients on, trained at most once per class. */
  static synchronized TrainJob.Result sharedSparse(int replicas, int zero) throws IOException {
    String key = "sparse-n" + replicas + "-zero" + zero;
    TrainJob.Result r = SHARED.get(key);
    if (r == null) {
      r =
          trainWith(
              "shared-" + SHARED.size() + "-" + key,
              replicas,
              zero,
              FaultPlan.none(),
              60,
              sparseGradientsConfig());
      SHARED.put(key, r);
    }
    return r;
  }

  static int[] bits(float[] a) {
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = Float.floatToRawIntBits(a[i]);
    }
    return b;
  }

  /** Every rank exchanged the word-embedding gradient sparsely at every one of {@code steps}. */
  static void assertSparseEveryStep(TrainJob.Result r, long steps, String what) {
    assertTrue(r.config().sparseGradients(), what);
    for (RankTraining.Outcome o : r.ranks()) {
      assertEquals(steps, o.sparseSteps(), what + ": sparse steps of rank " + o.rank());
      assertEquals(0, o.denseFallbacks(), what + ": dense fallbacks of rank " + o.rank());
    }
  }

  @Test
  void sparseGradientsGiveTheDenseWeightsBitForBitAndSendFewerBytes() throws IOException {
    for (int n : new int[] {2, 3}) {
      for (int zero : new int[] {0, 2}) {
        String what = "N=" + n + " ZeRO " + zero;
        TrainJob.Result dense = shared(n, zero);
        TrainJob.Result sparse = sharedSparse(n, zero);
        assertEquals(20, sparse.steps(), what);
        assertSparseEveryStep(sparse, 20, what);
        assertEquals(0, dense.ranks().get(0).sparseSteps(), what + " without the key");
        // the same additions in the same order: the same bits
        assertArrayEquals(
            bits(weights(dense)), bits(weights(sparse)), what + ": sparse vs dense weights");
        for (int r = 0; r < n; r++) {
          long d = dense.ranks().get(r).ringBytesSent();
          long s = sparse.ranks().get(r).ringBytesSent();
          System.out.printf(
              "%s rank %d: ring payload %,d bytes dense, %,d sparse (%.1f%%), %,d vs %,d a step%n",
              what, r, d, s, 100.0 * s / d, d / 20, s / 20);
          // the word embeddings are 86 % of the tiny model; their gradient goes sparse, not the
          // parameter all-gather of ZeRO 2 (AdamW changes every row): measured 16 % and 66 %
          double bound = zero == 0 ? 0.25 : 0.75;
          assertTrue(
              s < bound * d, what + " rank " + r + ": " + s + " bytes sparse, " + d + " dense");
        }
      }
    }
  }

  @Test
  void withSparseGradientsAnInjectedFp16OverflowIsSkippedByEveryRankAndTheBitsStay()
      throws IOException {
    // the inf goes into element 0 (word-embedding row 0) of rank 1; rank 0 owns it under ZeRO 2
    // and sees it only through the sparse rows
    String[] fp16 = {"fp16=true", "max_steps=8"};
    FaultPlan overflows = FaultPlan.none().withRank(1).withOverflowSteps(List.of(3L, 4L));
    TrainJob.Result dense = trainWith("fp16-dense", 2, 2, overflows, 60, null, fp16);
    TrainJob.Result sparse =
        trainWith("fp16-sparse", 2, 2, overflows, 60, sparseGradientsConfig(), fp16);
    assertSparseEveryStep(sparse, 8, "fp16");
    for (TrainJob.Result r : List.of(dense, sparse)) {
      for (RankTraining.Outcome o : r.ranks()) {
        assertEquals(2, o.skippedSteps(), "rank " + o.rank());
        assertEquals(32768.0, o.lossScale(), "rank " + o.rank());
      }
    }
    assertArrayEquals(bits(weights(dense)), bits(weights(sparse)), "fp16: sparse vs dense");
  }

  @Test
  void aKilledTaskWithSparseGradientsResumesToTheUninterruptedWeights() throws IOException {
    float[] uninterrupted = weights(sharedSparse(2, 2));
    TrainJob.Result r =
        trainWith(
            "sparse-killed",
            2,
            2,
            FaultPlan.none().withRank(1).withFailAtStep(12),
            60,
            sparseGradientsConfig());
    assertEquals(20, r.steps());
    // the relaunched stage trained steps 11..20 (resumed from step 10) sparsely
    assertSparseEveryStep(r, 10, "after relaunch");
    assertArrayEquals(bits(uninterrupted), bits(weights(r)), "after relaunch from step 10");
  }

  @Test
  void aCrfHeadTrainsOnReplicasWithZeroShardsAndFp16AndResumesExactly() throws IOException {
    // the CRF's parameters are model parameters like the others: N=2 with ZeRO 2 reaches N=1
    TrainJob.Result one = shared(1, 0, "crf=true");
    TrainJob.Result two = shared(2, 2, "crf=true");
    assertEquals(Boolean.TRUE, two.config().crf());
    double d = maxDiff(weights(one), weights(two));
    // measured 2.4e-5 (the plain head's runs: 2.4e-6), all of it in rows of the word embeddings:
    // the CRF's per-sequence log-likelihoods are larger sums than per-token cross-entropies, so the
    // split batches' different padding and summation order round differently, and Adam scales a
    // rarely seen token's tiny gradient up to a full step; the CRF's own parameters agree to 1e-7
    assertTrue(d <= 1e-4, "CRF head: N=2 ZeRO 2 differs from N=1 by " + d);
    Path out = Path.of(java.net.URI.create(two.output()));
    Map<String, SafeTensors.Tensor> saved = SafeTensors.read(out.resolve("model.safetensors"));
    Map<String, SafeTensors.Tensor> alone =
        SafeTensors.read(Path.of(java.net.URI.create(one.output() + "/model.safetensors")));
    for (String k : CrfTrainingTest.CRF_KEYS) {
      double dk = maxDiff(alone.get(k).data(), saved.get(k).data());
      assertTrue(dk <= 1e-6, k + ": N=2 ZeRO 2 differs from N=1 by " + dk);
    }
    assertTrue(saved.keySet().containsAll(CrfTrainingTest.CRF_KEYS), saved.keySet().toString());
    Map<String, SafeTensors.Tensor> initial = CrfTrainingTest.tinyCrfOf(model, 7).tensors();
    double moved =
        maxDiff(initial.get("crf.transitions").data(), saved.get("crf.transitions").data());
    assertTrue(moved > 1e-3, "the transitions were not trained: " + moved);
    ModelConfig config =
        ModelConfig.parse(Files.readString(out.resolve("config.json")), "config.json");
    assertTrue(config.crf);
    assertEquals(Boolean.TRUE, config.labelAllSubwords, "how prepare labelled the windows");
    assertFalse(weights(shared(2, 2)).length == weights(two).length, "no CRF without the option");

    // fp16 (sharded fp32 master weights, fp16 wire) with a killed task: resumes to the same bits
    float[] uninterrupted = weights(shared(2, 2, "crf=true", "fp16=true"));
    TrainJob.Result killed = train("crf-fp16-killed", 2, 2, 12, List.of(), "crf=true", "fp16=true");
    assertEquals(20, killed.steps());
    assertArrayEquals(bits(uninterrupted), bits(weights(killed)), "CRF, fp16, after relaunch");
  }
}
