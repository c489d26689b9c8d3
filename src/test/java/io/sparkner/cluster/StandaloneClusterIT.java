package io.sparkner.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The released jar on a real Spark standalone cluster (a master and two one-core workers, each
 * executor its own JVM), submitted as spark-submit does: prepare, distributed training (weights
 * byte-identical to embedded {@code local[2]}), recovery from an executor JVM killed with SIGKILL,
 * evaluate, and scoring with one model load per executor JVM. The tests build on each other's
 * outputs and run in order.
 *
 * <p>Each worker also owns a fake GPU (a discovery script), so Spark's GPU scheduling runs for real
 * in the executors: an application that asks for one GPU per task ({@link
 * GpuDiscovery#oneGpuPerTask}) gets its GPU address in {@code TaskContext.resources()}, and the CPU
 * build of libtorch in the jar must refuse to train or score there unless {@code --device cpu} says
 * so. Applications that ask for no GPU get executors without one.
 *
 * <p>The two refusals are our own check of what Spark hands the task, after the GPU scheduling that
 * the training test already runs: they are tagged {@value #SPARK_INDEPENDENT} and the Spark 4 build
 * leaves them out (its run is the version-sensitive subset, see pom.xml's spark4 profile).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterIT {
  private static final Duration JOB_TIMEOUT = Duration.ofMinutes(4);

  /** The tag of tests whose outcome does not depend on the Spark line (skipped by -Pspark4). */
  static final String SPARK_INDEPENDENT = "spark-independent";

  /** Steps of the training runs; checkpoints every SAVE_STEPS, the kill lands after KILL_AFTER. */
  private static final int MAX_STEPS = 60;

  private static final int SAVE_STEPS = 10;
  private static final int KILL_AFTER = 25;
  private static final Pattern STEP = Pattern.compile("\"step\"\\s*:\\s*(\\d+)");
  private static final String MODEL_LOADED = "model cache: loaded";

  @TempDir static Path dir;
  static StandaloneCluster cluster;
  static Path jar;
  static Path checkout;
  static Path trainConf;

  /**
   * The suite's XLM-R-shaped test tokenizer (building one is no cluster job: {@code tokenizer
   * build} runs on the driver).
   */
  static Path tokenizer;

  @BeforeAll
  static void start() throws Exception {
    checkout = Path.of(System.getProperty("sparkner.checkout", ".")).toAbsolutePath();
    jar =
        Path.of(System.getProperty("sparkner.jar", "target/sparkner-0.1.0-SNAPSHOT.jar"))
            .toAbsolutePath();
    assertTrue(
        Files.isRegularFile(jar), jar + " is missing: the cluster tests run after `package`");
    cluster =
        StandaloneCluster.start(
            "it", 2, "1500m", GpuDiscovery.writeScript(dir.resolve("gpus"), "0"));
    // dropout on: the masks must be drawn identically on the cluster and in local mode, and again
    // after a restart
    trainConf = dir.resolve("train.json");
    Files.writeString(
        trainConf,
        """
        {"max_steps": %d, "per_device_train_batch_size": 8, "learning_rate": 3e-3, "warmup_ratio": 0.1,
         "weight_decay": 0.01, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
         "classifier_dropout": 0.1, "logging_steps": 1, "save_steps": %d, "seed": 42}
        """
            .formatted(MAX_STEPS, SAVE_STEPS));
    tokenizer = io.sparkner.TestData.tokenizer("unigram");
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
      for (int i = 0; i < 2; i++) {
        assertFalse(cluster.worker(i).isAlive(), "worker " + i + " outlived the fixture");
      }
    }
  }

  @Test
  @Order(1)
  void prepareOnTheCluster() throws Exception {
    Path prepared = dir.resolve("prepared");
    StandaloneCluster.Run run =
        cluster.submit(
            jar,
            List.of(),
            JOB_TIMEOUT,
            "prepare",
            "--input",
            stockmark(),
            "--input",
            panx(),
            "--tokenizer",
            tokenizer.toString(),
            "--output",
            prepared.toString(),
            "--max-length",
            "128",
            "--stride",
            "32");
    ok(run);
    assertTrue(
        Files.isRegularFile(prepared.resolve("labels.json")), "no labels.json in " + prepared);
    assertTrue(
        Files.readString(prepared.resolve("labels.json")).contains("B-"),
        "labels.json without entity labels");
    for (String table : List.of("documents", "features")) {
      assertTrue(
          parquetFiles(prepared.resolve(table)) > 0,
          "no parquet files in " + prepared.resolve(table));
    }
    // the tiny XLM-R-shaped model the next tests train (on the driver alone)
    ok(
        cluster.submitTo(
            "local[1]",
            jar,
            List.of(),
            JOB_TIMEOUT,
            "init",
            "--config",
            checkout.resolve("conf/tiny-xlmr-config.json").toString(),
            "--tokenizer",
            tokenizer.toString(),
            "--labels",
            prepared.resolve("labels.json").toString(),
            "--output",
            dir.resolve("tiny-model").toString(),
            "--seed",
            "42"));
  }

  @Test
  @Order(2)
  void trainOnTwoGpuExecutorsWithDeviceCpuEqualsLocalMode() throws Exception {
    // the executors own a GPU each, and --device cpu trains on their CPU on purpose
    StandaloneCluster.Run run =
        cluster.submit(
            jar,
            GpuDiscovery.oneGpuPerTask(),
            JOB_TIMEOUT,
            train("trained-cluster", "--device", "cpu"));
    ok(run);
    ok(cluster.submitTo("local[2]", jar, List.of(), JOB_TIMEOUT, train("trained-local")));
    byte[] onCluster = Files.readAllBytes(dir.resolve("trained-cluster/model.safetensors"));
    byte[] local = Files.readAllBytes(dir.resolve("trained-local/model.safetensors"));
    assertArrayEquals(
        local, onCluster, "the weights trained on two executor JVMs differ from local[2]'s");
    byte[] initial = Files.readAllBytes(dir.resolve("tiny-model/model.safetensors"));
    assertEquals(
        MAX_STEPS,
        lastStep(dir.resolve("trained-cluster/metrics.jsonl")),
        "the cluster run did not train every step");
    assertFalse(java.util.Arrays.equals(initial, onCluster), "training did not change the weights");
    // both ranks saw the GPU Spark gave their task and said why they ran on the CPU
    String app = appOf(run.output());
    for (int w = 0; w < 2; w++) {
      long said = 0;
      for (Path exec : executorDirs(w, app)) {
        said +=
            StandaloneCluster.countLines(
                exec.resolve("stderr"),
                "Spark assigned GPU [0] but --device cpu: running on the CPU on purpose");
      }
      assertEquals(
          1,
          said,
          "worker "
              + w
              + "'s executor should log once that it ran on the CPU although assigned GPU 0 (app "
              + app
              + ")");
    }
  }

  @Test
  @Tag(SPARK_INDEPENDENT)
  @Order(3)
  void trainingOnAssignedGpusWithCpuLibtorchStopsNamingTaskGpuAndFlavour() throws Exception {
    long start = System.nanoTime();
    StandaloneCluster.Run refused =
        cluster.submit(jar, GpuDiscovery.oneGpuPerTask(), JOB_TIMEOUT, train("trained-refused"));
    long seconds = (System.nanoTime() - start) / 1_000_000_000L;
    assertEquals(
        2, refused.exitCode(), "exit code (log " + refused.log() + "):\n" + tail(refused.output()));
    assertNamesTaskGpuAndFlavour(refused);
    // it fails at the device check, before any rendezvous: no rank waits out the collective
    // timeout,
    // and the driver does not run the job again from a checkpoint (the same would happen)
    assertFalse(refused.output().contains("training job failed (attempt"), tail(refused.output()));
    assertFalse(refused.output().contains("timed out"), tail(refused.output()));
    assertTrue(seconds < 120, "refusing took " + seconds + " s");
    assertFalse(
        Files.exists(dir.resolve("trained-refused/checkpoints/checkpoint-" + SAVE_STEPS)),
        "nothing may be trained");
  }

  @Test
  @Order(4)
  void anExecutorKilledMidRunResumesToTheSameWeights() throws Exception {
    Path out = dir.resolve("trained-killed");
    Process submit =
        cluster.startSubmit(cluster.masterUrl(), jar, List.of(), train("trained-killed"));
    Path metrics = out.resolve("metrics.jsonl");
    long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
    long step = -1;
    while ((step = lastStep(metrics)) < KILL_AFTER) {
      if (!submit.isAlive() || System.nanoTime() > deadline) {
        fail(
            "the run ended (or hung) before step "
                + KILL_AFTER
                + " (last step "
                + step
                + "); see "
                + cluster.logOf(submit));
      }
      Thread.sleep(20);
    }
    List<ProcessHandle> executors = cluster.executors(1);
    assertEquals(1, executors.size(), "worker 1 should run one executor JVM: " + executors);
    ProcessHandle victim = executors.get(0);
    assertTrue(
        victim.destroyForcibly(), "SIGKILL of executor pid " + victim.pid() + " was not sent");
    victim.onExit().get(30, TimeUnit.SECONDS);
    long killedAt = lastStep(metrics);
    assertTrue(
        killedAt < MAX_STEPS,
        "the kill came too late: the run had finished (step " + killedAt + ")");

    assertTrue(
        submit.waitFor(JOB_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
        "the run did not end after the kill; see " + cluster.logOf(submit));
    String output = Files.readString(cluster.logOf(submit), StandardCharsets.UTF_8);
    assertEquals(0, submit.exitValue(), "the run failed after the kill:\n" + tail(output));
    // the worker launched a new executor JVM for the application in place of the killed one
    List<ProcessHandle> now = cluster.executors(1);
    assertFalse(
        now.stream().anyMatch(p -> p.pid() == victim.pid()), "the killed executor is still listed");
    assertTrue(
        executorDirs(1, appOf(output)).size() >= 2,
        "worker 1 did not relaunch an executor for the application: "
            + executorDirs(1, appOf(output)));
    assertArrayEquals(
        Files.readAllBytes(dir.resolve("trained-local/model.safetensors")),
        Files.readAllBytes(out.resolve("model.safetensors")),
        "the run whose executor was killed at step "
            + killedAt
            + " ended with other weights than the uninterrupted one");
    assertEquals(MAX_STEPS, lastStep(metrics));
  }

  @Test
  @Order(5)
  void evaluateOnTheCluster() throws Exception {
    Path report = dir.resolve("report");
    ok(
        cluster.submit(
            jar,
            List.of(),
            JOB_TIMEOUT,
            "evaluate",
            "--model",
            dir.resolve("trained-cluster").toString(),
            "--data",
            dir.resolve("prepared").toString(),
            "--split",
            "test",
            "--report",
            report.toString()));
    String json = Files.readString(report.resolve("report.json"));
    assertTrue(
        json.contains("\"f1\""),
        "report.json without an f1: " + json.substring(0, Math.min(400, json.length())));
    assertTrue(Files.size(report.resolve("report.html")) > 0);
  }

  @Test
  @Order(6)
  void scoreLoadsTheModelOncePerExecutorJvm() throws Exception {
    Path scored = dir.resolve("scored");
    StandaloneCluster.Run run =
        cluster.submit(
            jar,
            List.of(),
            JOB_TIMEOUT,
            "score",
            "--model",
            dir.resolve("trained-cluster").toString(),
            "--input",
            dir.resolve("prepared/documents").toString(),
            "--output",
            scored.toString(),
            "--output-col",
            "predicted",
            "--max-length",
            "128",
            "--stride",
            "32",
            "--partitions",
            "8");
    ok(run);
    assertTrue(parquetFiles(scored) > 0, "no scored parquet files");
    String app = appOf(run.output());
    int executorsThatLoaded = 0;
    for (int w = 0; w < 2; w++) {
      for (Path exec : executorDirs(w, app)) {
        long loads = StandaloneCluster.countLines(exec.resolve("stderr"), MODEL_LOADED);
        assertTrue(
            loads <= 1,
            exec + "/stderr: the model was loaded " + loads + " times in one executor JVM");
        executorsThatLoaded += (int) loads;
      }
    }
    assertEquals(
        2,
        executorsThatLoaded,
        "both executor JVMs should tag rows, loading the model once each (app " + app + ")");
  }

  @Test
  @Tag(SPARK_INDEPENDENT)
  @Order(7)
  void scoringOnAssignedGpusWithCpuLibtorchStopsNamingTaskGpuAndFlavour() throws Exception {
    Path scored = dir.resolve("scored-refused");
    StandaloneCluster.Run refused =
        cluster.submit(
            jar,
            GpuDiscovery.oneGpuPerTask(),
            JOB_TIMEOUT,
            "score",
            "--model",
            dir.resolve("trained-cluster").toString(),
            "--input",
            dir.resolve("prepared/documents").toString(),
            "--output",
            scored.toString(),
            "--output-col",
            "predicted",
            "--max-length",
            "128",
            "--stride",
            "32",
            "--partitions",
            "2");
    assertEquals(
        2, refused.exitCode(), "exit code (log " + refused.log() + "):\n" + tail(refused.output()));
    assertNamesTaskGpuAndFlavour(refused);
    assertEquals(0, parquetFiles(scored), "nothing may be scored");
  }

  /**
   * The one-line error a user reads: the task, the GPU Spark assigned, the libtorch flavour, what
   * to set.
   */
  private static void assertNamesTaskGpuAndFlavour(StandaloneCluster.Run run) {
    String error =
        run.output()
            .lines()
            .filter(l -> l.startsWith("error: "))
            .findFirst()
            .orElseThrow(
                () ->
                    new AssertionError(
                        "no error line (log " + run.log() + "):\n" + tail(run.output())));
    assertTrue(
        Pattern.compile(
                "stage \\d+ \\(attempt \\d+\\), partition \\d+, task attempt \\d+ \\(TID \\d+\\)")
            .matcher(error)
            .find(),
        error);
    assertTrue(error.contains("Spark assigned GPU 0 "), error);
    assertTrue(
        error.contains("flavour cpu")
            && error.contains("PyTorch 2.7.1")
            && error.contains("no CUDA"),
        error);
    assertTrue(
        error.contains("PYTORCH_LIBRARY_PATH")
            && error.contains("PYTORCH_FLAVOR")
            && error.contains("--device cpu"),
        error);
    assertFalse(
        error.contains("Job aborted"), "the task's own message, not Spark's wrapper: " + error);
  }

  // ------------------------------------------------------------------------------------------------

  private static String[] train(String output, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "train",
                "--data",
                dir.resolve("prepared").toString(),
                "--model",
                dir.resolve("tiny-model").toString(),
                "--output",
                dir.resolve(output).toString(),
                "--conf",
                trainConf.toString(),
                "--deepspeed",
                checkout.resolve("conf/ds_config_zero2.json").toString(),
                "--replicas",
                "2",
                "--collective-timeout",
                "20"));
    args.addAll(List.of(extra));
    return args.toArray(new String[0]);
  }

  private static String stockmark() {
    return "stockmark:" + checkout.resolve("data/stockmark/ner.json");
  }

  private static String panx() {
    return "panx:ja:" + checkout.resolve("data/panx/ja");
  }

  private static void ok(StandaloneCluster.Run run) {
    assertEquals(
        0, run.exitCode(), "submission failed (log " + run.log() + "):\n" + tail(run.output()));
  }

  private static String tail(String s) {
    return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
  }

  private static long parquetFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".parquet")).count();
    }
  }

  /** The last step metrics.jsonl records (-1 while there is none). */
  static long lastStep(Path metrics) {
    try {
      if (!Files.isRegularFile(metrics)) {
        return -1;
      }
      long last = -1;
      for (String line : Files.readAllLines(metrics)) {
        Matcher m = STEP.matcher(line);
        if (m.find()) {
          last = Math.max(last, Long.parseLong(m.group(1)));
        }
      }
      return last;
    } catch (IOException | java.io.UncheckedIOException e) {
      return -1; // being rewritten: read again
    }
  }

  /**
   * The application id of a submission (from Spark's log lines, e.g. "app-20260101000000-0003").
   */
  private static String appOf(String output) {
    Matcher m = Pattern.compile("app-\\d{14}-\\d{4}").matcher(output);
    Set<String> apps = new HashSet<>();
    while (m.find()) {
      apps.add(m.group());
    }
    assertEquals(1, apps.size(), "expected one application id in the driver's log, found " + apps);
    return apps.iterator().next();
  }

  /**
   * The executor directories (one per executor JVM launched) of an application on worker {@code w}.
   */
  private static List<Path> executorDirs(int w, String app) throws IOException {
    Path appDir = cluster.workDir(w).resolve(app);
    List<Path> dirs = new ArrayList<>();
    if (Files.isDirectory(appDir)) {
      try (Stream<Path> s = Files.list(appDir)) {
        s.filter(Files::isDirectory).forEach(dirs::add);
      }
    }
    return dirs;
  }
}
