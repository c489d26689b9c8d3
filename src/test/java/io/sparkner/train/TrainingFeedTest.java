package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.Example;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
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
    data = dir.resolve("prepared").toString();
    PrepareJob.run(
        spark,
        new PrepareOptions(
            List.of(CorpusInput.parse("stockmark:" + TestData.sample("stockmark/ner.json"))),
            TestData.tokenizer("unigram").toString(),
            data,
            ReadOptions.defaults(),
            LabelScheme.IOB2,
            new AlignOptions(64, 16, true),
            false));
    model = dir.resolve("tiny").toString();
    io.sparkner.cli.TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        TestData.tokenizer("unigram").toString(),
        data + "/labels.json",
        model);
  }

  /** Two epochs of global batch 96 (about 9 steps each), validation after each, dropout on. */
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

  @Test
  void oneReplicaOnTheDriverTrainsTheBytesOfTheCollectedPath() throws IOException {
    TrainJob.Result streamed =
        train(
            "one-streamed",
            1,
            TrainJob.DataPath.STREAMED,
            FaultPlan.none(),
            "group_by_length=true");
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
    TrainJob.Result whole = train("resume-whole", 1, TrainJob.DataPath.STREAMED, FaultPlan.none());
    FaultPlan fail = FaultPlan.none().withRank(0).withFailAtStep(10);
    assertThrows(
        RuntimeException.class, () -> train("resume-broken", 1, TrainJob.DataPath.STREAMED, fail));
    TrainJob.Result resumed =
        train("resume-broken", 1, TrainJob.DataPath.STREAMED, FaultPlan.none());
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
  void eachRankIsFedExactlyItsShareInItsOrderAndRankZeroTheValidationSplit() {
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
              "max_steps=" + (all.size() / 30 + 7));
      assertTrue(c.totalSteps() > c.stepsPerEpoch());
      var parts = feed.forRanks(c, replicas).collectPartitions(new int[] {0, 1, 2});
      for (int rank = 0; rank < replicas; rank++) {
        var records = parts[rank].iterator();
        RankData d =
            RankData.streamed(
                plan,
                new TrainingFeed.Records() {
                  @Override
                  public boolean hasNext() {
                    return records.hasNext();
                  }

                  @Override
                  public Tuple2<FeedKey, byte[]> next() {
                    return records.next();
                  }
                });
        takeAll(d.train(), plan, c, rank, replicas, all, 0);
        assertFalse(records.hasNext(), "rank " + rank + " was fed more than it takes");
        if (rank == 0) {
          List<Example> validation = prepared.examples("validation");
          assertEquals(validation.size(), d.validation().size());
          for (int i = 0; i < validation.size(); i++) {
            assertEquals(validation.get(i).id(), d.validation().get(i).id());
            assertArrayEquals(validation.get(i).inputIds(), d.validation().get(i).inputIds());
          }
          assertEquals(
              List.copyOf(prepared.gold("validation").values()),
              List.copyOf(d.validationGold().values()));
        } else {
          assertTrue(d.validation().isEmpty() && d.validationGold().isEmpty());
        }
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
      AtomicLong jobs = new AtomicLong();
      SparkListener count =
          new SparkListener() {
            @Override
            public void onJobStart(SparkListenerJobStart e) {
              jobs.incrementAndGet();
            }
          };
      TrainingFeed.Records whole = feed.onDriver(c, 64);
      takeAll(RankData.streamed(plan, whole).train(), plan, c, 0, 1, all, 0);
      assertFalse(whole.hasNext());
      // from the middle of the second epoch: the partitions before it are never fetched
      long from = c.stepsPerEpoch() + c.stepsPerEpoch() / 2;
      TrainingFeed.Records resumed = feed.onDriver(c, 64);
      spark.sparkContext().addSparkListener(count);
      try {
        takeAll(RankData.streamed(plan, resumed).train(), plan, c, 0, 1, all, from);
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
