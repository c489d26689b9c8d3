package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.GarbageCollectionNotificationInfo;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.train.RankTraining;
import io.sparkner.train.TrainJob;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import org.apache.spark.sql.SparkSession;

/**
 * Memory of {@code train} against the size of the corpus: PAN-X ja/ko/zh/en/de (train, dev and test
 * of each) passed {@code --copies} times under different language tags ({@code ja}, {@code ja-r2},
 * ...: three copies are 600,000 sentences, 300,000 training windows), prepared once with the demo's
 * tiny XLM-R tokenizer, then trained with {@code --replicas} replicas on {@code local[2]} in a
 * child JVM with {@code --heap} (default 1g, as {@code SPARKNER_HEAP=1g}): once with every window
 * collected on the driver and shipped to every rank (the path before the training feed) and once
 * streamed through the feed. The run is cut at {@code --max-steps} (the data path, planning and
 * feed, is the whole corpus whatever the steps). Per side: whether it finished or died (and of
 * what), wall time, the JVM's peak heap after a collection (local mode: the driver and both ranks
 * share the JVM, so this bounds the driver's), and each rank's windows (trained, held for
 * validation).
 *
 * <p>Run with {@code bench/run train-memory [--copies 3] [--heap 1g] [--max-steps 40] [--replicas
 * 2] [--sides collected,streamed] [--name train-memory]}. Writes {@code bench/results/NAME.json}.
 */
public final class TrainMemoryBench {
  static final String[] LANGS = {"ja", "ko", "zh", "en", "de"};

  private TrainMemoryBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child")) {
      child(args);
      return;
    }
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()));
    int copies = 3;
    String heap = "1g";
    int maxSteps = 40;
    int replicas = 2;
    List<String> sides = List.of("collected", "streamed");
    String name = "train-memory";
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--copies" -> copies = Integer.parseInt(args[i + 1]);
        case "--heap" -> heap = args[i + 1];
        case "--max-steps" -> maxSteps = Integer.parseInt(args[i + 1]);
        case "--replicas" -> replicas = Integer.parseInt(args[i + 1]);
        case "--sides" -> sides = List.of(args[i + 1].split(","));
        case "--name" -> name = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Path work = root.resolve("bench/work/train-memory-x" + copies);
    Files.createDirectories(work);
    Path prepared = work.resolve("prepared");
    Path model = work.resolve("tiny");
    ObjectNode result = BenchEnv.JSON.createObjectNode();
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, root.resolve(".git").toString());
    result.set("env", env);
    result.put("copies", copies);
    result.put("heap", heap);
    result.put("replicas", replicas);
    result.put("max_steps", maxSteps);
    if (!Files.exists(prepared.resolve("summary.json"))) {
      long t0 = System.nanoTime();
      prepare(root, shared, prepared, copies);
      result.put("prepare_seconds", BenchEnv.round((System.nanoTime() - t0) / 1e9));
    }
    result.set(
        "prepared",
        BenchEnv.JSON
            .readTree(Files.readString(prepared.resolve("summary.json")))
            .path("by_split"));
    if (!Files.exists(model.resolve("model.safetensors"))) {
      io.sparkner.cli.TestAccess.init(
          root.resolve("conf/tiny-xlmr-config.json").toString(),
          root.resolve("src/test/resources/tokenizers/unigram/tokenizer.json").toString(),
          prepared.resolve("labels.json").toString(),
          model.toString());
    }
    ArrayNode runs = result.putArray("runs");
    for (String side : sides) {
      runs.add(runChild(root, work, side, heap, replicas, maxSteps, prepared, model));
      BenchEnv.writeJson(root.resolve("bench/results/" + name + ".json"), result);
    }
    System.out.println(BenchEnv.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
  }

  static void prepare(Path root, Path shared, Path prepared, int copies) {
    List<CorpusInput> inputs = new ArrayList<>();
    for (int c = 1; c <= copies; c++) {
      for (String lang : LANGS) {
        String tag = c == 1 ? lang : lang + "-r" + c;
        inputs.add(CorpusInput.parse("panx:" + tag + ":" + shared.resolve("data/panx/" + lang)));
      }
    }
    SparkSession spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("train-memory prepare")
            .config("spark.ui.enabled", "false")
            .getOrCreate();
    try {
      PrepareJob.run(
          spark,
          new PrepareOptions(
              inputs,
              root.resolve("src/test/resources/tokenizers/unigram/tokenizer.json").toString(),
              prepared.toString(),
              ReadOptions.defaults(),
              LabelScheme.IOB2,
              new AlignOptions(128, 32, true),
              false));
    } finally {
      spark.stop();
    }
  }

  /** One side in a child JVM with the given heap; what it reported, or how it died. */
  static ObjectNode runChild(
      Path root,
      Path work,
      String side,
      String heap,
      int replicas,
      int maxSteps,
      Path prepared,
      Path model)
      throws Exception {
    Path out = work.resolve("out-" + side);
    Path report = work.resolve("report-" + side + ".json");
    Path log = work.resolve("log-" + side + ".txt");
    Files.deleteIfExists(report);
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + heap);
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("--add-exports") || a.startsWith("-D")) {
        cmd.add(a);
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(TrainMemoryBench.class.getName());
    cmd.addAll(
        List.of(
            "--child",
            side,
            prepared.toString(),
            model.toString(),
            out.toString(),
            String.valueOf(replicas),
            String.valueOf(maxSteps),
            report.toString()));
    long t0 = System.nanoTime();
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean done = p.waitFor(3, TimeUnit.HOURS);
    if (!done) {
      p.destroyForcibly();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    ObjectNode r =
        Files.exists(report)
            ? (ObjectNode) BenchEnv.JSON.readTree(Files.readString(report))
            : BenchEnv.JSON.createObjectNode();
    r.put("side", side);
    r.put("exit_code", done ? p.exitValue() : -1);
    r.put("wall_seconds", BenchEnv.round(seconds));
    String text = Files.readString(log, StandardCharsets.UTF_8);
    r.put("out_of_memory", text.contains("OutOfMemoryError"));
    if (!r.has("finished")) {
      r.put("finished", false);
      int at = text.indexOf("OutOfMemoryError");
      if (at >= 0) {
        int lineStart = text.lastIndexOf('\n', at) + 1;
        int lineEnd = text.indexOf('\n', at);
        r.put("died_of", text.substring(lineStart, lineEnd < 0 ? text.length() : lineEnd).trim());
      }
    }
    System.out.printf(
        "%s: finished %s, exit %d, %.0f s, peak heap after GC %s MiB%n",
        side,
        r.path("finished").asBoolean(),
        r.path("exit_code").asInt(),
        seconds,
        r.path("peak_heap_after_gc_mib").asText("?"));
    return r;
  }

  /** The child: trains one side and writes what it measured. */
  /** The names of the heap's memory pools (the GC's notification also lists the non-heap ones). */
  static final java.util.Set<String> HEAP_POOLS = heapPools();

  private static java.util.Set<String> heapPools() {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        out.add(p.getName());
      }
    }
    return out;
  }

  static void child(String[] args) throws Exception {
    String side = args[1];
    String prepared = args[2];
    String model = args[3];
    String out = args[4];
    int replicas = Integer.parseInt(args[5]);
    int maxSteps = Integer.parseInt(args[6]);
    Path report = Path.of(args[7]);
    AtomicLong peakAfterGc = new AtomicLong();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) gc)
          .addNotificationListener(
              (n, h) -> {
                if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
                    n.getType())) {
                  return;
                }
                var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                long used = 0;
                for (var pool : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                  if (HEAP_POOLS.contains(pool.getKey())) {
                    used += pool.getValue().getUsed();
                  }
                }
                peakAfterGc.accumulateAndGet(used, Math::max);
              },
              null,
              null);
    }
    SparkSession spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("train-memory " + side)
            .config("spark.ui.enabled", "false")
            .getOrCreate();
    long t0 = System.nanoTime();
    TrainJob.Result r =
        TrainJob.run(
            spark,
            TrainJob.Options.builder(prepared, model, out)
                .overrides(
                    List.of(
                        "per_device_train_batch_size=" + (32 / replicas),
                        "max_steps=" + maxSteps,
                        "logging_steps=10",
                        "save_steps=1000000",
                        "eval_strategy=no",
                        "learning_rate=1e-3"))
                .replicas(replicas)
                .overwrite(true)
                .dataPath(
                    side.equals("collected")
                        ? TrainJob.DataPath.COLLECTED
                        : TrainJob.DataPath.STREAMED)
                .build(),
            new PrintStream(OutputStream.nullOutputStream()));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.gc();
    ObjectNode o = BenchEnv.JSON.createObjectNode();
    o.put("finished", true);
    o.put("train_seconds", BenchEnv.round(seconds));
    o.put("steps", r.steps());
    o.put("training_windows", r.config().trainExamples());
    o.put("peak_heap_after_gc_mib", BenchEnv.round(peakAfterGc.get() / 1048576.0));
    o.put("max_heap_mib", BenchEnv.round(Runtime.getRuntime().maxMemory() / 1048576.0));
    ArrayNode ranks = o.putArray("ranks");
    for (RankTraining.Outcome x : r.ranks()) {
      ObjectNode k = ranks.addObject();
      k.put("rank", x.rank());
      k.put("windows_trained", x.windowsTrained());
      k.put("validation_windows_held", x.validationWindows());
      // collected: the whole training list on every rank; streamed: the micro batch being trained
      // and the one record read ahead
      k.put(
          "training_windows_resident",
          side.equals("collected") ? r.config().trainExamples() : r.config().microBatch() + 1L);
    }
    Files.writeString(report, BenchEnv.JSON.writeValueAsString(o));
    spark.stop();
    System.exit(0); // after a barrier job the JVM does not exit by itself
  }
}
