package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.cli.TestAccess;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.SafeTensors;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PreparedData;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate} on the executors gives the report of the driver path, byte for byte, with tiny
 * models trained a few steps (near-tie logits: a window forwarded in another batch could flip its
 * arg-max), in several tasks; and the driver receives counts, not windows.
 */
class ReportExecutorsTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static Path stockmark;
  static Path stockmarkModel;
  static Path panxJaKoZh;
  static Path panxEnDe;
  static Path panxModel;

  private static final Map<String, String> TYPE_MAP = Map.of("ORG-P", "ORG", "ORG-O", "ORG");

  private final Tasks tasks = new Tasks();

  @BeforeAll
  static void corporaAndTrainedModels() throws IOException {
    spark = TestSpark.session();
    Path tokenizer = TestData.tokenizer("unigram");
    stockmark =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-stockmark"),
            tokenizer,
            null,
            "stockmark:" + TestData.sample("stockmark/ner.json"));
    List<String> train = new ArrayList<>();
    for (String lang : List.of("ja", "ko", "zh", "en", "de")) {
      train.add("panx:" + lang + ":" + TestData.sample("panx/" + lang));
    }
    Path panxTrain =
        ReportFixtures.prepare(
            spark, dir.resolve("prepared-panx-all"), tokenizer, null, train.toArray(String[]::new));
    panxJaKoZh =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-panx-ja-ko-zh"),
            tokenizer,
            null,
            "panx:ja:" + TestData.sample("panx/ja/test"),
            "panx:ko:" + TestData.sample("panx/ko/test"),
            "panx:zh:" + TestData.sample("panx/zh/test"));
    panxEnDe =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-panx-en-de"),
            tokenizer,
            null,
            "panx:en:" + TestData.sample("panx/en/test"),
            "panx:de:" + TestData.sample("panx/de/test"));
    stockmarkModel = tagging(train(stockmark, "stockmark"), stockmark, "stockmark-tagging");
    panxModel = tagging(train(panxTrain, "panx"), panxJaKoZh, "panx-tagging");
  }

  /** Share of the labelled tokens of the test split the models tag as part of an entity. */
  static final double TAGGED = 0.2;

  /**
   * The trained model with its classifier's O bias lowered until about {@link #TAGGED} of the
   * labelled test tokens of {@code data} get an entity tag: a tiny model trained a few steps tags
   * nothing, and one that does, with small margins between labels, is what tells a batch from
   * another. The rest of the checkpoint (training data, metrics) is kept.
   */
  private static Path tagging(Path trained, Path data, String name) throws IOException {
    Path out = dir.resolve(name);
    Files.createDirectories(out);
    try (var files = Files.list(trained)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f)) {
          Files.copy(f, out.resolve(f.getFileName()));
        }
      }
    }
    Checkpoints.Weights w = Checkpoints.read(trained, null, 0);
    List<Example> windows = new PreparedData(spark, data.toString()).examples("test");
    Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>(w.tensors());
    SafeTensors.Tensor bias = tensors.get("classifier.bias");
    int o = w.config().labels.indexOf("O");
    double lo = -20;
    double hi = 0;
    for (int i = 0; i < 12; i++) {
      double mid = (lo + hi) / 2;
      float[] b = bias.data().clone();
      b[o] += (float) mid;
      tensors.put("classifier.bias", new SafeTensors.Tensor(bias.shape(), b, "F32"));
      double share;
      try (NDManager m = NDManager.newBaseManager()) {
        TokenClassificationModel model =
            Checkpoints.build(
                new Checkpoints.Weights(w.config(), tensors, w.report()), m, DataType.FLOAT32);
        share = taggedShare(Evaluator.predict(model, windows, 32), windows, o);
      }
      if (share > TAGGED) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    Checkpoints.write(w.config(), tensors, Checkpoints.local(out));
    return out;
  }

  private static double taggedShare(Map<String, int[][]> predicted, List<Example> windows, int o) {
    long labelled = 0;
    long tagged = 0;
    for (Example e : windows) {
      int[] p = predicted.get(e.id() + "#" + e.window())[0];
      for (int j = 0; j < p.length; j++) {
        if (e.labels()[j] >= 0) {
          labelled++;
          tagged += p[j] != o ? 1 : 0;
        }
      }
    }
    return (double) tagged / labelled;
  }

  /** A tiny model trained a few steps on {@code data}, as the demo trains it. */
  private static Path train(Path data, String name) throws IOException {
    Path init = dir.resolve(name + "-init");
    Path trained = dir.resolve(name + "-trained");
    TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        TestData.tokenizer("unigram").toString(),
        data.resolve("labels.json").toString(),
        init.toString());
    PrintStream quiet =
        new PrintStream(java.io.OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    TrainJob.run(
        spark,
        TrainJob.Options.builder(data.toString(), init.toString(), trained.toString())
            .conf(Path.of("conf/train-demo.json").toAbsolutePath().toString())
            .overrides(List.of("max_steps=12", "logging_steps=4"))
            .build(),
        quiet);
    return trained;
  }

  @BeforeEach
  void listen() {
    spark.sparkContext().addSparkListener(tasks);
  }

  @AfterEach
  void stopListening() {
    spark.sparkContext().removeSparkListener(tasks);
  }

  private Path evaluate(
      Path model, String report, EvaluateJob.Where where, Map<String, String> typeMap, Path... data)
      throws IOException, java.util.concurrent.TimeoutException {
    return evaluate(model, report, where, typeMap, 20, data);
  }

  private Path evaluate(
      Path model,
      String report,
      EvaluateJob.Where where,
      Map<String, String> typeMap,
      int examples,
      Path... data)
      throws IOException, java.util.concurrent.TimeoutException {
    List<String> paths = new ArrayList<>();
    for (Path d : data) {
      paths.add(d.toString());
    }
    tasks.reset();
    EvaluateJob.run(
        spark,
        new EvaluateJob.Options(
            model.toString(),
            paths,
            "test",
            dir.resolve(report).toString(),
            4,
            typeMap,
            examples,
            where));
    spark.sparkContext().listenerBus().waitUntilEmpty();
    return dir.resolve(report);
  }

  private static void assertSameReport(Path driver, Path executors) throws IOException {
    String expected = Files.readString(driver.resolve("report.json"));
    String actual = Files.readString(executors.resolve("report.json"));
    // first the figures (a readable difference), then every byte
    assertEquals(expected, actual, "report.json of the executors differs from the driver's");
    assertEquals(
        -1, Files.mismatch(driver.resolve("report.json"), executors.resolve("report.json")));
    assertEquals(
        -1, Files.mismatch(driver.resolve("report.html"), executors.resolve("report.html")));
  }

  /** The report says the model predicts entities, right and wrong: its predictions matter. */
  private static void assertNotTrivial(Path report) throws IOException {
    JsonNode r = new ObjectMapper().readTree(report.resolve("report.json").toFile());
    JsonNode micro = r.path("seqeval_default").path("micro");
    assertTrue(micro.path("predicted").asLong() > 0, micro.toString());
    assertTrue(micro.path("f1").asDouble() < 1.0, micro.toString());
    assertTrue(r.path("tokens").path("accuracy").asDouble() > 0.0, r.path("tokens").toString());
  }

  @Test
  void stockmarkReportIsTheDriversByteForByte() throws Exception {
    Path driver =
        evaluate(
            stockmarkModel,
            "stockmark-driver",
            EvaluateJob.Where.DRIVER,
            TYPE_MAP,
            stockmark,
            panxEnDe);
    assertEquals(0, tasks.predictTasks(), "the driver path runs no predict stage");
    Path executors =
        evaluate(
            stockmarkModel,
            "stockmark-executors",
            EvaluateJob.Where.EXECUTORS,
            TYPE_MAP,
            stockmark,
            panxEnDe);
    assertTrue(
        tasks.predictTasks() >= 2,
        "batches forwarded in " + tasks.predictTasks() + " task(s), expected several");
    assertNotTrivial(executors);
    JsonNode r = new ObjectMapper().readTree(executors.resolve("report.json").toFile());
    assertEquals(2, r.path("datasets").size());
    assertEquals(20, r.path("examples").size());
    assertSameReport(driver, executors);
  }

  @Test
  void panxReportOfFiveLanguagesInTwoCorporaIsTheDriversByteForByte() throws Exception {
    Path driver =
        evaluate(
            panxModel, "panx-driver", EvaluateJob.Where.DRIVER, Map.of(), panxJaKoZh, panxEnDe);
    Path executors =
        evaluate(
            panxModel,
            "panx-executors",
            EvaluateJob.Where.EXECUTORS,
            Map.of(),
            panxJaKoZh,
            panxEnDe);
    assertTrue(
        tasks.predictTasks() >= 2,
        "batches forwarded in " + tasks.predictTasks() + " task(s), expected several");
    assertNotTrivial(executors);
    JsonNode r = new ObjectMapper().readTree(executors.resolve("report.json").toFile());
    assertEquals(
        List.of("de", "en", "ja", "ko", "zh"),
        iterable(r.path("crosslingual").path("columns")),
        r.path("crosslingual").toString());
    assertEquals(5, r.path("by_lang").size());
    assertSameReport(driver, executors);
  }

  @Test
  void theDriverReceivesCountsNotWindows() throws Exception {
    // no examples: what is left is what grows with the data on the driver path
    evaluate(panxModel, "size-driver", EvaluateJob.Where.DRIVER, Map.of(), 0, panxJaKoZh, panxEnDe);
    long driverPath = tasks.resultBytes();
    evaluate(
        panxModel,
        "size-executors",
        EvaluateJob.Where.EXECUTORS,
        Map.of(),
        0,
        panxJaKoZh,
        panxEnDe);
    long executorPath = tasks.resultBytes();
    // the driver path collects every window (ids, labels, offsets) and every document; on the
    // executors, a task sends counts, one offending row of a check or a partition's scores
    assertTrue(
        executorPath * 3 < driverPath,
        "largest task result sent to the driver: executors "
            + executorPath
            + " bytes, driver path "
            + driverPath
            + " bytes");
  }

  private static List<String> iterable(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(n -> out.add(n.asText()));
    return out;
  }

  /**
   * Counts the tasks of the predict stage that read windows, and keeps the size of the largest task
   * result (what one task sent to the driver, its metrics included).
   */
  static final class Tasks extends SparkListener {
    private final Set<Integer> predictStages = ConcurrentHashMap.newKeySet();
    private final AtomicLong predictTasks = new AtomicLong();
    private final AtomicLong resultBytes = new AtomicLong();

    void reset() {
      predictStages.clear();
      predictTasks.set(0);
      resultBytes.set(0);
    }

    long predictTasks() {
      return predictTasks.get();
    }

    long resultBytes() {
      return resultBytes.get();
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
      scala.collection.Iterator<org.apache.spark.storage.RDDInfo> it =
          e.stageInfo().rddInfos().iterator();
      while (it.hasNext()) {
        if (ExecutorEvaluation.PREDICT.equals(it.next().name())) {
          predictStages.add(e.stageInfo().stageId());
        }
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (e.taskMetrics() == null) {
        return;
      }
      resultBytes.accumulateAndGet(e.taskMetrics().resultSize(), Math::max);

      if (predictStages.contains(e.stageId())
          && e.taskMetrics().shuffleReadMetrics().recordsRead() > 0) {
        predictTasks.incrementAndGet();
      }
    }
  }
}
