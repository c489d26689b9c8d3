package io.sparkner.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU jar ({@code target/sparkner-<version>-gpu.jar}, built by {@code mvn package}) carries no
 * libtorch and runs on the libtorch the cluster supplies through {@code PYTORCH_LIBRARY_PATH},
 * {@code PYTORCH_VERSION} and {@code PYTORCH_FLAVOR}. Checked on CPU: the libtorch 2.7.1 of the
 * {@code pytorch-native-cpu} artifact unpacked into a directory stands in for the CUDA libtorch a
 * Databricks init script unpacks; {@code train} and {@code score} run with the GPU jar in child
 * JVMs give byte-identical weights and scores to the default jar's run of the same commands. Every
 * child gets an empty DJL cache and home, offline mode, and a classpath without any DJL jar, so the
 * GPU jar cannot find a libtorch anywhere but in the given directory.
 */
class ThinJarIT {
  @TempDir static Path dir;

  static Path fatJar;
  static Path gpuJar;
  static Path libtorch;
  static String sparkClasspath;
  static Path log4j;
  static Path prepared;
  static Path tiny;
  static Path texts;

  /** libtorch itself and what comes with it; the JNI binding libdjl_torch is not one of them. */
  static final Pattern LIBTORCH_FILE =
      Pattern.compile("(^|/)lib(torch|torch_cpu|torch_cuda|c10|c10_cuda|gomp)[^/]*\\.so[^/]*$");

  @BeforeAll
  static void jarsAndInputs() throws Exception {
    Path target = Path.of("target").toAbsolutePath();
    String version = DeployDescriptorsTest.version();
    fatJar = target.resolve("sparkner-" + version + ".jar");
    gpuJar = target.resolve("sparkner-" + version + "-gpu.jar");
    assertTrue(Files.isRegularFile(fatJar), fatJar + ": run after mvn package");
    assertTrue(Files.isRegularFile(gpuJar), gpuJar + ": mvn package builds it");

    // Spark and the rest of what bin/sparkner puts next to the jar, without the DJL jars: the jar
    // under test is the only place DJL classes and natives can come from
    List<String> embedded =
        Arrays.asList(
            Files.readString(target.resolve("embedded-classpath.txt"))
                .trim()
                .split(java.io.File.pathSeparator));
    String nativeCpu =
        embedded.stream()
            .filter(p -> p.contains("pytorch-native-cpu"))
            .findFirst()
            .orElseThrow(
                () ->
                    new AssertionError(
                        "pytorch-native-cpu is not on the embedded classpath: " + embedded));
    List<String> spark = embedded.stream().filter(p -> !p.contains("/ai/djl/")).toList();
    assertTrue(spark.stream().anyMatch(p -> p.contains("spark-core")), spark.toString());
    assertTrue(spark.stream().noneMatch(p -> p.contains("pytorch")), spark.toString());
    sparkClasspath = String.join(java.io.File.pathSeparator, spark);

    // the libtorch a cluster would provide: unpacked from the artifact the default jar bundles
    libtorch = Files.createDirectories(dir.resolve("libtorch/lib"));
    int unpacked = 0;
    try (ZipFile zip = new ZipFile(nativeCpu)) {
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
        ZipEntry entry = e.nextElement();
        if (!entry.isDirectory() && entry.getName().startsWith("pytorch/cpu/linux-x86_64/")) {
          try (InputStream in = zip.getInputStream(entry)) {
            Files.copy(
                in,
                libtorch.resolve(Path.of(entry.getName()).getFileName().toString()),
                StandardCopyOption.REPLACE_EXISTING);
          }
          unpacked++;
        }
      }
    }
    assertTrue(
        Files.isRegularFile(libtorch.resolve("libtorch.so"))
            && Files.isRegularFile(libtorch.resolve("libtorch_cpu.so")),
        "unpacked " + unpacked + " files");

    // DJL's library search logged at debug: the path every native library is loaded from
    log4j = dir.resolve("log4j2.properties");
    Files.writeString(
        log4j,
        String.join(
            "\n",
            "rootLogger.level = warn",
            "rootLogger.appenderRef.stderr.ref = console",
            "appender.console.type = Console",
            "appender.console.name = console",
            "appender.console.target = SYSTEM_ERR",
            "appender.console.layout.type = PatternLayout",
            "appender.console.layout.pattern = %p %c{1}: %m%n",
            "logger.sparkner.name = io.sparkner",
            "logger.sparkner.level = info",
            "logger.djl.name = ai.djl.pytorch.jni.LibUtils",
            "logger.djl.level = debug",
            ""));

    prepared = dir.resolve("prepared");
    Run p =
        run(
            fatJar,
            null,
            "prepare",
            "--input",
            "stockmark:" + TestData.sample("stockmark/ner.json"),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--output",
            prepared.toString(),
            "--max-length",
            "128");
    assertEquals(0, p.code, p.err);
    tiny = dir.resolve("tiny");
    Run i =
        run(
            fatJar,
            null,
            "init",
            "--config",
            Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--labels",
            prepared.resolve("labels.json").toString(),
            "--output",
            tiny.toString());
    assertEquals(0, i.code, i.err);
    texts = dir.resolve("texts.txt");
    Files.writeString(
        texts,
        String.join(
            "\n",
            "日本製紙は釧路工場の生産を停止すると発表した。",
            "トヨタ自動車の社長が東京で記者会見を開いた。",
            "ソニーグループは大阪に新しい研究所を設ける。",
            "三菱商事と住友商事が共同で発電事業に参入する。",
            ""),
        StandardCharsets.UTF_8);
  }

  @Test
  void gpuJarCarriesNoLibtorchButTheJniBindingsForCpuAndCuda() throws IOException {
    Set<String> gpu = entries(gpuJar);
    Set<String> fat = entries(fatJar);
    List<String> torchInGpu = gpu.stream().filter(n -> LIBTORCH_FILE.matcher(n).find()).toList();
    assertEquals(List.of(), torchInGpu, "libtorch inside " + gpuJar.getFileName());
    assertFalse(
        gpu.contains("native/lib/pytorch.properties"), "the bundled-libtorch descriptor is gone");
    assertTrue(gpu.contains("jnilib/linux-x86_64/cpu/libdjl_torch.so"), "pytorch-jni kept (cpu)");
    assertTrue(
        gpu.contains("jnilib/linux-x86_64/cu128/libdjl_torch.so"), "pytorch-jni kept (cu128)");
    assertTrue(gpu.contains("io/sparkner/cli/Main.class"));
    // the pattern does find libtorch where it is: the default jar
    assertTrue(
        fat.stream()
            .anyMatch(n -> n.endsWith("libtorch_cpu.so") && LIBTORCH_FILE.matcher(n).find()),
        "default jar bundles libtorch");
    assertTrue(fat.contains("native/lib/pytorch.properties"));
    // otherwise the same jar: everything but the CPU natives
    Set<String> onlyInFat = new TreeSet<>(fat);
    onlyInFat.removeAll(gpu);
    assertTrue(
        onlyInFat.stream()
            .allMatch(
                n ->
                    n.startsWith("pytorch/")
                        || n.equals("native/lib/pytorch.properties")
                        || n.startsWith("META-INF/native-image/ai/djl/pytorch/pytorch-native/")
                        || n.startsWith("META-INF/maven/ai.djl.pytorch/pytorch-native-cpu/")),
        onlyInFat.toString());
    Set<String> onlyInGpu = new TreeSet<>(gpu);
    onlyInGpu.removeAll(fat);
    assertEquals(Set.of(), onlyInGpu);
    try (ZipFile z = new ZipFile(gpuJar.toFile())) {
      String manifest =
          new String(
              z.getInputStream(z.getEntry("META-INF/MANIFEST.MF")).readAllBytes(),
              StandardCharsets.UTF_8);
      assertTrue(manifest.contains("Main-Class: io.sparkner.cli.Main"), manifest);
    }
  }

  @Test
  void gpuJarWithTheClusterLibtorchTrainsAndScoresExactlyAsTheDefaultJar() throws Exception {
    Map<String, String> clusterLibtorch =
        Map.of(
            "PYTORCH_LIBRARY_PATH",
            libtorch.toString(),
            "PYTORCH_VERSION",
            "2.7.1",
            "PYTORCH_FLAVOR",
            "cpu");

    Run fatTrain = train(fatJar, null, "fat");
    Run gpuTrain = train(gpuJar, clusterLibtorch, "gpu");
    assertEquals(0, fatTrain.code, fatTrain.err);
    assertEquals(0, gpuTrain.code, gpuTrain.err);
    assertTrue(gpuTrain.out.contains("step 4/4"), gpuTrain.out);

    // where libtorch came from: the given directory for the GPU jar, the default jar's own copy
    // otherwise
    String fromDir = "Loading native library: " + libtorch.resolve("libtorch_cpu.so");
    assertTrue(gpuTrain.err.contains(fromDir), gpuTrain.err);
    assertFalse(fatTrain.err.contains(fromDir), fatTrain.err);
    assertTrue(fatTrain.err.contains("Loading native library: " + fatTrain.cache), fatTrain.err);
    // and nothing was extracted or downloaded: the GPU run's DJL cache holds the JNI binding only
    try (Stream<Path> files = Files.walk(gpuTrain.cache)) {
      List<String> cached =
          files
              .filter(Files::isRegularFile)
              .map(f -> gpuTrain.cache.relativize(f).toString())
              .toList();
      assertEquals(List.of("pytorch/2.7.1-cpu-linux-x86_64/0.36.0-libdjl_torch.so"), cached);
    }

    byte[] fatWeights = Files.readAllBytes(dir.resolve("fat/model/model.safetensors"));
    byte[] gpuWeights = Files.readAllBytes(dir.resolve("gpu/model/model.safetensors"));
    assertArrayEquals(
        fatWeights, gpuWeights, "weights of the GPU jar's run differ from the default jar's");
    assertNotEquals(Files.size(tiny.resolve("model.safetensors")), 0L);
    assertFalse(
        Arrays.equals(Files.readAllBytes(tiny.resolve("model.safetensors")), gpuWeights),
        "training changed the weights");

    Run fatScore = score(fatJar, null, "fat");
    Run gpuScore = score(gpuJar, clusterLibtorch, "gpu");
    assertEquals(0, fatScore.code, fatScore.err);
    assertEquals(0, gpuScore.code, gpuScore.err);
    assertTrue(gpuScore.err.contains(fromDir), gpuScore.err);
    String fatScored = scored(dir.resolve("fat/scored"));
    String gpuScored = scored(dir.resolve("gpu/scored"));
    assertEquals(4, gpuScored.lines().count(), gpuScored);
    assertTrue(gpuScored.contains("\"entities\""), gpuScored);
    assertEquals(fatScored, gpuScored);
  }

  @Test
  void gpuJarWithoutALibtorchStopsInsteadOfFindingOne() throws Exception {
    Path out = dir.resolve("none/tiny");
    Run r =
        run(
            gpuJar,
            null,
            "init",
            "--config",
            Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--labels",
            prepared.resolve("labels.json").toString(),
            "--output",
            out.toString());
    assertNotEquals(0, r.code, r.out + r.err);
    assertFalse(Files.exists(out.resolve("model.safetensors")));
    try (Stream<Path> files = Files.walk(r.cache)) {
      assertTrue(
          files.noneMatch(f -> LIBTORCH_FILE.matcher(f.toString()).find()),
          "no libtorch was fetched");
    }
  }

  // ------------------------------------------------------------------ helpers

  static Run train(Path jar, Map<String, String> env, String name) throws Exception {
    return run(
        jar,
        env,
        "train",
        "--data",
        prepared.toString(),
        "--model",
        tiny.toString(),
        "--output",
        dir.resolve(name + "/model").toString(),
        "--conf",
        Path.of("conf/train-demo.json").toAbsolutePath().toString(),
        "--set",
        "max_steps=4",
        "--set",
        "logging_steps=2",
        "--set",
        "save_steps=4",
        "--set",
        "eval_strategy=no",
        "--set",
        "hidden_dropout_prob=0.1");
  }

  static Run score(Path jar, Map<String, String> env, String name) throws Exception {
    return run(
        jar,
        env,
        "score",
        "--model",
        dir.resolve(name + "/model").toString(),
        "--input",
        texts.toString(),
        "--format",
        "text",
        "--output",
        dir.resolve(name + "/scored").toString(),
        "--output-format",
        "json",
        "--partitions",
        "1");
  }

  /** The JSON lines of a scored output, part files in order (their names carry a random id). */
  static String scored(Path out) throws IOException {
    assertTrue(Files.exists(out.resolve("_SUCCESS")), out.toString());
    try (Stream<Path> parts = Files.list(out)) {
      List<Path> files =
          parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
      assertFalse(files.isEmpty(), out.toString());
      StringBuilder sb = new StringBuilder();
      for (Path f : files) {
        sb.append(Files.readString(f, StandardCharsets.UTF_8));
      }
      return sb.toString();
    }
  }

  static Set<String> entries(Path jar) throws IOException {
    try (ZipFile z = new ZipFile(jar.toFile())) {
      return z.stream()
          .filter(e -> !e.isDirectory())
          .map(ZipEntry::getName)
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  record Run(int code, String out, String err, Path cache) {}

  static int runs;

  /**
   * sparkner in a child JVM as bin/sparkner starts it: the jar, then Spark; empty DJL cache and
   * home.
   */
  static Run run(Path jar, Map<String, String> env, String... args) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home-" + (++runs)));
    // the default jar's runs share one cache (it extracts its libtorch there once); every GPU jar
    // run starts empty
    Path cache =
        Files.createDirectories(
            dir.resolve(jar.equals(fatJar) ? "djl-cache-default" : "djl-cache-" + runs));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx2g");
    cmd.add(
        "-XX:TieredStopAtLevel=1"); // short-lived JVMs: C1 alone costs far less CPU, the numbers
    // come from libtorch
    cmd.addAll(Arrays.asList(System.getProperty("sparkner.java.opens", "").trim().split("\\s+")));
    cmd.removeIf(String::isEmpty);
    cmd.addAll(
        List.of(
            "-Dai.djl.offline=true",
            "-Duser.home=" + home,
            "-Dspark.master=local[2]",
            "-Dspark.ui.enabled=false",
            "-Dlog4j2.configurationFile=" + log4j,
            "-cp",
            jar + java.io.File.pathSeparator + sparkClasspath,
            "io.sparkner.cli.Main"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> e = pb.environment();
    for (String k :
        List.of(
            "PYTORCH_LIBRARY_PATH",
            "PYTORCH_VERSION",
            "PYTORCH_FLAVOR",
            "ENGINE_CACHE_DIR",
            "LD_LIBRARY_PATH")) {
      e.remove(k);
    }
    e.put("DJL_CACHE_DIR", cache.toString());
    e.put("SPARK_LOCAL_IP", "127.0.0.1");
    e.putAll(env == null ? new HashMap<>() : env);
    Path out = dir.resolve("run-" + runs + ".out");
    Path err = dir.resolve("run-" + runs + ".err");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    try {
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        throw new AssertionError(
            String.join(" ", args) + ": no exit after 300 s; " + Files.readString(err));
      }
    } finally {
      p.destroyForcibly();
    }
    return new Run(p.exitValue(), Files.readString(out), Files.readString(err), cache);
  }
}
