package io.sparkner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Windowing;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.corpus.Document;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.ReadResult;
import io.sparkner.corpus.SourceFile;
import io.sparkner.model.Autograd;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.score.ScoreJob;
import io.sparkner.score.ScoreSummary;
import io.sparkner.score.TableFormat;
import io.sparkner.tokenizer.Tokenized;
import io.sparkner.tokenizer.TokenizerHandle;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Scoring throughput: the score job ({@link ScoreJob} on {@code local[N]}: read Parquet, tag with
 * {@code NerTagger}, write Parquet and the summary) against a plain single-thread loop in the same
 * JVM that tokenizes the same texts, cuts the same windows, and runs the same model forward with
 * the same batch size and the same length sorting, keeping only the arg-max tags (no merge, no
 * decoding, no rows, no I/O). Sentences/s and tokens/s, per core; figure: (job ÷ N) ÷ loop ≥ 0.90.
 * Also the job with length-sorted batches against arrival order, on {@code --arrival-rows} of the
 * rows.
 *
 * <p>Run with {@code bench/run score-throughput [--rows 200000] [--cores 2] [--runs 3]
 * [--batch-size 32] [--max-length 256] [--stride 64] [--model DIR] [--arrival-rows 20000]
 * [--git-dir DIR]}. Writes {@code bench/results/score-throughput.json}.
 */
public final class ScoreThroughputBench {
  static final double GOAL = 0.90;
  static final List<String> STOCKMARK_LABELS =
      List.of(
          "O", "B-EVT", "I-EVT", "B-INS", "I-INS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-ORG-O",
          "I-ORG-O", "B-ORG-P", "I-ORG-P", "B-PER", "I-PER", "B-PRD", "I-PRD");
  static final String[] PANX_LANGS = {"ja", "zh", "ko", "en", "de"};
  static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  private ScoreThroughputBench() {}

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()));
    Path work = root.resolve("bench/work/score-throughput");
    Path out = root.resolve("bench/results/score-throughput.json");
    Path model = null;
    int rows = 200_000;
    int cores = 2;
    int runs = 3;
    int batch = 32;
    int maxLength = 256;
    int stride = 64;
    int arrivalRows = 20_000;
    String gitDir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rows" -> rows = Integer.parseInt(args[++i]);
        case "--cores" -> cores = Integer.parseInt(args[++i]);
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--batch-size" -> batch = Integer.parseInt(args[++i]);
        case "--max-length" -> maxLength = Integer.parseInt(args[++i]);
        case "--stride" -> stride = Integer.parseInt(args[++i]);
        case "--model" -> model = Path.of(args[++i]);
        case "--arrival-rows" -> arrivalRows = Integer.parseInt(args[++i]);
        case "--git-dir" -> gitDir = args[++i];
        case "--work" -> work = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> {
          System.err.println(
              "usage: score-throughput [--rows N] [--cores N] [--runs R] [--batch-size B]"
                  + " [--max-length L] [--stride S] [--model DIR] [--arrival-rows N (0: skip)]"
                  + " [--work DIR] [--out FILE] [--git-dir DIR]");
          System.exit(2);
        }
      }
    }
    Path stockmark = shared.resolve("data/stockmark/ner.json");
    Path panx = shared.resolve("data/panx");
    for (Path p : List.of(stockmark, panx)) {
      if (!Files.exists(p)) {
        System.err.println(
            "score-throughput: "
                + p.toAbsolutePath().normalize()
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
            .appName("sparkner bench score-throughput")
            .config("spark.ui.enabled", false)
            .config("spark.task.cpus", 1)
            .config("spark.sql.shuffle.partitions", 4)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    // one libtorch thread for the loop, as each Spark task gets (spark.task.cpus = 1; the setting
    // is per process)
    Engine.getInstance();
    JniUtils.setNumThreads(1);

    Map<String, Integer> composition = new LinkedHashMap<>();
    List<String> corpus = texts(stockmark, panx, rows, composition);
    Path input = work.resolve("input-" + rows);
    Path warmInput = work.resolve("input-warmup");
    writeTable(spark, corpus, input, cores * 4);
    List<String> warmTexts = corpus.subList(0, Math.min(corpus.size(), 5_000));
    writeTable(spark, warmTexts, warmInput, cores * 4);
    List<String> loopTexts =
        spark.read().parquet(input.toString()).select("text").as(Encoders.STRING()).collectAsList();
    // every k-th row: the same mix of corpora (and lengths) as the whole input
    List<String> subsetTexts = new ArrayList<>();
    for (int i = 0, step = Math.max(1, corpus.size() / Math.max(1, arrivalRows));
        i < corpus.size() && subsetTexts.size() < arrivalRows;
        i += step) {
      subsetTexts.add(corpus.get(i));
    }
    Path subsetInput = work.resolve("input-subset-" + subsetTexts.size());
    if (arrivalRows > 0) {
      writeTable(spark, subsetTexts, subsetInput, cores * 4);
    }
    log("input: %d rows %s -> %s (%d files)", loopTexts.size(), composition, input, cores * 4);

    if (model == null) {
      model = work.resolve("tiny-model");
      if (!Files.exists(model.resolve(Checkpoints.WEIGHTS))) {
        calibratedTinyModel(
            root,
            work.resolve("tiny-init"),
            model,
            corpus.subList(0, Math.min(corpus.size(), 2_000)),
            batch,
            maxLength,
            stride);
      }
    }
    model = model.toAbsolutePath().normalize();
    Checkpoints.Weights weights = Checkpoints.read(model, null, 0);
    TokenizerHandle tokenizer = TokenizerHandle.load(model.resolve(Checkpoints.TOKENIZER));
    NDManager loopManager = NDManager.newBaseManager();
    TokenClassificationModel loopModel = Checkpoints.build(weights, loopManager, DataType.FLOAT32);
    Loop loop = new Loop(tokenizer, loopModel, batch, maxLength, stride);
    Job job = new Job(spark, model, work, batch, maxLength, stride);

    List<Variant> variants =
        new ArrayList<>(
            List.of(
                new Variant("job_sorted", true, true, false),
                new Variant("loop_sorted", false, true, false)));
    if (arrivalRows > 0) {
      variants.add(new Variant("job_sorted_subset", true, true, true));
      variants.add(new Variant("job_arrival_subset", true, false, true));
    }
    log("warm-up on %d rows", warmTexts.size());
    for (Variant v : variants) {
      v.run(job, loop, warmInput, warmTexts);
    }
    Map<String, List<Double>> seconds = new LinkedHashMap<>();
    Map<String, ArrayNode> runsJson = new LinkedHashMap<>();
    Map<String, Counts> counts = new LinkedHashMap<>();
    for (int r = 0; r < runs; r++) {
      // rotate the order, so a drift in the machine's speed hits every variant
      for (int k = 0; k < variants.size(); k++) {
        Variant v = variants.get((k + r) % variants.size());
        BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
        Counts c =
            v.subset()
                ? v.run(job, loop, subsetInput, subsetTexts)
                : v.run(job, loop, input, loopTexts);
        BenchEnv.Cpu c1 = BenchEnv.Cpu.now();
        double s = c1.secondsSince(c0);
        ObjectNode acct = c1.since(c0);
        seconds.computeIfAbsent(v.name(), x -> new ArrayList<>()).add(s);
        runsJson.computeIfAbsent(v.name(), x -> BenchEnv.JSON.createArrayNode()).add(acct);
        counts.put(v.name(), c);
        log("run %d: %-18s %7.2f s = %6.0f rows/s  %s", r, v.name(), s, c.rows / s, acct);
      }
    }
    // both sides did the same work
    Counts jobCounts = counts.get("job_sorted");
    Counts loopCounts = counts.get("loop_sorted");
    if (jobCounts.rows != loopCounts.rows
        || jobCounts.tokens != loopCounts.tokens
        || jobCounts.windows != loopCounts.windows) {
      throw new IllegalStateException(
          "the job and the loop disagree: job " + jobCounts + ", loop " + loopCounts);
    }

    ObjectNode json = BenchEnv.JSON.createObjectNode();
    json.put("benchmark", "score-throughput");
    json.put(
        "measures",
        "rows (sentences) and tokens per second of ScoreJob.run on local[N] (Parquet in, NerTagger,"
            + " Parquet out, summary) vs one thread tokenizing the same texts and running the same"
            + " model forward in the same batches, per core, in one JVM; and the job with"
            + " length-sorted batches vs arrival order");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    json.set("env", env);
    ObjectNode cfg = json.putObject("config");
    cfg.put("rows", jobCounts.rows);
    ObjectNode comp = cfg.putObject("input_rows_by_source");
    composition.forEach(comp::put);
    cfg.put("input", input.toString());
    cfg.put("input_files", cores * 4);
    cfg.put("tokens", jobCounts.tokens);
    cfg.put("windows", jobCounts.windows);
    cfg.put("entities_in_job_output", jobCounts.entities);
    cfg.put(
        "tagged_token_share_loop", BenchEnv.round((double) loopCounts.tagged / loopCounts.tokens));
    cfg.put("subset_rows", arrivalRows > 0 ? subsetTexts.size() : 0);
    cfg.put("cores", cores);
    cfg.put("spark_task_cpus", 1);
    cfg.put("libtorch_intra_op_threads", 1);
    cfg.put("batch_size", batch);
    cfg.put("sort_buffer_windows", 64 * batch);
    cfg.put("max_length", maxLength);
    cfg.put("stride", stride);
    cfg.put("model", model.toString());
    cfg.put(
        "model_shape",
        weights.config().modelType
            + ", "
            + weights.config().numHiddenLayers
            + " layers, hidden "
            + weights.config().hiddenSize
            + ", vocab "
            + weights.config().vocabSize
            + ", "
            + weights.config().numLabels()
            + " labels, fp32");
    cfg.put("warmup", "one run of every variant on " + warmTexts.size() + " rows");
    cfg.put("measured_runs", runs);
    cfg.put("order", "rotating: round r starts with variant r mod " + variants.size());

    ObjectNode results = json.putObject("variants");
    Map<String, Double> rate = new LinkedHashMap<>();
    for (Variant v : variants) {
      Counts c = counts.get(v.name());
      double med = BenchEnv.median(seconds.get(v.name()));
      int perCore = v.spark() ? cores : 1;
      rate.put(v.name(), c.rows / med);
      ObjectNode n = results.putObject(v.name());
      n.put(
          "what",
          (v.spark() ? "ScoreJob.run on local[" + cores + "]" : "one-thread loop")
              + ", "
              + (v.sorted() ? "length-sorted" : "arrival-order")
              + " batches, "
              + c.rows
              + " rows");
      n.set("seconds", BenchEnv.stats(seconds.get(v.name())));
      n.put("rows_per_s", Math.round(c.rows / med));
      n.put("tokens_per_s", Math.round(c.tokens / med));
      n.put("rows_per_s_per_core", Math.round(c.rows / med / perCore));
      n.put("tokens_per_s_per_core", Math.round(c.tokens / med / perCore));
      n.put(
          "jvm_cpu_s_median",
          BenchEnv.round(BenchEnv.median(field(runsJson.get(v.name()), "jvm_cpu_s"))));
      n.set("runs", runsJson.get(v.name()));
    }
    ObjectNode ratios = json.putObject("ratios");
    double ratio = rate.get("job_sorted") / cores / rate.get("loop_sorted");
    ratios.put("per_core", BenchEnv.round(ratio));
    ratios.put("goal", GOAL);
    ratios.put("meets_goal", ratio >= GOAL);
    ratios.put(
        "per_core_of_fastest_runs",
        BenchEnv.round(min(seconds.get("loop_sorted")) / min(seconds.get("job_sorted")) / cores));
    double cpuEfficiency =
        BenchEnv.median(field(runsJson.get("loop_sorted"), "jvm_cpu_s"))
            / BenchEnv.median(field(runsJson.get("job_sorted"), "jvm_cpu_s"));
    ratios.put("cpu_efficiency", BenchEnv.round(cpuEfficiency));
    ratios.put(
        "cpu_efficiency_about",
        "loop CPU s / job CPU s of this JVM (medians): the per-core ratio the job would reach with"
            + " its cores to itself; insensitive to neighbours");
    if (arrivalRows > 0) {
      ratios.put(
          "job_sorted_over_arrival",
          BenchEnv.round(rate.get("job_sorted_subset") / rate.get("job_arrival_subset")));
    }
    // runs during which other processes used under 10% of one core: the cores were ours
    List<Double> jobQuiet = undisturbed(seconds.get("job_sorted"), runsJson.get("job_sorted"));
    List<Double> loopQuiet = undisturbed(seconds.get("loop_sorted"), runsJson.get("loop_sorted"));
    ObjectNode quiet = json.putObject("undisturbed");
    quiet.put(
        "about",
        "per_core over the runs during which other processes used under 10% of one core"
            + " (runs[].other_processes_cpu_s)");
    quiet.put("job_runs", jobQuiet.size());
    quiet.put("loop_runs", loopQuiet.size());
    Double quietRatio = null;
    if (!jobQuiet.isEmpty() && !loopQuiet.isEmpty()) {
      quietRatio = BenchEnv.median(loopQuiet) / BenchEnv.median(jobQuiet) / cores;
      quiet.put("job_rows_per_s", Math.round(jobCounts.rows / BenchEnv.median(jobQuiet)));
      quiet.put("loop_rows_per_s", Math.round(loopCounts.rows / BenchEnv.median(loopQuiet)));
      quiet.put("per_core", BenchEnv.round(quietRatio));
      quiet.put("meets_goal", quietRatio >= GOAL);
    }
    ArrayNode notes = json.putArray("notes");
    notes.add(
        "Medians over the measured runs; rows/s = rows / median seconds; per core = ÷ N for the"
            + " job, ÷ 1 for the loop.");
    notes.add(
        "The job's seconds are ScoreJob.run's wall time: checks on the driver, Parquet read,"
            + " tagging (tokenize, window, sort, pad, forward, softmax, window merge, entity"
            + " decoding, Row building), Parquet write, _summary.json. The loop's texts are"
            + " collected before timing; it keeps the arg-max tags of each window and nothing"
            + " else.");
    notes.add(
        "Both sides: one libtorch intra-op thread (the job's tasks set spark.task.cpus = 1 per JVM;"
            + " the loop runs in the same JVM), the same tokenizer and windows (Windowing.ranges,"
            + " the tokenizer's special tokens), the same buffer of 64 batches sorted by length."
            + " The arrival-order comparison runs the job on every k-th row (subset_rows of them,"
            + " the same mix) with and without sorting.");
    notes.add(
        "The model is the demo's tiny XLM-R, randomly initialised, with the classifier's O bias"
            + " raised so that about "
            + TAGGED_SHARE
            + " of the tokens get an entity tag (a random model tags nearly all, and the job would"
            + " mostly write entities).");
    notes.add(
        "The machine is shared (2 cores): other_processes_cpu_s in each run says how much CPU"
            + " others took meanwhile; a busy neighbour takes a core from the 2-task job but not"
            + " from the 1-thread loop, which lowers the wall-clock ratio; cpu_efficiency does not"
            + " depend on it.");
    BenchEnv.writeJson(out, json);

    System.out.printf(
        Locale.ROOT,
        "%nscore-throughput (%d rows, %d tokens, local[%d], batch %d, %s, commit %s)%n",
        jobCounts.rows,
        jobCounts.tokens,
        cores,
        batch,
        BenchEnv.machine(env),
        env.path("commit").asText());
    for (Variant v : variants) {
      Counts c = counts.get(v.name());
      int perCore = v.spark() ? cores : 1;
      System.out.printf(
          Locale.ROOT,
          "  %-18s %8.0f rows/s %9.0f tokens/s  = %7.0f rows/s/core  (median %.2f s, spread %.0f%%,"
              + " %d rows)%n",
          v.name(),
          rate.get(v.name()),
          c.tokens * rate.get(v.name()) / c.rows,
          rate.get(v.name()) / perCore,
          BenchEnv.median(seconds.get(v.name())),
          results.path(v.name()).path("seconds").path("spread_pct").asDouble(),
          c.rows);
    }
    System.out.printf(
        Locale.ROOT,
        "  ratio job/loop per core: %.3f  (goal >= %.2f: %s); CPU efficiency %.3f%n",
        ratio,
        GOAL,
        ratio >= GOAL ? "met" : "NOT met",
        cpuEfficiency);
    System.out.printf(
        Locale.ROOT,
        "  undisturbed runs only (%d job, %d loop): ratio %s%n",
        jobQuiet.size(),
        loopQuiet.size(),
        quietRatio == null ? "n/a" : String.format(Locale.ROOT, "%.3f", quietRatio));
    if (arrivalRows > 0) {
      System.out.printf(
          Locale.ROOT,
          "  length-sorted batches vs arrival order (job): %.2fx%n",
          ratios.path("job_sorted_over_arrival").asDouble());
    }
    System.out.println("wrote " + out);
    loopManager.close();
    spark.stop();
  }

  /**
   * Share of tokens a benchmark model tags as part of an entity (Stockmark's gold has about 0.2, in
   * entities of 2–4 tokens).
   */
  static final double TAGGED_SHARE = 0.08;

  /**
   * The tiny XLM-R of the demo (conf/tiny-xlmr-config.json, the unigram test tokenizer, Stockmark's
   * 17 labels), randomly initialised, with the classifier's O bias raised until about {@link
   * #TAGGED_SHARE} of the tokens get another tag: a random model tags nearly every token (16 of 17
   * labels are not O), which would make the job write ~0.8 entities per token, ten times what a
   * trained model finds, and measure Parquet writes of entities rather than scoring.
   */
  static void calibratedTinyModel(
      Path root, Path init, Path model, List<String> sample, int batch, int maxLength, int stride)
      throws Exception {
    io.sparkner.cli.TestAccess.init(
        root.resolve("conf/tiny-xlmr-config.json").toString(),
        root.resolve("src/test/resources/tokenizers/unigram/tokenizer.json").toString(),
        String.join(",", STOCKMARK_LABELS),
        init.toString());
    Checkpoints.Weights w = Checkpoints.read(init, null, 0);
    Map<String, io.sparkner.model.SafeTensors.Tensor> tensors = new LinkedHashMap<>(w.tensors());
    io.sparkner.model.SafeTensors.Tensor bias = tensors.get("classifier.bias");
    double lo = 0;
    double hi = 10;
    double share = 1;
    try (TokenizerHandle tok = TokenizerHandle.load(init.resolve(Checkpoints.TOKENIZER))) {
      for (int i = 0; i < 14; i++) {
        double mid = (lo + hi) / 2;
        float[] b = bias.data().clone();
        b[0] = (float) mid;
        tensors.put(
            "classifier.bias", new io.sparkner.model.SafeTensors.Tensor(bias.shape(), b, "F32"));
        try (NDManager m = NDManager.newBaseManager()) {
          TokenClassificationModel candidate =
              Checkpoints.build(
                  new Checkpoints.Weights(w.config(), tensors, w.report()), m, DataType.FLOAT32);
          Counts c = new Loop(tok, candidate, batch, maxLength, stride).run(sample, true);
          share = (double) c.tagged / c.tokens;
        }
        if (share > TAGGED_SHARE) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
    }
    Checkpoints.write(w.config(), tensors, Checkpoints.local(model));
    Files.copy(init.resolve(Checkpoints.TOKENIZER), model.resolve(Checkpoints.TOKENIZER));
    log(
        "tiny model: O bias %.3f tags %.3f of the tokens of %d sample rows -> %s",
        (lo + hi) / 2, share, sample.size(), model);
  }

  /** What one run did ({@code tagged}: content tokens whose arg-max is not O; the loop only). */
  record Counts(long rows, long tokens, long windows, long entities, long tagged, long checksum) {}

  /**
   * One thing timed: the job or the loop, sorted or in arrival order, over all rows or the subset.
   */
  record Variant(String name, boolean spark, boolean sorted, boolean subset) {
    Counts run(Job job, Loop loop, Path input, List<String> texts) {
      return spark ? job.run(input, sorted) : loop.run(texts, sorted);
    }
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

  private static double min(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
  }

  /** The score job, as {@code sparkner score} runs it. */
  static final class Job {
    final SparkSession spark;
    final Path model;
    final Path work;
    final int batch;
    final int maxLength;
    final int stride;

    Job(SparkSession spark, Path model, Path work, int batch, int maxLength, int stride) {
      this.spark = spark;
      this.model = model;
      this.work = work;
      this.batch = batch;
      this.maxLength = maxLength;
      this.stride = stride;
    }

    Counts run(Path input, boolean sorted) {
      ScoreSummary s =
          ScoreJob.run(
              spark,
              new ScoreJob.Options(
                  model.toString(),
                  input.toString(),
                  TableFormat.PARQUET,
                  "text",
                  work.resolve("out").toString(),
                  TableFormat.PARQUET,
                  "entities",
                  batch,
                  maxLength,
                  stride,
                  1_000_000,
                  "auto",
                  0,
                  sorted,
                  true),
              QUIET);
      return new Counts(s.get("rows"), s.get("tokens"), s.get("windows"), s.get("entities"), 0, 0);
    }
  }

  /** The raw loop: tokenize, window, (sort,) pad, forward, arg-max; one thread. */
  static final class Loop {
    final TokenizerHandle tokenizer;
    final TokenClassificationModel model;
    final int batch;
    final int capacity;
    final int stride;
    final int[] prefix;
    final int[] suffix;

    Loop(
        TokenizerHandle tokenizer,
        TokenClassificationModel model,
        int batch,
        int maxLength,
        int stride) {
      this.tokenizer = tokenizer;
      this.model = model;
      this.batch = batch;
      this.capacity = maxLength - tokenizer.specialTokenCount();
      this.stride = stride;
      this.prefix = tokenizer.prefixIds();
      this.suffix = tokenizer.suffixIds();
    }

    Counts run(List<String> texts, boolean sorted) {
      long tokens = 0;
      long windows = 0;
      long[] acc = new long[2]; // checksum, tagged
      List<int[]> buffer = new ArrayList<>();
      for (String text : texts) {
        if (text == null || text.isEmpty()) {
          continue;
        }
        Tokenized t = tokenizer.tokenize(text);
        tokens += t.size();
        if (t.size() == 0) {
          continue;
        }
        for (int[] r : Windowing.ranges(t.size(), capacity, stride)) {
          int[] ids = new int[prefix.length + r[1] - r[0] + suffix.length];
          System.arraycopy(prefix, 0, ids, 0, prefix.length);
          System.arraycopy(t.ids(), r[0], ids, prefix.length, r[1] - r[0]);
          System.arraycopy(suffix, 0, ids, prefix.length + r[1] - r[0], suffix.length);
          buffer.add(ids);
          windows++;
        }
        if (buffer.size() >= 64 * batch) {
          flush(buffer, sorted, acc);
        }
      }
      flush(buffer, sorted, acc);
      return new Counts(texts.size(), tokens, windows, 0, acc[1], acc[0]);
    }

    private void flush(List<int[]> buffer, boolean sorted, long[] acc) {
      if (sorted) {
        buffer.sort((a, b) -> Integer.compare(a.length, b.length));
      }
      for (int from = 0; from < buffer.size(); from += batch) {
        List<int[]> part = buffer.subList(from, Math.min(buffer.size(), from + batch));
        int l = part.stream().mapToInt(a -> a.length).max().orElse(0);
        long[] ids = new long[part.size() * l];
        long[] mask = new long[part.size() * l];
        Arrays.fill(ids, model.config().padTokenId);
        for (int i = 0; i < part.size(); i++) {
          int[] w = part.get(i);
          for (int j = 0; j < w.length; j++) {
            ids[i * l + j] = w[j];
            mask[i * l + j] = 1;
          }
        }
        try (NDManager scope = model.manager().newSubManager();
            Autograd.Scope off = Autograd.paused()) {
          Shape shape = new Shape(part.size(), l);
          NDArray logits =
              model.logits(scope.create(ids, shape), scope.create(mask, shape), null, false);
          NDArray probabilities = logits.toType(DataType.FLOAT32, false).softmax(-1);
          long[] best = probabilities.argMax(-1).toLongArray();
          float[] p = probabilities.max(new int[] {-1}).toFloatArray();
          for (int i = 0; i < part.size(); i++) {
            for (int j = prefix.length; j < part.get(i).length - suffix.length; j++) {
              acc[0] += best[i * l + j];
              acc[1] += best[i * l + j] != 0 ? 1 : 0;
            }
          }
          acc[0] += p.length;
        }
      }
      buffer.clear();
    }
  }

  /**
   * The benchmark's sentences: the whole Stockmark corpus, then PAN-X (ja, zh, ko, en, de; train,
   * dev, test) in that order until {@code rows}, cycling if the corpora have fewer.
   */
  static List<String> texts(Path stockmark, Path panx, int rows, Map<String, Integer> composition) {
    List<CorpusInput> inputs = new ArrayList<>();
    inputs.add(CorpusInput.parse("stockmark:" + stockmark.toAbsolutePath()));
    for (String lang : PANX_LANGS) {
      inputs.add(CorpusInput.parse("panx:" + lang + ":" + panx.resolve(lang).toAbsolutePath()));
    }
    Configuration conf = new Configuration();
    List<String> all = new ArrayList<>();
    List<String> source = new ArrayList<>();
    for (SourceFile f : CorpusReaders.files(inputs, conf)) {
      Iterator<ReadResult> it = CorpusReaders.read(f, conf, ReadOptions.defaults());
      while (it.hasNext()) {
        if (it.next() instanceof Document d) {
          all.add(d.text());
          source.add(
              f.kind() + (f.lang() == null || f.kind().equals("stockmark") ? "" : ":" + f.lang()));
        }
      }
    }
    List<String> out = new ArrayList<>(rows);
    for (int i = 0; out.size() < rows; i = (i + 1) % all.size()) {
      out.add(all.get(i));
      composition.merge(source.get(i), 1, Integer::sum);
    }
    return out;
  }

  /** Writes the texts as Parquet (id, text) in {@code files} files, unless already there. */
  static void writeTable(SparkSession spark, List<String> texts, Path dir, int files) {
    if (Files.exists(dir.resolve("_SUCCESS"))
        && spark.read().parquet(dir.toString()).count() == texts.size()) {
      return;
    }
    List<Row> rows = new ArrayList<>(texts.size());
    for (int i = 0; i < texts.size(); i++) {
      rows.add(RowFactory.create((long) i, texts.get(i)));
    }
    StructType schema =
        new StructType().add("id", DataTypes.LongType).add("text", DataTypes.StringType);
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    // round robin: every file (task) holds the same mix of corpora, so the tasks take about as long
    df.repartition(files).write().mode("overwrite").parquet(dir.toString());
  }

  private static List<Double> field(ArrayNode runs, String name) {
    List<Double> out = new ArrayList<>();
    runs.forEach(r -> out.add(r.path(name).asDouble()));
    return out;
  }

  static void log(String fmt, Object... args) {
    System.err.printf(Locale.ROOT, "[bench] " + fmt + "%n", args);
  }
}
