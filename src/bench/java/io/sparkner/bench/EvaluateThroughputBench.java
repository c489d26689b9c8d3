package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.model.Checkpoints;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Evaluation throughput: {@code evaluate} ({@link EvaluateJob#run}) of the tiny model on the five
 * PAN-X test sets (one prepared corpus per language), with the windows predicted and scored on the
 * executors of {@code local[N]} against the driver path (every window collected to the driver and
 * predicted there on one thread), in one JVM, interleaved. Both must write the same report.json,
 * byte for byte. Figure: driver seconds ÷ executor seconds, goal ≥ 1.8 on 2 cores.
 *
 * <p>A third side, {@code executors-1}, runs the executor path with {@code
 * spark.sql.shuffle.partitions=1}: every stage of the job after the reads in one task, as on a
 * cluster with one task slot. {@code executors-1} seconds ÷ {@code executors} seconds is how the
 * executor path scales with task slots on this machine ({@code slot_scaling}). {@code --sentences
 * N} evaluates the first N sentences of each language's test set instead of all 10,000, so that a
 * larger model ({@code --model}) fits in a run.
 *
 * <p>Run with {@code bench/run evaluate-throughput [--cores 2] [--runs 3] [--batch-size 32]
 * [--model DIR] [--sentences N] [--git-dir DIR]}. Writes {@code
 * bench/results/evaluate-throughput.json}.
 */
public final class EvaluateThroughputBench {
  static final double GOAL = 1.8;
  static final String[] LANGS = {"ja", "ko", "zh", "en", "de"};
  static final Map<String, String> TYPE_MAP = Map.of("ORG-P", "ORG", "ORG-O", "ORG");

  private EvaluateThroughputBench() {}

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()));
    Path work = root.resolve("bench/work/evaluate-throughput");
    Path out = root.resolve("bench/results/evaluate-throughput.json");
    Path model = null;
    int cores = 2;
    int runs = 3;
    int batch = 32;
    String gitDir = null;
    int sentences = 0;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--cores" -> cores = Integer.parseInt(args[++i]);
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--batch-size" -> batch = Integer.parseInt(args[++i]);
        case "--model" -> model = Path.of(args[++i]);
        case "--sentences" -> sentences = Integer.parseInt(args[++i]);
        case "--git-dir" -> gitDir = args[++i];
        case "--work" -> work = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> {
          System.err.println(
              "usage: evaluate-throughput [--cores N] [--runs R] [--batch-size B] [--model DIR]"
                  + " [--sentences N] [--work DIR] [--out FILE] [--git-dir DIR]");
          System.exit(2);
        }
      }
    }
    Path panx = shared.resolve("data/panx");
    for (String lang : LANGS) {
      Path test = panx.resolve(lang).resolve("test");
      if (!Files.exists(test)) {
        System.err.println(
            "evaluate-throughput: "
                + test.toAbsolutePath().normalize()
                + " is missing. This benchmark needs the shared"
                + " corpora (../shared next to the repository, or -Dsparkner.shared=DIR).");
        System.exit(1);
      }
    }
    work = work.toAbsolutePath().normalize();
    Files.createDirectories(work);

    SparkSession spark =
        SparkSession.builder()
            .master("local[" + cores + "]")
            .appName("sparkner bench evaluate-throughput")
            .config("spark.ui.enabled", false)
            .config("spark.task.cpus", 1)
            .config("spark.sql.shuffle.partitions", 4 * cores)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    if (model == null) {
      model = work.resolve("tiny-model");
      if (!Files.exists(model.resolve(Checkpoints.WEIGHTS))) {
        Map<String, Integer> composition = new LinkedHashMap<>();
        List<String> sample =
            ScoreThroughputBench.texts(
                shared.resolve("data/stockmark/ner.json"), panx, 2_000, composition);
        ScoreThroughputBench.calibratedTinyModel(
            root, work.resolve("tiny-init"), model, sample, batch, 256, 64);
      }
    }
    model = model.toAbsolutePath().normalize();

    // one prepared corpus per language, with the model's tokenizer
    List<String> data = new ArrayList<>();
    String modelName = model.getFileName().toString();
    for (String lang : LANGS) {
      Path prepared =
          work.resolve(
              "prepared-"
                  + lang
                  + (sentences > 0 ? "-" + sentences + "-" + modelName : "")
                  + (sentences == 0 && !modelName.equals("tiny-model") ? "-" + modelName : ""));
      Path test = panx.resolve(lang).resolve("test").toAbsolutePath();
      if (sentences > 0) {
        test =
            firstSentences(
                test, work.resolve("panx-" + sentences + "/" + lang + "/test"), sentences);
      }
      if (!Files.exists(prepared.resolve("summary.json"))) {
        log("prepare %s -> %s", lang, prepared);
        PrepareJob.run(
            spark,
            new PrepareOptions(
                List.of(CorpusInput.parse("panx:" + lang + ":" + test)),
                model.resolve(Checkpoints.TOKENIZER).toString(),
                prepared.toString(),
                ReadOptions.defaults(),
                LabelScheme.IOB2,
                AlignOptions.defaults(),
                true));
      }
      data.add(prepared.toString());
    }
    long documents = 0;
    long windows = 0;
    for (String d : data) {
      documents += spark.read().parquet(d + "/documents").where("split = 'test'").count();
      windows += spark.read().parquet(d + "/features").count();
    }
    log("%d documents, %d windows in %d corpora", documents, windows, data.size());

    Path finalModel = model;
    int finalBatch = batch;
    record Side(String name, EvaluateJob.Where where, int shufflePartitions) {}
    List<Side> sides =
        List.of(
            new Side("executors", EvaluateJob.Where.EXECUTORS, 4 * cores),
            new Side("driver", EvaluateJob.Where.DRIVER, 4 * cores),
            new Side("executors-1", EvaluateJob.Where.EXECUTORS, 1));
    // warm-up: each side once on the smallest corpus (JIT, libtorch, the executors' model cache)
    for (Side s : sides) {
      log("warm-up %s", s.name());
      spark.conf().set("spark.sql.shuffle.partitions", s.shufflePartitions());
      evaluate(
          spark,
          finalModel,
          List.of(data.get(3)),
          work.resolve("warmup-" + s.name()),
          finalBatch,
          s.where());
    }
    Map<String, List<Double>> seconds = new LinkedHashMap<>();
    Map<String, ArrayNode> runsJson = new LinkedHashMap<>();
    List<String> reports = new ArrayList<>();
    boolean identical = true;
    String reference = null;
    for (int r = 0; r < runs; r++) {
      for (int k = 0; k < sides.size(); k++) {
        Side s = sides.get((k + r) % sides.size()); // rotate who goes first
        Path report = work.resolve("report-" + s.name() + "-" + r);
        spark.conf().set("spark.sql.shuffle.partitions", s.shufflePartitions());
        BenchEnv.Measured<Object> m =
            BenchEnv.measure(
                () -> {
                  evaluate(spark, finalModel, data, report, finalBatch, s.where());
                  return null;
                });
        seconds.computeIfAbsent(s.name(), x -> new ArrayList<>()).add(m.seconds());
        runsJson.computeIfAbsent(s.name(), x -> BenchEnv.JSON.createArrayNode()).add(m.run());
        String json = Files.readString(report.resolve("report.json"));
        if (reference == null) {
          reference = json;
        } else if (!reference.equals(json)) {
          identical = false;
        }
        reports.add(report.toString());
        log(
            "run %d %s: %.2f s (other processes %.2f CPU s)",
            r, s.name(), m.seconds(), m.run().path("other_processes_cpu_s").asDouble());
      }
    }
    double driver = BenchEnv.median(seconds.get("driver"));
    double executors = BenchEnv.median(seconds.get("executors"));
    double ratio = driver / executors;
    double slotScaling = BenchEnv.median(seconds.get("executors-1")) / executors;

    ObjectNode json = BenchEnv.JSON.createObjectNode();
    json.put("benchmark", "evaluate-throughput");
    json.put(
        "measures",
        "seconds of EvaluateJob.run (the tiny model on the five PAN-X test sets, one corpus per"
            + " language) with the windows predicted and scored on the executors of local[N] vs"
            + " collected to the driver and predicted there, in one JVM; the two report.json must"
            + " be identical");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    json.set("env", env);
    ObjectNode config = json.putObject("config");
    config.put("cores", cores);
    config.put("spark_task_cpus", 1);
    config.put("spark_sql_shuffle_partitions", 4 * cores);
    config.put("batch_size", batch);
    config.put("documents", documents);
    config.put("windows", windows);
    ArrayNode corpora = config.putArray("data");
    data.forEach(corpora::add);
    config.put("model", model.toString());
    config.put("sentences_per_language", sentences > 0 ? sentences : 10_000);
    config.put(
        "model_shape_of_the_default_model",
        "xlm-roberta, 2 layers, hidden 64, vocab 7997, Stockmark's 17 labels, fp32, O bias raised"
            + " so about 8% of tokens are tagged; evaluated with --type-map ORG-P=ORG,ORG-O=ORG");
    config.put("warmup", "one run of each side on the en corpus");
    config.put("measured_runs", runs);
    config.put("order", "rotating: round r starts with side r mod 3");
    config.put(
        "executors-1",
        "the executor path with spark.sql.shuffle.partitions=1: one task per stage after the reads,"
            + " as on one task slot");
    ObjectNode results = json.putObject("sides");
    for (Side s : sides) {
      ObjectNode o = results.putObject(s.name());
      o.set("seconds", BenchEnv.stats(seconds.get(s.name())));
      o.put("documents_per_s", Math.round(documents / BenchEnv.median(seconds.get(s.name()))));
      o.set("runs", runsJson.get(s.name()));
    }
    json.put("ratio", BenchEnv.round(ratio));
    json.put("slot_scaling", BenchEnv.round(slotScaling));
    json.put("goal", GOAL);
    json.put("meets_goal", ratio >= GOAL);
    json.put("identical_reports", identical);
    ArrayNode compared = json.putArray("reports_compared");
    reports.forEach(compared::add);
    List<Double> quietDriver = undisturbed(seconds.get("driver"), runsJson.get("driver"));
    List<Double> quietExecutors = undisturbed(seconds.get("executors"), runsJson.get("executors"));
    ObjectNode quiet = json.putObject("undisturbed");
    quiet.put(
        "about",
        "the ratio over the runs during which other processes used under 10% of one core"
            + " (runs[].other_processes_cpu_s)");
    quiet.put("driver_runs", quietDriver.size());
    quiet.put("executor_runs", quietExecutors.size());
    if (!quietDriver.isEmpty() && !quietExecutors.isEmpty()) {
      quiet.put(
          "ratio", BenchEnv.round(BenchEnv.median(quietDriver) / BenchEnv.median(quietExecutors)));
    }
    ArrayNode notes = json.putArray("notes");
    notes.add(
        "Both sides run the same EvaluateJob.run with the same options but Options.where: the"
            + " checks (Spark aggregations), then either the executors (windows numbered in the"
            + " driver's batch order, whole batches forwarded by N tasks with one libtorch thread"
            + " each, documents scored where their windows meet them) or the driver (windows and"
            + " documents collected, predicted on the driver's thread with libtorch's default"
            + " intra-op threads, scored there), then report.json and report.html.");
    notes.add(
        "The machine is shared (2 cores): other_processes_cpu_s in each run says how much CPU"
            + " others took meanwhile; a busy neighbour takes a core from the executors, less from"
            + " the one-thread driver path, which lowers the ratio.");
    BenchEnv.writeJson(out, json);

    System.out.printf(
        Locale.ROOT,
        "%nevaluate-throughput (%d documents, %d windows, local[%d], batch %d, %s, commit %s)%n",
        documents,
        windows,
        cores,
        batch,
        BenchEnv.machine(env),
        env.path("commit").asText());
    for (Side s : sides) {
      System.out.printf(
          Locale.ROOT,
          "  %-10s median %.2f s (spread %.0f%%), %.0f documents/s%n",
          s.name(),
          BenchEnv.median(seconds.get(s.name())),
          results.path(s.name()).path("seconds").path("spread_pct").asDouble(),
          documents / BenchEnv.median(seconds.get(s.name())));
    }
    System.out.printf(
        Locale.ROOT,
        "  ratio driver/executors: %.3f (goal >= %.1f: %s); report.json identical: %s%n",
        ratio,
        GOAL,
        ratio >= GOAL ? "met" : "NOT met",
        identical);
    System.out.printf(
        Locale.ROOT, "  slot scaling executors-1/executors: %.3f (%d slots)%n", slotScaling, cores);
    System.out.println("wrote " + out);
    spark.stop();
    if (!identical) {
      System.err.println("evaluate-throughput: the two sides wrote different report.json");
      System.exit(1);
    }
  }

  private static void evaluate(
      SparkSession spark,
      Path model,
      List<String> data,
      Path report,
      int batch,
      EvaluateJob.Where where) {
    EvaluateJob.run(
        spark,
        new EvaluateJob.Options(
            model.toString(), data, "test", report.toString(), batch, typeMap(model), 20, where));
  }

  /**
   * {@link #TYPE_MAP}'s entries for the types the model predicts (Stockmark's ORG-P and ORG-O onto
   * ORG for the default model; nothing for a model trained on PAN-X's labels).
   */
  static Map<String, String> typeMap(Path model) {
    try {
      String labels =
          BenchEnv.JSON.readTree(model.resolve("config.json").toFile()).path("id2label").toString();
      Map<String, String> out = new LinkedHashMap<>();
      TYPE_MAP.forEach(
          (from, to) -> {
            if (labels.contains("-" + from + "\"")) {
              out.put(from, to);
            }
          });
      return out;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The first {@code n} sentences (blank-line separated) of a PAN-X file, written to {@code to}.
   */
  static Path firstSentences(Path from, Path to, int n) throws java.io.IOException {
    if (!Files.exists(to)) {
      List<String> out = new ArrayList<>();
      int seen = 0;
      boolean inSentence = false;
      for (String line : Files.readAllLines(from)) {
        if (line.isBlank()) {
          if (inSentence && ++seen == n) {
            break;
          }
          inSentence = false;
        } else {
          inSentence = true;
        }
        out.add(line);
      }
      Files.createDirectories(to.getParent());
      Files.write(to, out);
    }
    return to;
  }

  private static List<Double> undisturbed(List<Double> seconds, ArrayNode runs) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < seconds.size(); i++) {
      if (runs.get(i).path("other_processes_cpu_s").asDouble(0) <= 0.10 * seconds.get(i)) {
        out.add(seconds.get(i));
      }
    }
    return out;
  }

  static void log(String fmt, Object... args) {
    System.err.printf(Locale.ROOT, "[bench] " + fmt + "%n", args);
  }
}
