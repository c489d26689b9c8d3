package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestSpark;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.Tuple2;

/**
 * The training feed: the ranks read their shares of the prepared tables through a Spark shuffle,
 * and the driver plans from a few bytes per window. Trained weights are the bytes of training with
 * every window collected on the driver and shipped to every rank (the path before the feed), for
 * one replica on the driver and for two replicas with ZeRO 2, across epochs, with length grouping
 * and dropout; each rank is fed exactly its share in its order; a resumed single replica skips the
 * feed's earlier partitions; the driver receives a few bytes per window, not the windows.
 */
class TrainingFeedTest {
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

  /** Two epochs of global batch 96 (about 6 steps each), validation after each, dropout on. */
  static TrainJob.Result train(
      String name, int replicas, TrainJob.DataPath path, FaultPlan faults, String... extra) {
    List<String> set =
        new ArrayList<>(
            List.of(
                "learning_rate=2e-3",
                "per_device_train_batch_size=" + (96 / replicas),
                "num_train_epochs=2",
                "warmup_steps=2",
                "logging_steps=3",
                "save_steps=4",
                "eval_strategy=epoch",
                "zero_stage=" + (replicas == 1 ? 0 : 2),
                "seed=11"));
    set.addAll(List.of(extra));
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return TrainJob.run(
        spark,
        TrainJob.Options.builder(data, model, dir.resolve(name).toString())
            .overrides(set)
            .replicas(replicas)
            .distribution(new TrainJob.Distribution(null, 0, 0, 120))
            .faults(faults)
            .dataPath(path)
            .build(),
        out);
  }

  /** A collected partition as the records a rank reads. */
  static TrainingFeed.Records records(java.util.Iterator<Tuple2<FeedKey, byte[]>> it) {
    return new TrainingFeed.Records() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Tuple2<FeedKey, byte[]> next() {
        return it.next();
      }
    };
  }

  static byte[] weights(TrainJob.Result r) throws IOException {
    return Files.readAllBytes(Path.of(java.net.URI.create(r.output() + "/model.safetensors")));
  }

  /** The validation records of metrics.jsonl (eval F1 and friends, per epoch). */
  static List<String> evaluations(TrainJob.Result r) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line :
        Files.readAllLines(Path.of(java.net.URI.create(r.output() + "/metrics.jsonl")))) {
      if (line.contains("eval_f1")) {
        out.add(line.replaceAll("\"(time|timestamp|eval_seconds)\":[^,}]*,?", ""));
      }
    }
    return out;
  }

  private static TrainJob.Result oneStreamed;

  /**
   * One replica on the feed, uninterrupted (trained once, for the two tests that compare to it).
   */
  static synchronized TrainJob.Result oneStreamed() {
    if (oneStreamed == null) {
      oneStreamed =
          train(
              "one-streamed",
              1,
              TrainJob.DataPath.STREAMED,
              FaultPlan.none(),
              "group_by_length=true");
    }
    return oneStreamed;
  }

  @Test
  void oneReplicaOnTheDriverTrainsTheBytesOfTheCollectedPath() throws IOException {
    TrainJob.Result streamed = oneStreamed();
    TrainJob.Result collected =
        train(
            "one-collected",
            1,
            TrainJob.DataPath.COLLECTED,
            FaultPlan.none(),
            "group_by_length=true");
    assertTrue(streamed.steps() > streamed.config().stepsPerEpoch(), "crosses an epoch");
    assertArrayEquals(weights(collected), weights(streamed));
    assertEquals(evaluations(collected), evaluations(streamed));
    assertEquals(2, evaluations(streamed).size());
  }

  @Test
  void twoReplicasWithZero2TrainTheBytesOfTheCollectedPath() throws IOException {
    TrainJob.Result streamed =
        train(
            "two-streamed",
            2,
            TrainJob.DataPath.STREAMED,
            FaultPlan.none(),
            "group_by_length=true");
    TrainJob.Result collected =
        train(
            "two-collected",
            2,
            TrainJob.DataPath.COLLECTED,
            FaultPlan.none(),
            "group_by_length=true");
    assertArrayEquals(weights(collected), weights(streamed));
    assertEquals(evaluations(collected), evaluations(streamed));
    assertEquals(streamed.validationF1(), collected.validationF1());
  }

  @Test
  void aSingleReplicaKilledMidRunResumesFromTheFeedToTheUninterruptedBytes() throws IOException {
    TrainJob.Result whole = oneStreamed();
    FaultPlan fail = FaultPlan.none().withRank(0).withFailAtStep(10);
    assertThrows(
        RuntimeException.class,
        () -> train("resume-broken", 1, TrainJob.DataPath.STREAMED, fail, "group_by_length=true"));
    TrainJob.Result resumed =
        train(
            "resume-broken",
            1,
            TrainJob.DataPath.STREAMED,
            FaultPlan.none(),
            "group_by_length=true");
    assertEquals(whole.steps(), resumed.steps());
    assertArrayEquals(weights(whole), weights(resumed));
  }

  /** The trainer's access pattern for one rank: every take, in order. */
  static void takeAll(
      TrainingWindows w,
      WindowPlan plan,
      TrainConfig c,
      int rank,
      int replicas,
      List<Example> all,
      long fromStep) {
    long step = 0;
    for (int epoch = 0; step < c.totalSteps(); epoch++) {
      int[] order = Trainer.order(plan, epoch, c);
      for (long b = 0; b < c.stepsPerEpoch() && step < c.totalSteps(); b++, step++) {
        if (step < fromStep) {
          continue;
        }
        int start = (int) (b * c.globalBatch());
        int size = Math.min(order.length - start, c.globalBatch());
        for (int a = 0; a < c.accumulation(); a++) {
          for (int i : DataOrder.share(size, replicas, rank, c.microBatch(), a)) {
            Example got = w.take(epoch, start + i, order[start + i]);
            Example want = all.get(order[start + i]);
            assertEquals(want.id() + "#" + want.window(), got.id() + "#" + got.window());
            assertArrayEquals(want.inputIds(), got.inputIds());
            assertArrayEquals(want.labels(), got.labels());
            assertArrayEquals(want.starts(), got.starts());
            assertArrayEquals(want.ends(), got.ends());
          }
        }
      }
    }
  }

  static TrainConfig config(int replicas, int windows, String... set) {
    List<String> s = new ArrayList<>(List.of(set));
    return TrainConfig.resolve(
        TrainingArguments.defaults().withOverrides(s), null, replicas, windows, 32);
  }

  @Test
  void withoutEvaluationNoValidationRecordIsPlannedOrSent() {
    PreparedData prepared = new PreparedData(spark, data);
    try (TrainingFeed feed = TrainingFeed.plan(spark, prepared)) {
      TrainConfig c = config(2, feed.windows().size(), "eval_strategy=no");
      ValidationPlan v = feed.validation(c, 2);
      assertEquals(0, v.windows());
      for (var part : feed.forRanks(c, 2, v).collectPartitions(new int[] {0, 1})) {
        for (Tuple2<FeedKey, byte[]> r : part) {
          assertEquals(FeedKey.TRAIN, r._1().kind());
        }
      }
    }
  }

  @Test
  void eachRankIsFedExactlyItsShareInItsOrderAndItsShareOfTheValidationSplit() {
    PreparedData prepared = new PreparedData(spark, data);
    List<Example> all = prepared.examples("train");
    try (TrainingFeed feed = TrainingFeed.plan(spark, prepared)) {
      WindowPlan plan = feed.windows();
      assertEquals(WindowPlan.of(all).digest(), plan.digest());
      assertEquals(all.size(), plan.size());
      int replicas = 3;
      // 3 ranks x 5 per micro batch x 2 accumulation steps; the last step of the run ends mid-epoch
      TrainConfig c =
          config(
              replicas,
              plan.size(),
              "per_device_train_batch_size=5",
              "gradient_accumulation_steps=2",
              "group_by_length=true",
              "eval_strategy=epoch",
              "max_steps=" + (all.size() / 30 + 7));
      assertTrue(c.totalSteps() > c.stepsPerEpoch());
      ValidationPlan v = feed.validation(c, replicas);
      var parts = feed.forRanks(c, replicas, v).collectPartitions(new int[] {0, 1, 2});
      List<Example> validation = prepared.examples("validation");
      var gold = prepared.gold("validation");
      // the one replica's batches: (length, id, window) order, as Evaluator.predict sorts them
      List<Example> byLength = new ArrayList<>(validation);
      byLength.sort(java.util.Comparator.comparingInt(e -> e.inputIds().length));
      assertEquals(byLength.size(), v.windows());
      java.util.Map<String, Integer> predictedBy = new java.util.HashMap<>();
      java.util.Map<String, Integer> scoredBy = new java.util.HashMap<>();
      java.util.Map<String, Integer> ownedBy = new java.util.HashMap<>();
      for (int rank = 0; rank < replicas; rank++) {
        var records = parts[rank].iterator();
        RankData d = RankData.streamed(plan, v, records(records));
        takeAll(d.train(), plan, c, rank, replicas, all, 0);
        assertFalse(records.hasNext(), "rank " + rank + " was fed more than it takes");
        RankData.Shared share = (RankData.Shared) d.validation();
        long previous = -1;
        for (RankData.Indexed w : share.predicted()) {
          Example want = byLength.get((int) w.index());
          assertEquals(
              want.id() + "#" + want.window(), w.window().id() + "#" + w.window().window());
          assertEquals(rank, w.index() / v.batchSize() % replicas, "batch of window " + w.index());
          assertTrue(w.index() > previous, "predicted windows in index order");
          previous = w.index();
          predictedBy.put(want.id() + "#" + want.window(), rank);
        }
        for (RankData.Indexed w : share.scored()) {
          assertTrue(share.gold().containsKey(w.window().id()), "scored without its document");
          scoredBy.put(w.window().id() + "#" + w.window().window(), rank);
        }
        for (String id : share.gold().keySet()) {
          ownedBy.put(id, rank);
        }
      }
      assertEquals(validation.size(), predictedBy.size(), "every window predicted once");
      assertEquals(validation.size(), scoredBy.size(), "every window scored once");
      assertEquals(gold.keySet(), ownedBy.keySet(), "every document owned once");
      for (Example e : validation) {
        assertEquals(ownedBy.get(e.id()), scoredBy.get(e.id() + "#" + e.window()));
      }
      assertTrue(new java.util.HashSet<>(ownedBy.values()).size() > 1, "documents spread");
    }
  }

  /**
   * Two ranks joined by a real ring share the validation split of a model that finds entities (the
   * initial model with its classifier's weights scaled up, so that its argmax varies from token to
   * token): both end with exactly the scores one replica computes alone.
   */
  @Test
  void twoRanksSharingTheValidationSplitScoreExactlyWhatOneReplicaScores() throws Exception {
    PreparedData prepared = new PreparedData(spark, data);
    io.sparkner.model.Checkpoints.Weights w =
        io.sparkner.model.Checkpoints.read(Path.of(model), null, 0);
    java.util.Map<String, io.sparkner.model.SafeTensors.Tensor> tensors =
        new java.util.LinkedHashMap<>(w.tensors());
    io.sparkner.model.SafeTensors.Tensor weight = tensors.get("classifier.weight");
    float[] scaled = weight.data().clone();
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= 40;
    }
    tensors.put(
        "classifier.weight",
        new io.sparkner.model.SafeTensors.Tensor(weight.shape(), scaled, "F32"));
    try (ai.djl.ndarray.NDManager manager = ai.djl.ndarray.NDManager.newBaseManager();
        TrainingFeed feed = TrainingFeed.plan(spark, prepared)) {
      io.sparkner.model.TokenClassificationModel m =
          io.sparkner.model.Checkpoints.build(
              new io.sparkner.model.Checkpoints.Weights(w.config(), tensors, w.report()),
              manager,
              ai.djl.ndarray.types.DataType.FLOAT32);
      TrainConfig c =
          config(2, feed.windows().size(), "per_device_eval_batch_size=7", "eval_strategy=epoch");
      io.sparkner.eval.Evaluator.Result one =
          io.sparkner.eval.Evaluator.evaluate(
              m,
              prepared.examples("validation"),
              prepared.gold("validation"),
              prepared.labels(),
              c.evalBatchSize());
      assertTrue(one.f1() > 0, "the model finds entities: F1 " + one.f1());
      assertTrue(one.standard().predicted() > 50, "predicted " + one.standard().predicted());
      ValidationPlan v = feed.validation(c, 2);
      var parts = feed.forRanks(c, 2, v).collectPartitions(new int[] {0, 1});
      List<io.sparkner.collective.RingEndpoint> eps = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        eps.add(io.sparkner.collective.RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addresses =
          eps.stream().map(io.sparkner.collective.RingEndpoint::address).toList();
      byte[] key = "validation-test-ring-key-32bytes".getBytes(StandardCharsets.UTF_8);
      var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        List<java.util.concurrent.Future<SharedValidation.Scores>> results = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
          int rank = r;
          var records = parts[rank].iterator();
          RankData d = RankData.streamed(feed.windows(), v, records(records));
          results.add(
              pool.submit(
                  () -> {
                    try (io.sparkner.collective.Ring ring =
                        eps.get(rank)
                            .join(rank, addresses, key, java.time.Duration.ofSeconds(30))) {
                      return SharedValidation.run(
                          m,
                          (RankData.Shared) d.validation(),
                          prepared.labels(),
                          new RingExchange(ring, 0, 1000, 1 << 20),
                          7);
                    }
                  }));
        }
        for (var f : results) {
          SharedValidation.Scores s = f.get(120, java.util.concurrent.TimeUnit.SECONDS);
          assertEquals(one.standard().micro(), s.standard());
          assertEquals(one.strict().micro(), s.strict());
          assertEquals(one.tokens().accuracy(), s.tokenAccuracy());
        }
      } finally {
        pool.shutdownNow();
        eps.forEach(io.sparkner.collective.RingEndpoint::close);
      }
    }
  }

  @Test
  void theDriversFeedSkipsThePartitionsBeforeAResumedStep() {
    PreparedData prepared = new PreparedData(spark, data);
    List<Example> all = prepared.examples("train");
    try (TrainingFeed feed = TrainingFeed.plan(spark, prepared)) {
      WindowPlan plan = feed.windows();
      TrainConfig c = config(1, plan.size(), "per_device_train_batch_size=8", "num_train_epochs=2");
      ValidationPlan v = feed.validation(c, 1);
      AtomicLong jobs = new AtomicLong();
      SparkListener count =
          new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart e) {
              jobs.incrementAndGet();
            }
          };
      TrainingFeed.Records whole = feed.onDriver(c, v, 64);
      takeAll(RankData.streamed(plan, v, whole).train(), plan, c, 0, 1, all, 0);
      assertFalse(whole.hasNext());
      // from the middle of the second epoch: the partitions before it are never fetched
      long from = c.stepsPerEpoch() + c.stepsPerEpoch() / 2;
      TrainingFeed.Records resumed = feed.onDriver(c, v, 64);
      spark.sparkContext().addSparkListener(count);
      try {
        takeAll(RankData.streamed(plan, v, resumed).train(), plan, c, 0, 1, all, from);
        assertFalse(resumed.hasNext());
      } finally {
        spark.sparkContext().removeSparkListener(count);
      }
      long fetched = jobs.get(); // one job per partition fetched
      long partitions = 1 + ((long) plan.size() * 2 + 63) / 64;
      assertTrue(
          fetched < partitions * 3 / 5,
          "fetched " + fetched + " of " + partitions + " partitions for the last 3/4 of the run");
    }
  }

  @Test
  void theDriverReceivesAFewBytesPerWindowNotTheWindows() {
    PreparedData prepared = new PreparedData(spark, data);
    AtomicLong bytes = new AtomicLong();
    SparkListener sizes =
        new SparkListener() {
          @Override
          public void onTaskEnd(SparkListenerTaskEnd e) {
            if (e.taskMetrics() != null) {
              bytes.addAndGet(e.taskMetrics().resultSize());
            }
          }
        };
    spark.sparkContext().addSparkListener(sizes);
    int n;
    long planned;
    long baseline;
    long collected;
    try {
      try (TrainingFeed feed = TrainingFeed.plan(spark, prepared)) {
        n = feed.windows().size();
      }
      planned = bytes.getAndSet(0);
      // the same jobs returning nothing: what Spark sends back per task whatever it computed
      prepared
          .windows("train")
          .orderBy("id", "window")
          .javaRDD()
          .zipWithIndex()
          .mapPartitions(
              it -> {
                it.forEachRemaining(t -> {});
                return java.util.Collections.<Long>emptyIterator();
              })
          .collect();
      baseline = bytes.getAndSet(0);
      prepared.examples("train");
      collected = bytes.getAndSet(0);
    } finally {
      spark.sparkContext().removeSparkListener(sizes);
    }
    System.out.printf(
        "driver received %d bytes planning %d windows, %d for the same jobs returning nothing,"
            + " %d collecting them%n",
        planned, n, baseline, collected);
    // the per-task overhead varies by a few KB from run to run: compare with collecting the windows
    assertTrue(collected - baseline > 200L * n, collected + " bytes for " + n + " windows");
    assertTrue(
        10 * (planned - baseline) < collected - baseline,
        "planning received "
            + (planned - baseline)
            + " bytes beyond the jobs' own for "
            + n
            + " windows; collecting them "
            + (collected - baseline));
  }

  @Test
  void aWindowSurvivesTheCodec() {
    Example e =
        new Example(
            "doc-\u65e5\u672c-1",
            3,
            new int[] {0, 250_001, 7, 2},
            new int[] {-100, 4, 0, -100},
            new int[] {-1, 0, 2, -1},
            new int[] {-1, 2, 300_000, -1});
    Example back = WindowCodec.decode(WindowCodec.encode(e));
    assertEquals(e.id(), back.id());
    assertEquals(e.window(), back.window());
    assertArrayEquals(e.inputIds(), back.inputIds());
    assertArrayEquals(e.labels(), back.labels());
    assertArrayEquals(e.starts(), back.starts());
    assertArrayEquals(e.ends(), back.ends());
    byte[] bytes = WindowCodec.encode(e);
    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
    assertThrows(IllegalStateException.class, () -> WindowCodec.decode(longer));
  }
}
