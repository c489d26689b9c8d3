package io.sparkner.cluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Spark standalone cluster on 127.0.0.1 for tests: one {@code Master} and two {@code Worker} JVMs
 * (one core each), started from the SPARK_HOME the build assembles ({@code target/spark-home}: the
 * Spark jars of {@code ${spark.version}} in {@code jars/}; this class adds the empty {@code
 * RELEASE} file that makes Spark's launcher take {@code jars/} as the classpath of the executors it
 * starts). Jobs are submitted in client mode through {@code org.apache.spark.deploy.SparkSubmit} in
 * a child JVM, as {@code spark-submit} does. Everything runs under {@link #logs()}
 * (target/cluster-logs/...): the master's and workers' logs, the workers' work directories (each
 * executor's stdout/stderr) and one log per submission. {@link #close()} (and a shutdown hook,
 * should the test JVM end first) kills every process it started, with its descendants, by pid.
 */
public final class StandaloneCluster implements AutoCloseable {
  public static final String HOST = "127.0.0.1";
  private static final Pattern ALIVE_WORKERS = Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)");
  private static final Pattern WORKER_ALIVE = Pattern.compile("\"state\"\\s*:\\s*\"ALIVE\"");

  /**
   * Every JVM of the fixture (master, workers, drivers, executors) compiles with C1 only: they live
   * for seconds, and C2's compiler threads would take much of the CPU of a small CI machine for
   * code that runs a few times. Results do not depend on it (Java's float arithmetic is strict, the
   * numbers come from libtorch), and the local[2] reference runs the same way.
   */
  static final String QUICK_JIT = "-XX:TieredStopAtLevel=1";

  private final Path sparkHome;
  private final String scalaVersion;
  private final List<String> opens;
  private final Path logs;
  private final List<Process> started = new CopyOnWriteArrayList<>();
  private final Thread hook = new Thread(this::killAll, "standalone-cluster-stop");
  private final List<Process> workers = new ArrayList<>();
  private final List<Path> workDirs = new ArrayList<>();
  private Process master;
  private int masterPort;
  private int masterUiPort;
  private int submissions;

  /**
   * A cluster of {@code workers} workers with one core and {@code workerMemory} (e.g. "2g") each.
   */
  public static StandaloneCluster start(String name, int workers, String workerMemory)
      throws IOException, InterruptedException {
    return start(name, workers, workerMemory, null);
  }

  /**
   * As {@link #start(String, int, String)}; with a {@code gpuDiscoveryScript}, each worker owns one
   * GPU, the address the script prints ({@code spark.worker.resource.gpu.*}), and gives it to an
   * executor of an application that asks for one ({@code spark.executor.resource.gpu.amount=1});
   * applications that ask for none get executors without.
   */
  public static StandaloneCluster start(
      String name, int workers, String workerMemory, Path gpuDiscoveryScript)
      throws IOException, InterruptedException {
    StandaloneCluster c = new StandaloneCluster(name);
    boolean ok = false;
    try {
      c.startMaster();
      for (int i = 0; i < workers; i++) {
        c.startWorker(i, workerMemory, gpuDiscoveryScript);
      }
      c.awaitWorkers(workers, Duration.ofSeconds(90));
      ok = true;
      return c;
    } finally {
      if (!ok) {
        c.close();
      }
    }
  }

  private StandaloneCluster(String name) throws IOException {
    sparkHome = Path.of(required("sparkner.spark.home")).toAbsolutePath();
    scalaVersion = required("sparkner.scala.version");
    opens = Arrays.asList(required("sparkner.java.opens").trim().split("\\s+"));
    Path jars = sparkHome.resolve("jars");
    if (!Files.isDirectory(jars) || !jarExists(jars, "spark-core_")) {
      throw new IllegalStateException(
          jars
              + " holds no spark-core jar: run through `mvn verify` (the pre-integration-test phase"
              + " assembles it)");
    }
    // Spark's launcher (AbstractCommandBuilder.findJarsDir) takes SPARK_HOME/jars only when RELEASE
    // exists
    Path release = sparkHome.resolve("RELEASE");
    if (!Files.exists(release)) {
      Files.createFile(release);
    }
    Path root =
        Path.of(System.getProperty("sparkner.cluster.logs", "target/cluster-logs"))
            .toAbsolutePath();
    logs = root.resolve(name + "-" + System.currentTimeMillis());
    Files.createDirectories(logs);
    Runtime.getRuntime().addShutdownHook(hook);
  }

  private static boolean jarExists(Path dir, String prefix) throws IOException {
    try (var s = Files.list(dir)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith(prefix));
    }
  }

  private static String required(String property) {
    String v = System.getProperty(property);
    if (v == null || v.isBlank()) {
      throw new IllegalStateException(
          "system property "
              + property
              + " is not set: run the cluster tests through `mvn verify` (failsafe sets it)");
    }
    return v;
  }

  public String masterUrl() {
    return "spark://" + HOST + ":" + masterPort;
  }

  /** Where this cluster's logs and work directories are. */
  public Path logs() {
    return logs;
  }

  /** The work directory of worker {@code i} (app-ID/EXECUTOR-ID/stderr is each executor's log). */
  public Path workDir(int i) {
    return workDirs.get(i);
  }

  public Process worker(int i) {
    return workers.get(i);
  }

  /**
   * The executor JVMs worker {@code i} runs now (its {@code CoarseGrainedExecutorBackend}
   * children).
   */
  public List<ProcessHandle> executors(int i) {
    return workers
        .get(i)
        .children()
        .filter(ProcessHandle::isAlive)
        .filter(
            p ->
                p.info()
                    .commandLine()
                    .map(c -> c.contains("CoarseGrainedExecutorBackend"))
                    .orElse(true))
        .toList();
  }

  private void startMaster() throws IOException, InterruptedException {
    masterPort = freePort();
    masterUiPort = freePort();
    master =
        launch(
            "master",
            List.of("-Xmx256m"),
            "org.apache.spark.deploy.master.Master",
            List.of(
                "--host",
                HOST,
                "--port",
                Integer.toString(masterPort),
                "--webui-port",
                Integer.toString(masterUiPort)));
  }

  private void startWorker(int i, String memory, Path gpuDiscoveryScript)
      throws IOException, InterruptedException {
    Path work = logs.resolve("worker-" + i);
    Files.createDirectories(work);
    workDirs.add(work);
    List<String> jvm = new ArrayList<>(List.of("-Xmx256m"));
    if (gpuDiscoveryScript != null) {
      jvm.add("-Dspark.worker.resource.gpu.amount=1");
      jvm.add("-Dspark.worker.resource.gpu.discoveryScript=" + gpuDiscoveryScript.toAbsolutePath());
    }
    workers.add(
        launch(
            "worker-" + i,
            jvm,
            "org.apache.spark.deploy.worker.Worker",
            List.of(
                "--host",
                HOST,
                "--port",
                Integer.toString(freePort()),
                "--webui-port",
                Integer.toString(freePort()),
                "--cores",
                "1",
                "--memory",
                memory,
                "--work-dir",
                work.toString(),
                masterUrl())));
  }

  /** Waits until the master's JSON lists {@code n} alive workers. */
  private void awaitWorkers(int n, Duration timeout) throws IOException, InterruptedException {
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    URI uri = URI.create("http://" + HOST + ":" + masterUiPort + "/json/");
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "(no answer)";
    while (System.nanoTime() < deadline) {
      if (!master.isAlive()) {
        throw new IllegalStateException(
            "the master exited with " + master.exitValue() + "; see " + logs.resolve("master.log"));
      }
      for (int i = 0; i < workers.size(); i++) {
        if (!workers.get(i).isAlive()) {
          throw new IllegalStateException(
              "worker "
                  + i
                  + " exited with "
                  + workers.get(i).exitValue()
                  + "; see "
                  + logs.resolve("worker-" + i + ".log"));
        }
      }
      try {
        last =
            http.send(
                    HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        Matcher m = ALIVE_WORKERS.matcher(last);
        int alive =
            m.find()
                ? Integer.parseInt(m.group(1))
                : (int) WORKER_ALIVE.matcher(last).results().count();
        if (alive >= n) {
          return;
        }
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(
        n
            + " workers did not register within "
            + timeout
            + "; master answered: "
            + last
            + "; logs: "
            + logs);
  }

  /** What a submission printed and how it ended. */
  public record Run(int exitCode, String output, Path log) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /**
   * Submits the jar's {@code io.sparkner.cli.Main} with {@code args} to this cluster (client mode)
   * and waits for it; {@code sparkConf} are extra {@code --conf} settings.
   */
  public Run submit(Path jar, List<String> sparkConf, Duration timeout, String... args)
      throws IOException, InterruptedException {
    return submitTo(masterUrl(), jar, sparkConf, timeout, args);
  }

  /**
   * As {@link #submit}, to another master (e.g. {@code local[2]}), through the same SparkSubmit.
   */
  public Run submitTo(
      String masterUrl, Path jar, List<String> sparkConf, Duration timeout, String... args)
      throws IOException, InterruptedException {
    return await(startSubmit(masterUrl, jar, sparkConf, args), timeout);
  }

  /**
   * Waits for a submission {@link #startSubmit} started; kills it (and fails) when it outlives
   * {@code timeout}.
   */
  public Run await(Process submission, Duration timeout) throws IOException, InterruptedException {
    Path log = logOf(submission);
    if (!submission.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      kill(submission);
      throw new IllegalStateException(
          "submission "
              + log.getFileName()
              + " did not end within "
              + timeout
              + "; see "
              + log
              + " and "
              + logs);
    }
    return new Run(submission.exitValue(), Files.readString(log, StandardCharsets.UTF_8), log);
  }

  /** Starts a submission without waiting for it (its output goes to {@link #logOf}). */
  public Process startSubmit(String masterUrl, Path jar, List<String> sparkConf, String... args)
      throws IOException {
    List<String> submit =
        new ArrayList<>(
            List.of(
                "--master",
                masterUrl,
                "--deploy-mode",
                "client",
                "--class",
                "io.sparkner.cli.Main",
                "--conf",
                "spark.executor.extraJavaOptions=-Dai.djl.offline=true " + QUICK_JIT,
                "--conf",
                "spark.ui.enabled=false"));
    if (!masterUrl.startsWith("local")) {
      submit.addAll(
          List.of(
              "--conf",
              "spark.executor.cores=1",
              "--conf",
              "spark.executor.memory=1g",
              // start only when both executors are there: a barrier stage needs all its slots at
              // once
              "--conf",
              "spark.scheduler.minRegisteredResourcesRatio=1.0",
              "--conf",
              "spark.scheduler.maxRegisteredResourcesWaitingTime=60s"));
    }
    for (String c : sparkConf) {
      submit.add("--conf");
      submit.add(c);
    }
    submit.add(jar.toAbsolutePath().toString());
    submit.addAll(Arrays.asList(args));
    int n;
    synchronized (this) {
      n = ++submissions;
    }
    String name = String.format("submit-%02d-%s", n, args.length > 0 ? args[0] : "main");
    try {
      Process p =
          launch(
              name,
              List.of("-Xmx1g", "-Dai.djl.offline=true"),
              "org.apache.spark.deploy.SparkSubmit",
              submit);
      return p;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /** The log file of a process this cluster started. */
  public Path logOf(Process p) {
    return logs.resolve(logName(p));
  }

  private final Map<Long, String> names = new java.util.concurrent.ConcurrentHashMap<>();

  private String logName(Process p) {
    return names.get(p.pid()) + ".log";
  }

  private Process launch(String name, List<String> jvm, String mainClass, List<String> args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(opens);
    cmd.add(QUICK_JIT);
    cmd.addAll(jvm);
    cmd.add("-cp");
    cmd.add(sparkHome.resolve("jars") + File.separator + "*");
    cmd.add(mainClass);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", scalaVersion);
    env.put("SPARK_LOCAL_IP", HOST);
    env.put("SPARK_LOCAL_HOSTNAME", "localhost");
    env.remove("SPARK_CONF_DIR");
    env.remove("HADOOP_CONF_DIR");
    pb.redirectErrorStream(true);
    pb.redirectOutput(logs.resolve(name + ".log").toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = pb.start();
    names.put(p.pid(), name);
    started.add(p);
    return p;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return s.getLocalPort();
    }
  }

  /** Kills a process and all its descendants (SIGKILL), by pid. */
  public static void kill(Process p) {
    kill(p.toHandle());
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public static void kill(ProcessHandle h) {
    List<ProcessHandle> tree = new ArrayList<>(h.descendants().toList());
    tree.add(h);
    for (ProcessHandle d : tree) {
      d.destroyForcibly();
    }
    for (ProcessHandle d : tree) {
      try {
        d.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // reported by the caller's checks: a process that outlives SIGKILL for 30 s is a zombie
      }
    }
  }

  private void killAll() {
    List<Process> all = new ArrayList<>(started);
    java.util.Collections.reverse(
        all); // submissions first, then workers (and their executors), the master last
    for (Process p : all) {
      kill(p);
    }
  }

  @Override
  public void close() {
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down and runs the hook itself
    }
  }

  /** Lines of a text file that contain {@code needle} (0 when the file does not exist). */
  public static long countLines(Path file, String needle) {
    if (!Files.isRegularFile(file)) {
      return 0;
    }
    try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
      return lines.filter(l -> l.contains(needle)).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (UncheckedIOException e) {
      // a log with bytes that are not UTF-8: read it leniently
      try {
        return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)
            .lines()
            .filter(l -> l.contains(needle))
            .count();
      } catch (IOException io) {
        throw new UncheckedIOException(io);
      }
    }
  }
}
