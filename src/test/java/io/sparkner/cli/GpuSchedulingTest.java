package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.GpuDiscovery;
import io.sparkner.TestData;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark's GPU scheduling path for real, on a machine without a GPU: a sparkner JVM on a {@code
 * local-cluster[2,1,1024]} master (two workers launching executor JVMs) whose workers own fake GPUs
 * 0 and 1 (a discovery script), one per executor and task ({@code spark.task.resource.gpu.amount=1}),
 * so the code reading {@code TaskContext.resources()} runs in the executors. The libtorch here is the
 * CPU build: training and scoring must stop, naming the task, the GPU and the flavour, instead of
 * running on the CPU of a "GPU node"; {@code --device cpu} runs on the CPU on purpose. (Plain local
 * mode cannot do this in Spark 3.5: its scheduler offers no resources, a task asking for a GPU is
 * never scheduled.) Each run is its own JVM: one SparkContext per JVM.
 */
class GpuSchedulingTest {
  @TempDir static Path dir;
  static Path script;
  static Path sparkHome;
  static List<String> classPath;
  static String classDirs;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    TrainCommandTest.prepareAndInit(dir);
    script = GpuDiscovery.writeScript(dir.resolve("gpus"), "0", "1");
    classPath = GpuDiscovery.classPath();
    sparkHome = GpuDiscovery.sparkHome(dir.resolve("spark-home"), classPath);
    classDirs = String.join(java.io.File.pathSeparator, classPath.stream().filter(e -> !e.endsWith(".jar")).toList());
  }

  record Child(int code, String output, long millis) {}

  /** {@code sparkner ARGS} in a JVM of its own whose Spark driver owns GPUs 0 and 1, one per task. */
  static Child sparkner(String name, String... args) throws IOException, InterruptedException {
    return run(name, true, args);
  }

  /** {@code sparkner ARGS} in a JVM of its own; with GPUs: on a local-cluster of two workers owning GPUs 0 and 1. */
  static Child run(String name, boolean gpus, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx1500m");
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // the add-opens Spark needs on Java 17, DJL offline, no Spark UI: as the test JVM has them
      if (a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dio.netty") || a.startsWith("-Dai.djl") || a.startsWith("-Dspark.ui")) {
        cmd.add(a);
      }
    }
    if (gpus) {
      // two workers (separate executor JVMs, one core, 1 GB each), each owning the script's GPUs
      cmd.add("-Dspark.master=local-cluster[2,1,1024]");
      cmd.addAll(GpuDiscovery.workerJvmOptions(script, 2));
      cmd.add("-Dspark.executor.extraClassPath=" + classDirs);
      cmd.add("-Dspark.executor.extraJavaOptions=-Dai.djl.offline=true");
    }
    cmd.add("-Dspark.driver.host=127.0.0.1");
    cmd.add("-Dspark.driver.bindAddress=127.0.0.1");
    cmd.add("-cp");
    cmd.add(String.join(java.io.File.pathSeparator, classPath));
    cmd.add(Main.class.getName());
    cmd.addAll(List.of(args));
    Path log = dir.resolve(name + ".log");
    long start = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    Process p = pb.start();
    try {
      if (!p.waitFor(400, TimeUnit.SECONDS)) {
        throw new AssertionError(name + " still running after 400 s: " + Files.readString(log, StandardCharsets.UTF_8));
      }
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
    return new Child(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8), (System.nanoTime() - start) / 1_000_000);
  }

  static String[] train(String output, String... extra) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "train",
                "--data", dir.resolve("prepared").toString(),
                "--model", dir.resolve("tiny").toString(),
                "--output", dir.resolve(output).toString(),
                "--conf", Path.of("conf/train-demo.json").toAbsolutePath().toString(),
                "--replicas", "2",
                "--set", "max_steps=4",
                "--set", "save_steps=4",
                "--set", "logging_steps=2"));
    a.addAll(List.of(extra));
    return a.toArray(new String[0]);
  }

  /** The one-line error a user reads: the task, the GPU Spark assigned, the libtorch flavour, what to set. */
  static void assertNamesTaskGpuAndFlavour(Child c, String what) {
    String error =
        c.output().lines().filter(l -> l.startsWith("error: ")).findFirst().orElseThrow(() -> new AssertionError(what + ": no error line:\n" + c.output()));
    assertTrue(Pattern.compile("stage \\d+ \\(attempt \\d+\\), partition \\d+, task attempt \\d+ \\(TID \\d+\\)").matcher(error).find(), error);
    assertTrue(Pattern.compile("Spark assigned GPU [01] ").matcher(error).find(), error);
    assertTrue(error.contains("flavour cpu") && error.contains("PyTorch 2.7.1") && error.contains("no CUDA"), error);
    assertTrue(error.contains("PYTORCH_LIBRARY_PATH") && error.contains("PYTORCH_FLAVOR") && error.contains("--device cpu"), error);
    assertFalse(error.contains("Job aborted"), "the task's own message, not Spark's wrapper: " + error);
  }

  @Test
  void trainingOnAssignedGpusWithCpuLibtorchStopsNamingTaskGpuAndFlavourAndDeviceCpuTrainsOnPurpose() throws Exception {
    Child refused = sparkner("train-gpu", train("refused"));
    assertEquals(2, refused.code(), refused.output());
    assertNamesTaskGpuAndFlavour(refused, "train");
    // fails at the device check, before any rendezvous: no rank waits out the 300 s collective
    // timeout, and the driver does not run the job again from a checkpoint (the same would happen)
    assertFalse(refused.output().contains("training job failed (attempt"), refused.output());
    assertFalse(refused.output().contains("timed out"), refused.output());
    assertTrue(refused.millis() < 300_000, "took " + refused.millis() + " ms");
    assertFalse(Files.exists(dir.resolve("refused/checkpoints/checkpoint-4")), "nothing was trained");

    Child cpu = sparkner("train-cpu", train("on-cpu", "--device", "cpu"));
    assertEquals(0, cpu.code(), cpu.output());
    assertTrue(cpu.output().contains("trained 4 steps"), cpu.output());
    assertTrue(Files.exists(dir.resolve("on-cpu/model.safetensors")));

    // scoring: the same GPUs, the same libtorch, the model just trained
    Path in = dir.resolve("texts.jsonl");
    Files.writeString(
        in,
        "{\"text\": \"山田太郎は東京都の株式会社サンプルに勤めている。\"}\n{\"text\": \"トヨタ自動車は愛知県豊田市に本社を置く。\"}\n",
        StandardCharsets.UTF_8);
    String[] score = {"score", "--model", dir.resolve("on-cpu").toString(), "--input", in.toString(), "--format", "json", "--partitions", "2"};
    Child scoreRefused = sparkner("score-gpu", concat(score, "--output", dir.resolve("scored-gpu").toString()));
    assertEquals(2, scoreRefused.code(), scoreRefused.output());
    assertNamesTaskGpuAndFlavour(scoreRefused, "score");

    Child scoreCpu = sparkner("score-cpu", concat(score, "--output", dir.resolve("scored-cpu").toString(), "--device", "cpu"));
    assertEquals(0, scoreCpu.code(), scoreCpu.output());
    assertTrue(Files.exists(dir.resolve("scored-cpu/_summary.json")), scoreCpu.output());
  }

  @Test
  void deviceGpuWithoutAnyGpuIsAnError() throws Exception {
    // no GPU assigned (one replica trains on the driver) and libtorch sees none
    Child c =
        run(
            "train-device-gpu",
            false,
            "train",
            "--data", dir.resolve("prepared").toString(),
            "--model", dir.resolve("tiny").toString(),
            "--output", dir.resolve("device-gpu").toString(),
            "--conf", Path.of("conf/train-demo.json").toAbsolutePath().toString(),
            "--set", "max_steps=2",
            "--device", "gpu");
    assertEquals(2, c.code(), c.output());
    assertTrue(c.output().contains("error: the driver: --device=gpu, but there is no GPU"), c.output());
    assertTrue(c.output().contains("flavour cpu"), c.output());
  }

  private static String[] concat(String[] a, String... b) {
    List<String> all = new ArrayList<>(List.of(a));
    all.addAll(List.of(b));
    return all.toArray(new String[0]);
  }
}
