package io.sparkner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * Training throughput of N = 2 data-parallel replicas × 1 intra-op thread against 1 replica × 1
 * thread, through the real distributed path ({@link TrainJob#run}: a Spark barrier stage on {@code
 * local[2,4]} with {@code spark.task.cpus=1}, an authenticated TCP ring on 127.0.0.1), on the tiny
 * XLM-R-shaped model and on a BERT-base-shaped model of reduced depth (hidden 768, 12 heads,
 * intermediate 3072, 2 layers, vocab 21128). By default every replica trains the same micro batch
 * ({@code --micro-batch}, 16), so N replicas train a global batch N times larger: the usual way
 * data-parallel throughput scaling is measured (Horovod, DeepSpeed, DDP: {@code
 * per_device_train_batch_size} fixed, devices added). {@code --global-batch G} instead keeps the
 * global batch fixed and splits it (micro batch G/N: strong scaling, where the per-step exchange of
 * 2Ψ is amortised over half the compute). A fixed number of steps, a log line per step; the figure
 * is steady-state tokens/s (summed non-pad tokens ÷ summed step seconds of rank 0 over the steps
 * after the warm-up steps, from {@code metrics.jsonl}), median over interleaved rounds, and the
 * speed-up median(N=2)/median(N=1). Goal ≥ 1.8.
 *
 * <p>In local mode both replicas are threads of this one JVM, and libtorch's intra-op thread count
 * is per process: each barrier task sets it to {@code spark.task.cpus} = 1 and the 1-replica run
 * (which trains on the driver thread) sets it to 1 here, so in both cases every replica computes on
 * one thread.
 *
 * <p>{@code bench/run replica-scaling [--models tiny,base] [--rounds 3] [--tiny-steps 30]
 * [--base-steps 8] [--tiny-warmup 5] [--base-warmup 2] [--micro-batch 16 | --global-batch G]
 * [--group-by-length] [--ceiling] [--zero 0] [--corpus PATH] [--work DIR] [--out FILE] [--git-dir
 * DIR]}. Writes {@code bench/results/replica-scaling.json}.
 */
public final class ReplicaScalingBench {
  static final double GOAL = 1.8;
  static final List<String> STOCKMARK_TYPES =
      List.of("PER", "ORG", "ORG-P", "ORG-O", "LOC", "INS", "PRD", "EVT");

  private ReplicaScalingBench() {}

  /**
   * How the batch grows with N: {@code global > 0} keeps the global batch and splits it (strong
   * scaling), otherwise every replica trains {@code micro} windows per step (weak scaling).
   */
  record Batching(int micro, int global, boolean groupByLength) {
    int microFor(int n) {
      if (global > 0 && global % n != 0) {
        throw new IllegalArgumentException(
            "--global-batch " + global + " is not divisible by " + n + " replicas");
      }
      return global > 0 ? global / n : micro;
    }

    int globalFor(int n) {
      return microFor(n) * n;
    }

    String describe() {
      return (global > 0
              ? "global batch "
                  + global
                  + " for every N (micro batch "
                  + global
                  + "/N: strong scaling)"
              : "micro batch "
                  + micro
                  + " per replica for every N (global batch "
                  + micro
                  + "·N: weak scaling)")
          + (groupByLength ? ", group_by_length" : "");
    }
  }

  /**
   * A model of the benchmark: its config, the tokenizer it is prepared with, steps and warm-up
   * steps.
   */
  record Spec(String name, Path config, Path tokenizer, int steps, int warmup) {}

  /**
   * The BERT-base-shaped, reduced-depth config (vocab_size is replaced by the tokenizer's at init).
   */
  static final String BASE_CONFIG =
      """
      {
        "model_type": "bert",
        "architectures": ["BertForTokenClassification"],
        "vocab_size": 21128,
        "hidden_size": 768,
        "num_hidden_layers": 2,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "position_embedding_type": "absolute"
      }
      """;

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()))
            .toAbsolutePath()
            .normalize();
    List<String> models = List.of("tiny", "base");
    int rounds = 3;
    int tinySteps = 30;
    int baseSteps = 8;
    int tinyWarmup = 5;
    int baseWarmup = 2;
    int microBatch = 16; // per replica, for every N (weak scaling), unless --global-batch is given
    int globalBatch =
        0; // > 0: the same global batch for every N, split over the replicas (strong scaling)
    List<Integer> zeros = List.of(0);
    boolean groupByLength = false;
    boolean ceiling = false;
    Path corpus = shared.resolve("data/stockmark/ner.json");
    Path work = root.resolve("bench/work/replica-scaling");
    Path out = root.resolve("bench/results/replica-scaling.json");
    String gitDir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--models" -> models = List.of(args[++i].split(","));
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--tiny-steps" -> tinySteps = Integer.parseInt(args[++i]);
        case "--base-steps" -> baseSteps = Integer.parseInt(args[++i]);
        case "--tiny-warmup" -> tinyWarmup = Integer.parseInt(args[++i]);
        case "--base-warmup" -> baseWarmup = Integer.parseInt(args[++i]);
        case "--global-batch" -> globalBatch = Integer.parseInt(args[++i]);
        case "--micro-batch" -> microBatch = Integer.parseInt(args[++i]);
        case "--group-by-length" -> groupByLength = true;
        case "--ceiling" -> ceiling = true;
        case "--zero" -> zeros = Stream.of(args[++i].split(",")).map(Integer::parseInt).toList();
        case "--corpus" -> corpus = Path.of(args[++i]);
        case "--work" -> work = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "--git-dir" -> gitDir = args[++i];
        default -> {
          System.err.println(
              "replica-scaling: unknown option "
                  + args[i]
                  + "; options: --models tiny,base --rounds 3 --tiny-steps 30 --base-steps 8"
                  + " --tiny-warmup 5 --base-warmup 2 --micro-batch 16 | --global-batch G"
                  + " --group-by-length --ceiling --zero 0[,1,2] --corpus PATH --work DIR --out"
                  + " FILE --git-dir DIR");
          System.exit(2);
        }
      }
    }
    if (!Files.isRegularFile(corpus)) {
      System.err.println(
          "replica-scaling: "
              + corpus
              + " is missing (the shared Stockmark corpus; set SPARKNER_SHARED or --corpus)");
      System.exit(1);
    }
    Path bgeTokenizer = shared.resolve("models/bge-small-zh-v1.5/tokenizer.json");
    Path unigram = root.resolve("src/test/resources/tokenizers/unigram/tokenizer.json");
    work = work.toAbsolutePath().normalize();
    Files.createDirectories(work);
    Path baseConfig = work.resolve("bert-base-2l-config.json");
    Files.writeString(baseConfig, BASE_CONFIG, StandardCharsets.UTF_8);

    Map<String, Spec> specs = new LinkedHashMap<>();
    specs.put(
        "tiny",
        new Spec(
            "tiny", root.resolve("conf/tiny-xlmr-config.json"), unigram, tinySteps, tinyWarmup));
    specs.put("base", new Spec("base", baseConfig, bgeTokenizer, baseSteps, baseWarmup));

    Engine.getInstance();
    try (NDManager warm = NDManager.newBaseManager()) {
      warm.ones(new ai.djl.ndarray.types.Shape(1)); // load libtorch before any JniUtils call
    }
    int defaultThreads = JniUtils.getNumThreads();

    SparkSession spark =
        SparkSession.builder()
            .master("local[2,4]")
            .appName("sparkner bench replica-scaling")
            .config("spark.task.cpus", 1)
            .config("spark.ui.enabled", false)
            .config("spark.sql.shuffle.partitions", 4)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    ObjectNode result = BenchEnv.JSON.createObjectNode();
    result.put("benchmark", "replica-scaling");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    result.set("env", env);
    ObjectNode cfg = result.putObject("config");
    cfg.put("master", "local[2,4]");
    cfg.put("spark.task.cpus", 1);
    cfg.put("intra_op_threads_per_replica", 1);
    cfg.put("libtorch_default_threads", defaultThreads);
    cfg.put(
        "threads_note",
        "local mode: the N replicas are threads of this one JVM and libtorch's intra-op thread"
            + " count is per process; every barrier task sets it to spark.task.cpus = 1, the"
            + " 1-replica run (on the driver thread) sets it to 1 before it starts");
    cfg.put("corpus", corpus.toString());
    Batching batching = new Batching(microBatch, globalBatch, groupByLength);
    cfg.put("batching", batching.describe());
    cfg.put("scaling", globalBatch > 0 ? "strong" : "weak");
    cfg.put("group_by_length", groupByLength);
    cfg.put("global_batch_n1", batching.globalFor(1));
    cfg.put("global_batch_n2", batching.globalFor(2));
    cfg.put("rounds", rounds);
    ArrayNode zs0 = cfg.putArray("zero_stages_for_n2");
    zeros.forEach(zs0::add);
    cfg.put(
        "figure",
        "steady-state tokens/s = sum of non-pad tokens / sum of rank-0 step seconds over steps >"
            + " warmup (metrics.jsonl, logging_steps 1); speed-up = median tokens/s (N=2) / median"
            + " tokens/s (N=1)");
    cfg.put("order", "rounds alternate: even rounds N=1 first, odd rounds N=2 first");
    cfg.put(
        "padding_note",
        globalBatch > 0
            ? "each micro-batch is padded to its longest window: N=1 pads over "
                + batching.microFor(1)
                + " windows, N=2 over "
                + batching.microFor(2)
                + ", so N=2 computes slightly fewer padded positions; tokens counted are non-pad"
                + " tokens"
            : "each micro-batch is padded to its longest window, "
                + microBatch
                + " windows for every N: a step of N=2 lasts as long as its slower rank, so padding"
                + " does not favour N=2; tokens counted are non-pad tokens");
    ObjectNode modelsNode = result.putObject("models");

    List<String> summary = new ArrayList<>();
    for (String m : models) {
      Spec spec = specs.get(m);
      if (spec == null) {
        throw new IllegalArgumentException("unknown model " + m + " (tiny or base)");
      }
      String tokName = spec.tokenizer().equals(unigram) ? "unigram" : "bge";
      Path prepared = work.resolve("prepared-" + tokName);
      if (!Files.isRegularFile(prepared.resolve("summary.json"))) {
        log("preparing %s with %s into %s", corpus, spec.tokenizer(), prepared);
        PrepareJob.run(
            spark,
            new PrepareOptions(
                List.of(CorpusInput.parse("stockmark:" + corpus.toUri())),
                spec.tokenizer().toString(),
                prepared.toString(),
                ReadOptions.defaults(),
                LabelScheme.IOB2,
                AlignOptions.defaults(),
                true));
      } else {
        log("reusing %s", prepared);
      }
      Path modelDir = work.resolve("model-" + m);
      if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
        log("init %s from %s", modelDir, spec.config());
        io.sparkner.cli.TestAccess.init(
            spec.config().toString(),
            spec.tokenizer().toString(),
            prepared.resolve("labels.json").toString(),
            modelDir.toString());
      }
      long psi =
          parameterCount(
              modelDir,
              Labels.fromJson(Files.readString(prepared.resolve("labels.json"))).labels());
      ObjectNode mn = modelsNode.putObject(m);
      mn.put("config", Files.readString(modelDir.resolve("config.json")).replaceAll("\\s+", " "));
      mn.put("parameters", psi);
      mn.put("prepared", prepared.toString());
      mn.put("max_steps", spec.steps());
      mn.put("warmup_steps_excluded", spec.warmup());
      log(
          "%s: %,d parameters, %d steps (first %d excluded), %s",
          m, psi, spec.steps(), spec.warmup(), batching.describe());

      List<String> variants = new ArrayList<>();
      variants.add("n1");
      for (int zs : zeros) {
        variants.add("n2-zero" + zs);
      }
      if (ceiling) {
        variants.add(ALONE);
      }
      Map<String, List<Double>> tps = new LinkedHashMap<>();
      Map<String, ArrayNode> runs = new LinkedHashMap<>();
      for (String v : variants) {
        tps.put(v, new ArrayList<>());
        runs.put(v, BenchEnv.JSON.createArrayNode());
      }
      List<List<Double>> perRoundRatios = new ArrayList<>();
      for (int z = 0; z < zeros.size(); z++) {
        perRoundRatios.add(new ArrayList<>());
      }
      for (int round = 0; round < rounds; round++) {
        List<String> order = new ArrayList<>(variants);
        if (round % 2 == 1) {
          java.util.Collections.reverse(order);
        }
        Map<String, Double> thisRound = new LinkedHashMap<>();
        for (String v : order) {
          int n = v.equals("n1") ? 1 : 2;
          int zs = v.startsWith("n2-zero") ? Integer.parseInt(v.substring("n2-zero".length())) : 0;
          ObjectNode run =
              v.equals(ALONE)
                  ? twoAlone(spark, spec, prepared, modelDir, work, batching, round)
                  : trainOnce(spark, spec, prepared, modelDir, work, n, zs, batching, round, "");
          runs.get(v).add(run);
          double t = run.path("steady_tokens_per_second").asDouble();
          tps.get(v).add(t);
          thisRound.put(v, t);
          log(
              "%s %s round %d: %.1f tokens/s steady (median step %.3f s; steady window %.1f s wall,"
                  + " %.0f tokens/wall s, %.0f tokens/JVM CPU s, other processes %.2f cores), whole"
                  + " run %.1f s",
              m,
              v,
              round,
              t,
              run.path("step_seconds").path("median").asDouble(),
              run.path("steady_window").path("seconds").asDouble(),
              run.path("steady_window").path("tokens_per_wall_second").asDouble(),
              run.path("steady_window").path("tokens_per_jvm_cpu_second").asDouble(),
              run.path("steady_window").path("other_processes_cores").asDouble(),
              run.path("cpu").path("seconds").asDouble());
          log("  per step: %s", run.path("steady_breakdown_seconds_per_step"));
        }
        for (int zi = 0; zi < zeros.size(); zi++) {
          perRoundRatios
              .get(zi)
              .add(thisRound.get("n2-zero" + zeros.get(zi)) / thisRound.get("n1"));
        }
      }
      ObjectNode vn = mn.putObject("variants");
      for (String v : variants) {
        ObjectNode x = vn.putObject(v);
        x.put("replicas", v.equals("n1") ? 1 : 2);
        int n = v.equals("n1") ? 1 : 2;
        if (v.equals(ALONE)) {
          x.put(
              "about",
              "two independent 1-replica trainings at once (threads of this JVM, 1 intra-op thread"
                  + " each), each with the N=2 micro batch: what N=2 would reach if exchanging"
                  + " gradients and waiting for each other cost nothing; tokens/s is the sum of the"
                  + " two");
        }
        x.put("per_replica_micro_batch", batching.microFor(n));
        x.put("global_batch", batching.globalFor(n));
        x.set("tokens_per_second", BenchEnv.stats(tps.get(v)));
        x.set("runs", runs.get(v));
      }
      ObjectNode sp = mn.putObject("speedup");
      for (int zi = 0; zi < zeros.size(); zi++) {
        String v = "n2-zero" + zeros.get(zi);
        double ratio = BenchEnv.median(tps.get(v)) / BenchEnv.median(tps.get("n1"));
        ObjectNode s = sp.putObject(v);
        s.put("ratio_of_medians", BenchEnv.round(ratio));
        s.set("per_round_ratio", BenchEnv.stats(perRoundRatios.get(zi)));
        s.put(
            "wall_ratio_of_medians_steady_window",
            BenchEnv.round(
                medianOf(runs.get(v), "tokens_per_wall_second")
                    / medianOf(runs.get("n1"), "tokens_per_wall_second")));
        s.put(
            "cpu_efficiency",
            BenchEnv.round(
                medianOf(runs.get(v), "tokens_per_jvm_cpu_second")
                    / medianOf(runs.get("n1"), "tokens_per_jvm_cpu_second")));
        s.put(
            "cpu_efficiency_note",
            "tokens per CPU second of this JVM in the steady window, N=2 over N=1: ×2 is the"
                + " speed-up two otherwise idle cores would give; insensitive to the neighbours");
        s.put("goal", GOAL);
        s.put("met", ratio >= GOAL);
        summary.add(
            String.format(
                Locale.ROOT,
                "%s: N=1 %.0f tokens/s, N=2 ZeRO %d %.0f tokens/s, speed-up %.2f (per round %s)",
                m,
                BenchEnv.median(tps.get("n1")),
                zeros.get(zi),
                BenchEnv.median(tps.get(v)),
                ratio,
                perRoundRatios.get(zi)));
      }
      if (ceiling) {
        ObjectNode c = sp.putObject(ALONE);
        c.put(
            "ratio_of_medians",
            BenchEnv.round(BenchEnv.median(tps.get(ALONE)) / BenchEnv.median(tps.get("n1"))));
        c.put(
            "about", "the ceiling of N=2 on this machine: two independent replicas at once ÷ N=1");
        summary.add(
            String.format(
                Locale.ROOT,
                "%s: two independent replicas at once %.0f tokens/s = %.2f × N=1 (the ceiling)",
                m,
                BenchEnv.median(tps.get(ALONE)),
                BenchEnv.median(tps.get(ALONE)) / BenchEnv.median(tps.get("n1"))));
      }
      BenchEnv.writeJson(out, result); // partial results survive a later failure
    }
    BenchEnv.writeJson(out, result);
    summary.forEach(System.out::println);
    System.out.println("wrote " + out);
    spark.stop();
    // a barrier job leaves Spark's non-daemon "Barrier task timer" thread behind: without this the
    // JVM (and its memory) would stay after the benchmark, as the CLI's does not (see Main)
    System.exit(0);
  }

  private static double medianOf(ArrayNode runs, String field) {
    List<Double> v = new ArrayList<>();
    runs.forEach(
        r -> {
          if (r.path("steady_window").has(field)) {
            v.add(r.path("steady_window").path(field).asDouble());
          }
        });
    return v.isEmpty() ? Double.NaN : BenchEnv.median(v);
  }

  static final String ALONE = "2x-n1-alone";

  /**
   * Two 1-replica trainings at once on two threads, each training the N=2 micro batch alone: the
   * tokens/s two replicas reach on this machine with no exchange and no waiting between them.
   */
  static ObjectNode twoAlone(
      SparkSession spark,
      Spec spec,
      Path prepared,
      Path modelDir,
      Path work,
      Batching batching,
      int round)
      throws Exception {
    Batching half = new Batching(batching.microFor(2), 0, batching.groupByLength());
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<ObjectNode>> fs = new ArrayList<>();
      for (String tag : List.of("-a", "-b")) {
        fs.add(
            pool.submit(
                () -> trainOnce(spark, spec, prepared, modelDir, work, 1, 0, half, round, tag)));
      }
      ObjectNode a = fs.get(0).get();
      ObjectNode b = fs.get(1).get();
      ObjectNode run = BenchEnv.JSON.createObjectNode();
      run.put("round", round);
      run.put(
          "steady_tokens_per_second",
          BenchEnv.round(
              a.path("steady_tokens_per_second").asDouble()
                  + b.path("steady_tokens_per_second").asDouble()));
      run.set("step_seconds", a.path("step_seconds"));
      run.set("steady_breakdown_seconds_per_step", a.path("steady_breakdown_seconds_per_step"));
      run.set("a", a);
      run.set("b", b);
      return run;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * One TrainJob.run in a fresh output directory; its steady-state throughput from metrics.jsonl.
   */
  static ObjectNode trainOnce(
      SparkSession spark,
      Spec spec,
      Path prepared,
      Path modelDir,
      Path work,
      int n,
      int zero,
      Batching batching,
      int round,
      String tag)
      throws IOException {
    Path output =
        work.resolve("runs/" + spec.name() + "-n" + n + "-zero" + zero + "-r" + round + tag);
    deleteTree(output);
    List<String> set =
        List.of(
            "per_device_train_batch_size=" + batching.microFor(n),
            "max_steps=" + spec.steps(),
            "logging_steps=1",
            "save_steps=1000000",
            "eval_strategy=no",
            "seed=42",
            "zero_stage=" + zero,
            "group_by_length=" + batching.groupByLength());
    if (n == 1) {
      JniUtils.setNumThreads(1); // the 1-replica run trains on this (driver) thread
    }
    StepSampler sampler = new StepSampler(output.resolve("metrics.jsonl"));
    sampler.start();
    BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
    TrainJob.Result r;
    try {
      r =
          TrainJob.run(
              spark,
              TrainJob.Options.builder(prepared.toString(), modelDir.toString(), output.toString())
                  .overrides(set)
                  .replicas(n)
                  .build(),
              System.out);
    } finally {
      sampler.stop();
    }
    BenchEnv.Cpu c1 = BenchEnv.Cpu.now();
    if (r.config().globalBatch() != batching.globalFor(n)) {
      throw new IllegalStateException(
          "global batch " + r.config().globalBatch() + " != " + batching.globalFor(n));
    }
    ObjectNode run = BenchEnv.JSON.createObjectNode();
    run.put("round", round);
    run.put("replicas", n);
    run.put("zero_stage", zero);
    run.put("steps", r.steps());
    run.put("intra_op_threads_after", JniUtils.getNumThreads());
    List<Double> stepSeconds = new ArrayList<>();
    List<Double> stepTps = new ArrayList<>();
    double tokens = 0;
    double seconds = 0;
    Map<String, Double> phases = new LinkedHashMap<>();
    ArrayNode steps = run.putArray("per_step");
    for (String line : Files.readAllLines(output.resolve("metrics.jsonl"))) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode j = BenchEnv.JSON.readTree(line);
      if (!j.has("tokens_per_second")) {
        continue;
      }
      long step = j.path("step").asLong();
      double s = j.path("step_seconds").asDouble();
      double t = j.path("tokens_per_second").asDouble();
      ObjectNode ps = steps.addObject();
      ps.put("step", step);
      ps.put("step_seconds", s);
      ps.put("tokens_per_second", t);
      ps.put("loss", BenchEnv.round(j.path("loss").asDouble()));
      ps.set("breakdown_seconds", j.path("breakdown_seconds"));
      if (step > spec.warmup()) {
        j.path("breakdown_seconds")
            .fields()
            .forEachRemaining(e -> phases.merge(e.getKey(), e.getValue().asDouble(), Double::sum));
        stepSeconds.add(s);
        stepTps.add(t);
        tokens += t * s;
        seconds += s;
      }
    }
    run.put("steady_steps", stepSeconds.size());
    run.put("steady_tokens", Math.round(tokens));
    run.put("steady_seconds", BenchEnv.round(seconds));
    run.put("steady_tokens_per_second", BenchEnv.round(tokens / seconds));
    run.set("step_seconds", BenchEnv.stats(stepSeconds));
    ObjectNode mean =
        run.putObject("steady_breakdown_seconds_per_step"); // rank 0's, see Trainer.Breakdown
    phases.forEach((k, v) -> mean.put(k, BenchEnv.round(v / Math.max(1, stepSeconds.size()))));
    run.set("step_tokens_per_second", BenchEnv.stats(stepTps));
    // the steady window as seen from outside: from the moment metrics.jsonl had `warmup` step lines
    // to the moment it had all of them (polled every 5 ms); wall, this JVM's CPU, other processes'
    // CPU
    BenchEnv.Cpu w0 = sampler.at(spec.warmup());
    BenchEnv.Cpu w1 = sampler.at(spec.steps());
    if (w0 != null && w1 != null) {
      ObjectNode w = w1.since(w0);
      w.put("tokens_per_wall_second", BenchEnv.round(tokens / w1.secondsSince(w0)));
      w.put("tokens_per_jvm_cpu_second", BenchEnv.round(tokens / w.path("jvm_cpu_s").asDouble()));
      w.put(
          "other_processes_cores",
          BenchEnv.round(w.path("other_processes_cpu_s").asDouble() / w1.secondsSince(w0)));
      run.set("steady_window", w);
    }
    ArrayNode ranks = run.putArray("ranks");
    r.ranks().forEach(o -> ranks.add(BenchEnv.JSON.valueToTree(o)));
    run.set("cpu", c1.since(c0));
    deleteTree(output); // checkpoints of the base-shaped model are ~0.5 GB
    return run;
  }

  /**
   * Polls metrics.jsonl (rank 0 rewrites it after every step, logging_steps 1) and records the CPU
   * accounting at the moment each new step line first appears.
   */
  static final class StepSampler {
    private final Path file;
    private final Map<Integer, BenchEnv.Cpu> seen = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean running = true;
    private Thread thread;

    StepSampler(Path file) {
      this.file = file;
    }

    void start() {
      thread =
          new Thread(
              () -> {
                int last = 0;
                while (running) {
                  try {
                    if (Files.isRegularFile(file)) {
                      byte[] b = Files.readAllBytes(file);
                      int lines = 0;
                      for (byte x : b) {
                        lines += x == '\n' ? 1 : 0;
                      }
                      if (lines > last) {
                        BenchEnv.Cpu now = BenchEnv.Cpu.now();
                        for (int k = last + 1; k <= lines; k++) {
                          seen.putIfAbsent(k, now);
                        }
                        last = lines;
                      }
                    }
                    Thread.sleep(5);
                  } catch (InterruptedException e) {
                    return;
                  } catch (IOException | RuntimeException e) {
                    // a file being rewritten: look again
                  }
                }
              },
              "bench-step-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() {
      running = false;
      thread.interrupt();
    }

    /** CPU accounting when the file first had this many lines, or null. */
    BenchEnv.Cpu at(int lines) {
      return seen.get(lines);
    }
  }

  /** Ψ as the trainer sees it: the parameter shapes of the model with the data's labels. */
  static long parameterCount(Path modelDir, List<String> labels) throws IOException {
    ModelConfig cfg =
        ModelConfig.parse(Files.readString(modelDir.resolve("config.json")), modelDir.toString())
            .withLabels(labels);
    try (NDManager m = NDManager.newBaseManager()) {
      long total = 0;
      for (long[] shape : new TokenClassificationModel(cfg, m).parameterShapes().values()) {
        long k = 1;
        for (long d : shape) {
          k *= d;
        }
        total += k;
      }
      return total;
    }
  }

  /** The Stockmark IOB2 label list (what prepare writes for that corpus). */
  static List<String> stockmarkLabels() {
    return new Labels(LabelScheme.IOB2, STOCKMARK_TYPES).labels();
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }

  static void log(String fmt, Object... args) {
    System.out.printf(Locale.ROOT, "[replica-scaling] " + fmt + "%n", args);
  }
}
