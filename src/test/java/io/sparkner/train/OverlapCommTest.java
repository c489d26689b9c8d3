package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestSpark;
import io.sparkner.collective.CollectiveException;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;
import io.sparkner.collective.SendStall;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.TokenClassificationModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeepSpeed's {@code zero_optimization.overlap_comm} under ZeRO 1 and 2: the parameter all-gather
 * after an optimizer step runs in the background while the next step's forward starts, and the
 * results are the bits of the synchronous gather.
 *
 * <p>Two kinds of runs: ranks as threads of this JVM, each with its own model (the tiny BERT of
 * {@link TrainerTest}) and {@link Trainer}, over a real ring on loopback sockets, where a test can
 * time the training thread against a stalled or dying peer; and whole training jobs in a real Spark
 * barrier stage (as {@link DistributedTrainingTest}), for the checkpoints, the resume and
 * metrics.jsonl.
 */
class OverlapCommTest {
  @TempDir static Path dir;

  static final int EXAMPLES = 48;

  // ------------------------------------------------------------------ ranks as threads

  /** What a test does to one rank's exchange. */
  interface Fault {
    /** After the step statistics of step {@code step} (0-based) have been summed. */
    default void afterStatistics(int rank, long step, Ring ring) {}

    /** Before the gradients of step {@code step} are reduced. */
    default void beforeReduce(int rank, long step, DirectFloats local) {}
  }

  static final Fault NONE = new Fault() {};

  /** What one rank's training ended with. */
  static final class RankRun {
    final List<Trainer.StepMetrics> logged = new ArrayList<>();

    /** Global step (1-based, as the hooks see it) → nanoTime when afterStep was called. */
    final Map<Long, Long> afterStep = new ConcurrentHashMap<>();

    /** Step (0-based) → nanoTime when its step statistics were summed. */
    final Map<Long, Long> statisticsSummed = new ConcurrentHashMap<>();

    float[] values;
    float[] m;
    float[] v;
    long skipped;
    Throwable error;
    long failedAt;
  }

  static TrainConfig config(int n, int zero, boolean overlap, boolean fp16, int steps) {
    List<String> o =
        List.of(
            "learning_rate=5e-3",
            "per_device_train_batch_size=2",
            "max_steps=" + steps,
            "logging_steps=1",
            "warmup_steps=1",
            "weight_decay=0.01",
            "save_steps=1000",
            "eval_strategy=no",
            "zero_stage=" + zero,
            "fp16=" + fp16,
            "seed=5");
    DeepSpeedConfig ds =
        DeepSpeedConfig.parse(
            "{\"zero_optimization\": {\"stage\": " + zero + ", \"overlap_comm\": " + overlap + "}}",
            "ds_config.json");
    return TrainConfig.resolve(TrainingArguments.defaults().withOverrides(o), ds, n, EXAMPLES, 32);
  }

  /**
   * Trains {@code steps} steps on {@code n} ranks (threads) over one ring with the given ring
   * timeout; every rank's outcome, failed or not.
   */
  static List<RankRun> trainRanks(
      int n, int zero, boolean overlap, boolean fp16, int steps, Duration timeout, Fault fault)
      throws Exception {
    List<Example> data = TrainerTest.examples(EXAMPLES, 3);
    TrainConfig cfg = config(n, zero, overlap, fp16, steps);
    List<Ring> rings = SparseGradientExchangeTest.form(n);
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<RankRun>> futures = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        Ring ring = rings.get(r);
        ring.setTimeout(timeout);
        ring.setHalfPrecisionWire(fp16);
        futures.add(
            pool.submit(
                () -> {
                  RankRun out = new RankRun();
                  try (NDManager m = NDManager.newBaseManager()) {
                    TokenClassificationModel model =
                        Checkpoints.build(
                            TrainerTest.tiny(), m, fp16 ? DataType.FLOAT16 : DataType.FLOAT32);
                    long psi = new FlatParameters(model).size();
                    GradientExchange exchange =
                        new GradientExchange.Forwarding(new RingExchange(ring, zero, psi, 1000)) {
                          @Override
                          public void reduceGradients(DirectFloats local, float[] shard, long s) {
                            fault.beforeReduce(rank, s, local);
                            inner.reduceGradients(local, shard, s);
                          }

                          @Override
                          public double[] allReduceSum(double[] values, long s) {
                            double[] sum = inner.allReduceSum(values, s);
                            out.statisticsSummed.put(s, System.nanoTime());
                            fault.afterStatistics(rank, s, ring);
                            return sum;
                          }
                        };
                    Trainer t =
                        new Trainer(
                            model,
                            cfg,
                            exchange,
                            new Trainer.Hooks() {
                              @Override
                              public void log(Trainer.StepMetrics s) {
                                out.logged.add(s);
                              }

                              @Override
                              public void afterStep(Trainer t) {
                                out.afterStep.put(t.state().globalStep(), System.nanoTime());
                              }
                            });
                    try {
                      t.train(TrainingWindows.inMemory(data));
                    } catch (RuntimeException | Error e) {
                      out.failedAt = System.nanoTime();
                      out.error = e;
                      return out;
                    }
                    out.values = t.parameterValues();
                    out.m = t.optimizer().firstMoment().clone();
                    out.v = t.optimizer().secondMoment().clone();
                    out.skipped = t.skippedSteps();
                  }
                  return out;
                }));
      }
      List<RankRun> out = new ArrayList<>();
      for (Future<RankRun> f : futures) {
        out.add(f.get(300, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
      rings.forEach(Ring::close);
    }
  }

  static int[] bits(float[] a) {
    return DistributedTrainingTest.bits(a);
  }

  /** Same values, moments and losses, bit for bit, on every rank. */
  static void assertSameBits(List<RankRun> a, List<RankRun> b, String what) {
    assertEquals(a.size(), b.size());
    for (int r = 0; r < a.size(); r++) {
      RankRun x = a.get(r);
      RankRun y = b.get(r);
      assertNull(x.error, what + ": rank " + r);
      assertNull(y.error, what + ": rank " + r);
      assertArrayEquals(bits(x.values), bits(y.values), what + ": parameters of rank " + r);
      assertArrayEquals(bits(x.m), bits(y.m), what + ": Adam's first moment on rank " + r);
      assertArrayEquals(bits(x.v), bits(y.v), what + ": Adam's second moment on rank " + r);
      assertEquals(x.skipped, y.skipped, what + ": skipped steps of rank " + r);
      assertEquals(x.logged.size(), y.logged.size(), what);
      for (int k = 0; k < x.logged.size(); k++) {
        assertEquals(
            Double.doubleToRawLongBits(x.logged.get(k).loss()),
            Double.doubleToRawLongBits(y.logged.get(k).loss()),
            what + ": loss of step " + x.logged.get(k).step() + " on rank " + r);
        assertEquals(
            Double.doubleToRawLongBits(x.logged.get(k).gradNorm()),
            Double.doubleToRawLongBits(y.logged.get(k).gradNorm()),
            what + ": gradient norm of step " + x.logged.get(k).step() + " on rank " + r);
      }
    }
    // and the ranks agree with each other
    for (int r = 1; r < a.size(); r++) {
      assertArrayEquals(bits(a.get(0).values), bits(a.get(r).values), what + ": rank " + r);
    }
  }

  @Test
  void overlappedGathersGiveTheBitsOfTheSynchronousGatherForZeroOneAndTwo() throws Exception {
    // an fp16 overflow on rank 1 at step 2: a skipped step gathers nothing, the next waits for
    // nothing
    Fault overflow =
        new Fault() {
          @Override
          public void beforeReduce(int rank, long step, DirectFloats local) {
            if (rank == 1 && step == 2) {
              local.put(0, Float.POSITIVE_INFINITY);
            }
          }
        };
    Duration timeout = Duration.ofSeconds(20);
    for (int n : new int[] {2, 3}) {
      for (int zero : new int[] {1, 2}) {
        for (boolean fp16 : new boolean[] {false, true}) {
          if (n == 3 && (zero == 1 || fp16)) {
            continue; // N=3 once: ZeRO 2, fp32
          }
          String what = "N=" + n + " ZeRO " + zero + (fp16 ? " fp16" : " fp32");
          Fault f = fp16 ? overflow : NONE;
          List<RankRun> off = trainRanks(n, zero, false, fp16, 6, timeout, f);
          List<RankRun> on = trainRanks(n, zero, true, fp16, 6, timeout, f);
          assertSameBits(off, on, what + ", overlap_comm on vs off");
          if (fp16) {
            assertEquals(1, on.get(0).skipped, what + ": the injected overflow was skipped");
          }
          System.out.printf(
              "%s: overlap_comm on and off end with the same bits (%d parameters)%n",
              what, on.get(0).values.length);
        }
      }
    }
  }

  @Test
  void theTrainingThreadLeavesTheStepWhileAStalledGatherRunsAndTheNextForwardWaitsForIt()
      throws Exception {
    long stall = 1500;
    long stalledStep = 2; // 0-based; the hooks see it as global step 3
    // rank 1's sender stops for 1.5 s at its next frame after step 2's statistics: the first frame
    // of step 2's parameter all-gather, which both ranks then wait for
    Fault stallGather =
        new Fault() {
          @Override
          public void afterStatistics(int rank, long step, Ring ring) {
            if (rank == 1 && step == stalledStep) {
              ring.simulate(new SendStall(0, Duration.ofMillis(stall)));
            }
          }
        };
    Duration timeout = Duration.ofSeconds(20);
    List<RankRun> reference = trainRanks(2, 2, false, false, 6, timeout, NONE);
    List<RankRun> stalled = trainRanks(2, 2, true, false, 6, timeout, stallGather);
    assertSameBits(reference, stalled, "stalled overlapped gather vs synchronous");
    for (int r = 0; r < 2; r++) {
      RankRun x = stalled.get(r);
      double left = (x.afterStep.get(stalledStep + 1) - x.statisticsSummed.get(stalledStep)) / 1e6;
      System.out.printf(
          "rank %d: step %d's hooks ran %.1f ms after its statistics (stall %d ms); gather"
              + " breakdown of steps %d and %d: %.3f s, %.3f s%n",
          r,
          stalledStep + 1,
          left,
          stall,
          stalledStep + 1,
          stalledStep + 2,
          x.logged.get((int) stalledStep).breakdown().gather(),
          x.logged.get((int) stalledStep + 1).breakdown().gather());
      // the training thread was back from the step long before the stalled gather ended
      assertTrue(
          left < stall / 3.0,
          "rank "
              + r
              + ": the step returned "
              + left
              + " ms after its statistics: it waited for the stalled gather ("
              + stall
              + " ms)");
      // the breakdown says where the training thread waited: in the next step's forward
      assertTrue(
          x.logged.get((int) stalledStep).breakdown().gather() < stall / 3000.0,
          "rank " + r + ": the stalled step itself reports no wait");
      assertTrue(
          x.logged.get((int) stalledStep + 1).breakdown().gather() > stall / 2000.0,
          "rank " + r + ": the next step reports the wait for the stalled gather");
    }
  }

  @Test
  void aRankDyingDuringTheBackgroundGatherFailsTheOthersAtTheirNextWaitNamingTheGather()
      throws Exception {
    long dies = 2; // 0-based step after whose statistics rank 1 dies: step 2's gather never comes
    Duration timeout = Duration.ofSeconds(8);
    Fault death =
        new Fault() {
          @Override
          public void afterStatistics(int rank, long step, Ring ring) {
            if (rank == 1 && step == dies) {
              ring.close(); // its sockets close, as a killed process's do
              throw new IllegalStateException("rank 1 dies after the statistics of step " + dies);
            }
          }
        };
    long t0 = System.nanoTime();
    List<RankRun> runs = trainRanks(2, 2, true, false, 6, timeout, death);
    RankRun zero = runs.get(0);
    assertNotNull(zero.error, "rank 0 must fail when rank 1 dies");
    CollectiveException e = assertInstanceOf(CollectiveException.class, zero.error);
    System.out.println("rank 0 failed with: " + e.getMessage());
    assertTrue(e.operation().startsWith("all-gather of parameters"), e.operation());
    assertEquals(dies, e.trainingStep(), e.getMessage());
    assertTrue(
        e.getMessage().contains("all-gather of parameters, training step " + dies), e.getMessage());
    assertEquals(1, e.peerRank(), e.getMessage());
    // no hang: well within the ring timeout of the death
    double seconds = (zero.failedAt - t0) / 1e9;
    assertTrue(seconds < timeout.toSeconds(), "rank 0 failed after " + seconds + " s");
    // surfaced at the next wait: the training thread had left the step and run its hooks
    assertNotNull(
        zero.afterStep.get(dies + 1),
        "rank 0's training thread waited in step "
            + (dies + 1)
            + " for its gather: not overlapped");
    // and the gather thread did not outlive the trainer
    assertNoGatherThreadLeft();
  }

  /** No parameter-gather thread is alive (a thread that ended may take a moment to be gone). */
  static void assertNoGatherThreadLeft() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (true) {
      List<String> alive =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> t.isAlive() && t.getName().endsWith("-parameter-gather"))
              .map(Thread::getName)
              .toList();
      if (alive.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("parameter-gather threads still alive: " + alive);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void aStalledPeerTimesTheBackgroundGatherOutAndTheTimeoutSurfacesOnTheTrainingThread()
      throws Exception {
    long stalls = 1;
    Duration timeout = Duration.ofSeconds(2);
    Fault hang =
        new Fault() {
          @Override
          public void afterStatistics(int rank, long step, Ring ring) {
            if (rank == 1 && step == stalls) {
              ring.simulate(new SendStall(0, Duration.ofSeconds(6))); // a hung process
            }
          }
        };
    long t0 = System.nanoTime();
    List<RankRun> runs = trainRanks(2, 1, true, false, 6, timeout, hang);
    RankRun zero = runs.get(0);
    CollectiveException e = assertInstanceOf(CollectiveException.class, zero.error);
    System.out.println("rank 0 failed with: " + e.getMessage());
    assertTrue(
        e.getMessage().contains("all-gather of parameters, training step " + stalls),
        e.getMessage());
    assertTrue(e.getMessage().contains("timed out after 2000 ms receiving from rank 1"));
    double seconds = (zero.failedAt - t0) / 1e9;
    assertTrue(seconds < 2 * timeout.toSeconds() + 5, "rank 0 failed after " + seconds + " s");
    assertNotNull(zero.afterStep.get(stalls + 1), "the step waited for its stalled gather");
    // rank 1 fails too (its ring closed under it), and no gather thread is left behind
    assertNotNull(runs.get(1).error);
    assertNoGatherThreadLeft();
  }

  @Test
  void thePartsFollowTheForwardAndPartitionTheFlatSpace() {
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(TrainerTest.tiny(), m, DataType.FLOAT32);
      List<TokenClassificationModel.ForwardPart> parts = model.forwardParts();
      assertEquals(List.of("embeddings", "layer 0", "layer 1", "head"), names(parts));
      assertEquals(
          List.of("classifier.weight", "classifier.bias"),
          parts.get(parts.size() - 1).parameters());
      FlatParameters flat = new FlatParameters(model);
      List<String> described =
          new OverlappedGather(model, flat, DirectFloats.allocate(1), GradientExchange.SINGLE, "x")
              .describe();
      // one contiguous range a part, end to end over the whole space, in forward order
      long at = 0;
      for (String d : described) {
        java.util.regex.Matcher x =
            java.util.regex.Pattern.compile("^[a-z0-9 ]+ \\[(\\d+), (\\d+)\\)$").matcher(d);
        assertTrue(x.matches(), d);
        assertEquals(at, Long.parseLong(x.group(1)), d);
        at = Long.parseLong(x.group(2));
      }
      assertEquals(flat.size(), at);
    }
  }

  @Test
  void onlyZeroOneAndTwoWithMoreThanOneReplicaOverlap() throws Exception {
    List<Ring> rings = SparseGradientExchangeTest.form(2);
    try {
      RingExchange two = new RingExchange(rings.get(0), 2, 100, 1);
      RingExchange one = new RingExchange(rings.get(0), 1, 100, 1);
      RingExchange zero = new RingExchange(rings.get(0), 0, 100, 1);
      assertTrue(Trainer.overlaps(config(2, 2, true, false, 4), two));
      assertTrue(Trainer.overlaps(config(2, 1, true, false, 4), one));
      assertFalse(Trainer.overlaps(config(2, 2, false, false, 4), two), "off by default");
      assertFalse(Trainer.overlaps(config(2, 0, true, false, 4), zero), "nothing to gather");
      assertFalse(
          Trainer.overlaps(config(1, 2, true, false, 4), GradientExchange.SINGLE),
          "one replica gathers nothing");
    } finally {
      rings.forEach(Ring::close);
    }
  }

  private static List<String> names(List<TokenClassificationModel.ForwardPart> parts) {
    List<String> out = new ArrayList<>();
    parts.forEach(p -> out.add(p.name()));
    return out;
  }

  // ------------------------------------------------------------------ whole jobs

  static SparkSession spark;
  static TrainingFixture fixture;

  static synchronized TrainingFixture fixture() throws IOException {
    if (fixture == null) {
      spark = TestSpark.session();
      fixture = TrainingFixture.stockmarkSample(spark, dir);
    }
    return fixture;
  }

  /** 10 steps, global batch 12 over the replicas, checkpoints at 5 and 10, the faults' rank 1. */
  static TrainJob.Result job(String name, int replicas, int zero, boolean overlap, FaultPlan faults)
      throws IOException {
    TrainingFixture f = fixture();
    Path ds = dir.resolve(name + "-ds.json");
    Files.writeString(
        ds,
        "{\"zero_optimization\": {\"stage\": " + zero + ", \"overlap_comm\": " + overlap + "}}");
    List<String> set =
        List.of(
            "learning_rate=2e-3",
            "per_device_train_batch_size=" + (12 / replicas),
            "max_steps=10",
            "warmup_steps=2",
            "weight_decay=0.01",
            "logging_steps=1",
            "save_steps=5",
            "zero_stage=" + zero,
            "seed=7");
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return TrainJob.run(
        spark,
        TrainJob.Options.builder(f.data(), f.model(), dir.resolve(name).toString())
            .overrides(set)
            .replicas(replicas)
            .distribution(new TrainJob.Distribution(null, 0, 0, 60))
            .faults(faults)
            .deepspeed(ds.toString())
            .build(),
        out);
  }

  static Path local(TrainJob.Result r) {
    return Path.of(java.net.URI.create(r.output()));
  }

  /** metrics.jsonl's loss of every step (a resumed run's later line wins). */
  static Map<Long, Double> losses(TrainJob.Result r) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<Long, Double> out = new TreeMap<>();
    for (String line : Files.readAllLines(local(r).resolve("metrics.jsonl"))) {
      JsonNode j = json.readTree(line);
      if (j.has("loss") && j.has("breakdown_seconds")) {
        out.put(j.path("step").asLong(), j.path("loss").asDouble());
      }
    }
    return out;
  }

  /** The checkpoint's optimizer shards, by file name, as bytes. */
  static Map<String, byte[]> optimizerShards(TrainJob.Result r, int step) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (var files = Files.list(local(r).resolve("checkpoints/checkpoint-" + step))) {
      for (Path p : files.toList()) {
        if (p.getFileName().toString().startsWith("optimizer-rank")) {
          out.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  static void assertSameRun(TrainJob.Result a, TrainJob.Result b, String what) throws IOException {
    assertEquals(a.steps(), b.steps(), what);
    assertArrayEquals(
        bits(DistributedTrainingTest.weights(a)),
        bits(DistributedTrainingTest.weights(b)),
        what + ": final weights");
    Map<String, byte[]> sa = optimizerShards(a, 10);
    Map<String, byte[]> sb = optimizerShards(b, 10);
    assertEquals(sa.keySet(), sb.keySet(), what);
    assertFalse(sa.isEmpty(), what);
    for (String k : sa.keySet()) {
      assertArrayEquals(sa.get(k), sb.get(k), what + ": optimizer shard " + k);
    }
    assertEquals(losses(a), losses(b), what + ": losses in metrics.jsonl");
  }

  @Test
  void aSparkJobWithOverlapCommEndsWithTheBitsOfOneWithoutAndResumesExactly() throws IOException {
    TrainJob.Result off = job("zero2-off", 2, 2, false, FaultPlan.none());
    TrainJob.Result on = job("zero2-on", 2, 2, true, FaultPlan.none());
    assertTrue(on.config().overlapComm());
    assertFalse(off.config().overlapComm());
    assertEquals(10, losses(on).size());
    assertSameRun(off, on, "ZeRO 2, overlap_comm on vs off");
    // rank 1 dies after step 7 (with step 7's gather in flight on rank 0): the stage is relaunched
    // and resumes from checkpoint-5 to the bits of the uninterrupted run
    TrainJob.Result resumed =
        job("zero2-on-killed", 2, 2, true, FaultPlan.none().withRank(1).withFailAtStep(7));
    assertSameRun(on, resumed, "ZeRO 2 with overlap_comm, resumed after a killed task");
  }
}
