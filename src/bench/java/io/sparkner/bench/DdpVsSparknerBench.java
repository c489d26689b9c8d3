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
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * Data-parallel training throughput of sparkner against PyTorch DistributedDataParallel, the peer a
 * PyTorch user would pick, on the same BERT-base-shaped model, the same windows in the same global
 * batches, the same steps. sparkner: {@code TrainJob.run} with {@code --replicas 2} (a Spark
 * barrier stage on {@code local[2,4]}, {@code spark.task.cpus=1}, one libtorch thread per replica,
 * the authenticated TCP ring) and {@code --replicas 1}, exactly as {@link ReplicaScalingBench} runs
 * them ({@link ReplicaScalingBench#trainOnce}). PyTorch: {@code tools/reference/ddp_reference.py
 * train}, N processes × {@code torch.set_num_threads(1)}, {@code init_process_group("gloo")},
 * {@code DistributedDataParallel}, {@code DistributedSampler}, {@code torch.optim.AdamW} (HF
 * Trainer's groups and linear schedule), clipping 1.0; N = 1 is one process without DDP, as HF's
 * Trainer runs it.
 *
 * <p>Both sides train the Stockmark training windows prepared with the bge-small-zh tokenizer
 * (exported once to JSON lines for Python, {@link ExportWindows}), starting from the same
 * checkpoint, in sparkner's epoch order, global batch {@code --global-batch} split over N: step by
 * step every rank trains the same micro batch on both sides (DistributedSampler's deal is {@code
 * DataOrder.share}); the benchmark checks that the non-pad tokens of every step agree. Figure:
 * steady-state tokens/s (non-pad tokens ÷ rank 0's step seconds, over the steps after {@code
 * --warmup}), median over interleaved rounds; ratio sparkner ÷ DDP for N = 1 and N = 2 (goal ≥
 * 1.0), and each side's N = 2 ÷ N = 1.
 *
 * <p>{@code bench/run ddp-vs-sparkner [--rounds 3] [--steps 8] [--warmup 2] [--global-batch 16]
 * [--layers 2] [--zero 0,2] [--python /usr/bin/python3] [--corpus PATH] [--work DIR] [--out FILE]
 * [--git-dir DIR]}. Writes {@code bench/results/ddp-vs-sparkner.json}.
 */
public final class DdpVsSparknerBench {
  static final double GOAL = 1.0;

  /** Python processes started and not yet ended: killed (with their children) on the way out. */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  private DdpVsSparknerBench() {}

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()))
            .toAbsolutePath()
            .normalize();
    int rounds = 3;
    int steps = 8;
    int warmup = 2;
    int globalBatch = 16;
    int layers = 2;
    List<Integer> zeros = List.of(0, 2);
    String python = "/usr/bin/python3";
    Path corpus = shared.resolve("data/stockmark/ner.json");
    Path work = root.resolve("bench/work/ddp-vs-sparkner");
    Path out = root.resolve("bench/results/ddp-vs-sparkner.json");
    String gitDir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--rounds" -> rounds = positive(args, ++i);
        case "--steps" -> steps = positive(args, ++i);
        case "--warmup" -> warmup = whole(args, ++i, 0);
        case "--global-batch" -> globalBatch = positive(args, ++i);
        case "--layers" -> layers = positive(args, ++i);
        case "--zero" ->
            zeros = Stream.of(value(args, ++i).split(",")).map(DdpVsSparknerBench::zero).toList();
        case "--python" -> python = value(args, ++i);
        case "--corpus" -> corpus = Path.of(value(args, ++i));
        case "--work" -> work = Path.of(value(args, ++i));
        case "--out" -> out = Path.of(value(args, ++i));
        case "--git-dir" -> gitDir = value(args, ++i);
        default -> usage("unknown option " + args[i]);
      }
    }
    if (globalBatch % 2 != 0) {
      usage("--global-batch " + globalBatch + " must be even (it is split over 2 processes)");
    }
    if (zeros.isEmpty() || zeros.get(0) != 0 || zeros.stream().anyMatch(z -> z < 0 || z > 2)) {
      usage("--zero must start with 0 (the figure) and hold stages 0, 1 or 2, e.g. 0,2");
    }
    if (!Files.isRegularFile(corpus)) {
      System.err.println(
          "ddp-vs-sparkner: "
              + corpus
              + " is missing (the shared Stockmark corpus; set SPARKNER_SHARED or --corpus)");
      System.exit(1);
    }
    Path script = root.resolve("tools/reference/ddp_reference.py");
    Runtime.getRuntime().addShutdownHook(new Thread(DdpVsSparknerBench::killAll, "bench-kill"));

    Path bgeTokenizer = shared.resolve("models/bge-small-zh-v1.5/tokenizer.json");
    work = work.toAbsolutePath().normalize();
    Files.createDirectories(work);
    Path baseConfig = work.resolve("bert-base-" + layers + "l-config.json");
    Files.writeString(
        baseConfig,
        ReplicaScalingBench.BASE_CONFIG.replace(
            "\"num_hidden_layers\": 2,", "\"num_hidden_layers\": " + layers + ","),
        StandardCharsets.UTF_8);
    ReplicaScalingBench.Spec spec =
        new ReplicaScalingBench.Spec(
            "base-" + layers + "l", baseConfig, bgeTokenizer, warmup + steps, warmup);
    ReplicaScalingBench.Batching batching = new ReplicaScalingBench.Batching(0, globalBatch, false);

    Engine.getInstance();
    try (NDManager warm = NDManager.newBaseManager()) {
      warm.ones(new ai.djl.ndarray.types.Shape(1)); // load libtorch before any JniUtils call
    }
    int defaultThreads = JniUtils.getNumThreads();
    SparkSession spark =
        SparkSession.builder()
            .master("local[2,4]")
            .appName("sparkner bench ddp-vs-sparkner")
            .config("spark.task.cpus", 1)
            .config("spark.ui.enabled", false)
            .config("spark.sql.shuffle.partitions", 4)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    Path prepared = work.resolve("prepared-bge");
    if (!Files.isRegularFile(prepared.resolve("summary.json"))) {
      log("preparing %s with %s into %s", corpus, bgeTokenizer, prepared);
      PrepareJob.run(
          spark,
          new PrepareOptions(
              List.of(CorpusInput.parse("stockmark:" + corpus.toUri())),
              bgeTokenizer.toString(),
              prepared.toString(),
              ReadOptions.defaults(),
              LabelScheme.IOB2,
              AlignOptions.defaults(),
              true));
    }
    Path windows = work.resolve("windows");
    if (!Files.isRegularFile(windows.resolve("windows-train.jsonl"))) {
      log("exporting the training windows to %s", windows);
      ExportWindows.export(spark, prepared.toString(), windows, List.of("train"));
    }
    Path modelDir = work.resolve("model-" + spec.name());
    if (!Files.isRegularFile(modelDir.resolve("model.safetensors"))) {
      log("init %s from %s", modelDir, baseConfig);
      io.sparkner.cli.TestAccess.init(
          baseConfig.toString(),
          bgeTokenizer.toString(),
          prepared.resolve("labels.json").toString(),
          modelDir.toString());
    }
    long psi =
        ReplicaScalingBench.parameterCount(
            modelDir, Labels.fromJson(Files.readString(prepared.resolve("labels.json"))).labels());

    ObjectNode result = BenchEnv.JSON.createObjectNode();
    result.put("benchmark", "ddp-vs-sparkner");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    result.set("env", env);
    ObjectNode cfg = result.putObject("config");
    cfg.put("model", Files.readString(modelDir.resolve("config.json")).replaceAll("\\s+", " "));
    cfg.put("checkpoint", modelDir.toString());
    cfg.put("parameters", psi);
    cfg.put("layers", layers);
    cfg.put("corpus", corpus.toString());
    cfg.put("prepared", prepared.toString());
    cfg.put("global_batch", globalBatch);
    cfg.put("micro_batch_n1", globalBatch);
    cfg.put("micro_batch_n2", globalBatch / 2);
    cfg.put("steps_per_run", warmup + steps);
    cfg.put("warmup_steps_excluded", warmup);
    cfg.put("steady_steps", steps);
    cfg.put("rounds", rounds);
    cfg.put("libtorch_default_threads", defaultThreads);
    cfg.put(
        "sparkner",
        "TrainJob.run on local[2,4], spark.task.cpus=1, 1 libtorch intra-op thread per replica;"
            + " --replicas 1 trains on the driver thread; per_device_train_batch_size = global/N,"
            + " lr 5e-5 linear decay without warm-up, weight decay 0 (TrainingArguments defaults,"
            + " as HF's), max_grad_norm 1, dropout 0.1 (config), fp32, seed 42; zero_stage 0 (the"
            + " default) and each further --zero stage for N = 2");
    cfg.put(
        "pytorch",
        "tools/reference/ddp_reference.py train: N processes (torch.multiprocessing.spawn), 1"
            + " intra-op thread each, init_process_group(gloo), DistributedDataParallel defaults,"
            + " DistributedSampler over the windows in sparkner's epoch order (shuffle off, so each"
            + " rank's micro batch is sparkner's), DataLoader(batch_size=global/N, num_workers=0),"
            + " AdamW (HF's groups, no decay on bias/LayerNorm; the same lr, schedule and decay as"
            + " sparkner), CE ignore_index -100, clip_grad_norm_ 1.0, dropout 0.1 (config), fp32; N"
            + " = 1 without DDP");
    cfg.put(
        "figure",
        "steady tokens/s = non-pad tokens of the global batches / rank 0's step seconds, summed"
            + " over the steps after the warm-up; median over rounds; ratio = sparkner / DDP at the"
            + " same N (N = 2: sparkner ZeRO 0); scaling = N=2 / N=1 within a side");
    cfg.put(
        "step_seconds",
        "sparkner: Trainer.step from taking its windows to the parameters back in the model"
            + " (metrics.jsonl, hooks excluded); PyTorch: from the DataLoader fetch of the step's"
            + " batch to after zero_grad (loss.item() included)");
    cfg.put("order", "rounds alternate: even rounds in the listed order, odd rounds reversed");

    // the DDP script's own correctness check: N = 2 and N = 1 are the same computation
    ObjectNode check = pythonCheck(python, script, work);
    result.set("ddp_check", check);
    log(
        "DDP check: ok=%s, max |loss N=1 - N=2| %s over %s steps, ranks in sync %s",
        check.path("ok").asText(),
        check.path("max_abs_loss_diff").asText(),
        check.path("steps").asText(),
        check.path("ranks_in_sync").asText());
    if (!check.path("ok").asBoolean()) {
      BenchEnv.writeJson(out, result);
      throw new IllegalStateException("the DDP reference failed its N=1 vs N=2 check: " + check);
    }

    List<String> variants = new ArrayList<>();
    variants.add("sparkner-n1");
    zeros.forEach(z -> variants.add("sparkner-n2-zero" + z));
    variants.add("ddp-n1");
    variants.add("ddp-n2");
    Map<String, List<Double>> tps = new LinkedHashMap<>();
    Map<String, ArrayNode> runs = new LinkedHashMap<>();
    for (String v : variants) {
      tps.put(v, new ArrayList<>());
      runs.put(v, BenchEnv.JSON.createArrayNode());
    }
    List<Double> roundRatioN1 = new ArrayList<>();
    List<Double> roundRatioN2 = new ArrayList<>();
    long maxTokenDiff = 0;
    for (int round = 0; round < rounds; round++) {
      List<String> order = new ArrayList<>(variants);
      if (round % 2 == 1) {
        Collections.reverse(order);
      }
      Map<String, ObjectNode> thisRound = new LinkedHashMap<>();
      for (String v : order) {
        int n = v.contains("-n1") ? 1 : 2;
        ObjectNode run;
        if (v.startsWith("sparkner")) {
          int zs = n == 1 ? 0 : Integer.parseInt(v.substring(v.indexOf("zero") + 4));
          run =
              ReplicaScalingBench.trainOnce(
                  spark, spec, prepared, modelDir, work, n, zs, batching, round, "");
          run.remove("ranks");
        } else {
          try {
            run = pythonTrain(python, script, windows, modelDir, work, n, spec, globalBatch, round);
          } catch (IllegalStateException e) {
            // one retry: a rank that hangs (see ddp_reference.py's watchdog) fails the run, not the
            // benchmark; the failure is recorded with the run
            log("round %d %s failed, once more: %s", round, v, e.getMessage());
            run = pythonTrain(python, script, windows, modelDir, work, n, spec, globalBatch, round);
            run.put("retried_after", e.getMessage());
          }
        }
        run.put("round", round);
        runs.get(v).add(run);
        double t = run.path("steady_tokens_per_second").asDouble();
        tps.get(v).add(t);
        thisRound.put(v, run);
        log(
            "round %d %-19s %8.1f tokens/s steady (median step %.3f s, other processes %.2f"
                + " cores)",
            round,
            v,
            t,
            run.path("step_seconds").path("median").asDouble(),
            run.path("steady_window").path("other_processes_cores").asDouble());
      }
      // the same windows in the same steps on both sides: non-pad tokens per step must agree
      for (int n : List.of(1, 2)) {
        long d =
            tokenDiff(
                thisRound.get(n == 1 ? "sparkner-n1" : "sparkner-n2-zero0"),
                thisRound.get("ddp-n" + n));
        thisRound.get("ddp-n" + n).put("max_abs_step_token_diff_vs_sparkner", d);
        maxTokenDiff = Math.max(maxTokenDiff, d);
      }
      roundRatioN1.add(tpsOf(thisRound, "sparkner-n1") / tpsOf(thisRound, "ddp-n1"));
      roundRatioN2.add(tpsOf(thisRound, "sparkner-n2-zero0") / tpsOf(thisRound, "ddp-n2"));
      BenchEnv.writeJson(out, result); // partial results survive a later failure
    }

    ObjectNode vn = result.putObject("variants");
    for (String v : variants) {
      ObjectNode x = vn.putObject(v);
      int n = v.contains("-n1") ? 1 : 2;
      x.put("processes_or_replicas", n);
      x.put("micro_batch", globalBatch / n);
      x.set("tokens_per_second", BenchEnv.stats(tps.get(v)));
      x.set("runs", runs.get(v));
    }
    ObjectNode fig = result.putObject("result");
    fig.put(
        "same_windows_per_step",
        maxTokenDiff <= 2); // metrics.jsonl rounds tokens/s to 0.1 and seconds to 1e-4
    fig.put("max_abs_step_token_diff", maxTokenDiff);
    List<String> summary = new ArrayList<>();
    for (int n : List.of(1, 2)) {
      String s = n == 1 ? "sparkner-n1" : "sparkner-n2-zero0";
      double ratio = med(tps, s) / med(tps, "ddp-n" + n);
      ObjectNode r = fig.putObject("n" + n);
      r.put("sparkner_tokens_per_second", BenchEnv.round(med(tps, s)));
      r.put("ddp_tokens_per_second", BenchEnv.round(med(tps, "ddp-n" + n)));
      r.put("ratio_sparkner_over_ddp", BenchEnv.round(ratio));
      r.set("per_round_ratio", BenchEnv.stats(n == 1 ? roundRatioN1 : roundRatioN2));
      r.put("goal", GOAL);
      r.put("met", ratio >= GOAL);
      summary.add(
          String.format(
              Locale.ROOT,
              "N=%d: sparkner %.0f tokens/s, DDP %.0f tokens/s, ratio %.3f (goal >= %.1f, per round"
                  + " %s)",
              n,
              med(tps, s),
              med(tps, "ddp-n" + n),
              ratio,
              GOAL,
              (n == 1 ? roundRatioN1 : roundRatioN2)
                  .stream().map(x -> String.format(Locale.ROOT, "%.3f", x)).toList()));
    }
    for (int z : zeros.subList(1, zeros.size())) {
      String s = "sparkner-n2-zero" + z;
      double ratio = med(tps, s) / med(tps, "ddp-n2");
      ObjectNode r = fig.putObject("n2_zero" + z);
      r.put("sparkner_tokens_per_second", BenchEnv.round(med(tps, s)));
      r.put("ratio_sparkner_over_ddp", BenchEnv.round(ratio));
      r.put(
          "about",
          "sparkner N = 2 with zero_stage "
              + z
              + " (not the figure: DDP replicates the optimizer)");
      summary.add(
          String.format(
              Locale.ROOT,
              "N=2 ZeRO %d: sparkner %.0f tokens/s, ratio over DDP %.3f",
              z,
              med(tps, s),
              ratio));
    }
    ObjectNode scaling = fig.putObject("scaling_n2_over_n1");
    double sparkScaling = med(tps, "sparkner-n2-zero0") / med(tps, "sparkner-n1");
    double ddpScaling = med(tps, "ddp-n2") / med(tps, "ddp-n1");
    scaling.put("sparkner_zero0", BenchEnv.round(sparkScaling));
    for (int z : zeros.subList(1, zeros.size())) {
      scaling.put(
          "sparkner_zero" + z,
          BenchEnv.round(med(tps, "sparkner-n2-zero" + z) / med(tps, "sparkner-n1")));
    }
    scaling.put("ddp", BenchEnv.round(ddpScaling));
    summary.add(
        String.format(
            Locale.ROOT,
            "scaling N=2/N=1: sparkner %.3f, DDP %.3f; same windows per step: %s",
            sparkScaling,
            ddpScaling,
            maxTokenDiff <= 2));
    BenchEnv.writeJson(out, result);
    summary.forEach(System.out::println);
    System.out.println("wrote " + out);
    spark.stop();
    System.exit(0); // a barrier job leaves Spark's non-daemon "Barrier task timer" thread behind
  }

  private static double med(Map<String, List<Double>> tps, String v) {
    return BenchEnv.median(tps.get(v));
  }

  private static double tpsOf(Map<String, ObjectNode> round, String v) {
    return round.get(v).path("steady_tokens_per_second").asDouble();
  }

  /** The largest difference in non-pad tokens of a step between a sparkner and a Python run. */
  static long tokenDiff(ObjectNode sparkner, ObjectNode ddp) {
    JsonNode steps = sparkner.path("per_step");
    JsonNode tokens = ddp.path("per_step_tokens");
    if (steps.size() != tokens.size()) {
      return Long.MAX_VALUE;
    }
    long max = 0;
    for (int i = 0; i < steps.size(); i++) {
      JsonNode s = steps.get(i);
      long t =
          Math.round(s.path("tokens_per_second").asDouble() * s.path("step_seconds").asDouble());
      max = Math.max(max, Math.abs(t - tokens.get(i).asLong()));
    }
    return max;
  }

  /** {@code ddp_reference.py check}: N = 1 and N = 2 processes on the same global batches. */
  static ObjectNode pythonCheck(String python, Path script, Path work) throws Exception {
    Path log = work.resolve("logs/ddp-check.log");
    String stdout =
        runPython(List.of(python, script.toString(), "check", "--json"), log, 600, null);
    String line =
        stdout
            .lines()
            .filter(s -> s.startsWith("{"))
            .reduce((a, b) -> b)
            .orElseThrow(() -> new IllegalStateException("no JSON from the DDP check, see " + log));
    return (ObjectNode) BenchEnv.JSON.readTree(line);
  }

  /** One PyTorch run: {@code ddp_reference.py train --nproc n}; its steady-state throughput. */
  static ObjectNode pythonTrain(
      String python,
      Path script,
      Path windows,
      Path modelDir,
      Path work,
      int n,
      ReplicaScalingBench.Spec spec,
      int globalBatch,
      int round)
      throws Exception {
    Path json = work.resolve("runs/ddp-n" + n + "-r" + round + ".json");
    // generous: process start, imports, data, model, then the steps (a few seconds each); a rank
    // still running after it prints its stacks to the log and exits
    int timeout = 240 + 60 * spec.steps();
    Files.createDirectories(json.getParent());
    Files.deleteIfExists(json);
    List<String> cmd =
        List.of(
            python,
            script.toString(),
            "train",
            "--nproc",
            "" + n,
            "--data",
            windows.toString(),
            "--model",
            modelDir.toString(),
            "--global-batch",
            "" + globalBatch,
            "--max-steps",
            "" + spec.steps(),
            "--warmup-steps",
            "" + spec.warmup(),
            "--threads",
            "1",
            "--seed",
            "42",
            // sparkner's TrainingArguments defaults, which are HF's: lr 5e-5, no warm-up, linear
            // decay, weight decay 0, betas 0.9/0.999, eps 1e-8, max_grad_norm 1
            "--lr",
            "5e-5",
            "--warmup-ratio",
            "0",
            "--weight-decay",
            "0",
            "--max-grad-norm",
            "1.0",
            "--order",
            "java",
            "--timeout",
            "" + timeout,
            "--out",
            json.toString());
    BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
    runPython(cmd, work.resolve("logs/ddp-n" + n + "-r" + round + ".log"), timeout + 60, json);
    BenchEnv.Cpu c1 = BenchEnv.Cpu.now();
    JsonNode py = BenchEnv.JSON.readTree(json.toFile());
    ObjectNode run = BenchEnv.JSON.createObjectNode();
    run.put("processes", py.path("processes").asInt());
    run.put("torch", py.path("torch").asText());
    run.put("threads_per_process", py.path("threads_per_process").asInt());
    run.put("interop_threads", py.path("interop_threads").asInt());
    run.put("parameters", py.path("parameters").asLong());
    run.put("micro_batch", py.path("micro_batch").asInt());
    run.put("steps", py.path("steps").asInt());
    run.put("steady_steps", py.path("steady_steps").asInt());
    run.put("steady_tokens", py.path("steady_tokens").asLong());
    run.put("steady_seconds", BenchEnv.round(py.path("steady_seconds").asDouble()));
    run.put(
        "steady_tokens_per_second", BenchEnv.round(py.path("steady_tokens_per_second").asDouble()));
    List<Double> steady = new ArrayList<>();
    JsonNode stepS = py.path("step_s");
    for (int i = spec.warmup(); i < stepS.size(); i++) {
      steady.add(stepS.get(i).asDouble());
    }
    run.set("step_seconds", BenchEnv.stats(steady));
    ArrayNode per = run.putArray("per_step");
    for (int i = 0; i < stepS.size(); i++) {
      per.addObject()
          .put("step", i + 1)
          .put("step_seconds", stepS.get(i).asDouble())
          .put("tokens", py.path("tokens").get(i).asLong())
          .put("loss", BenchEnv.round(py.path("global_loss").get(i).asDouble()));
    }
    run.set("per_step_tokens", py.path("tokens"));
    ObjectNode w = BenchEnv.JSON.createObjectNode();
    JsonNode pw = py.path("steady_window");
    double secs = pw.path("seconds").asDouble();
    w.put("seconds", secs);
    w.put("ranks_cpu_s", pw.path("ranks_cpu_s").asDouble());
    w.put("tokens_per_wall_second", BenchEnv.round(py.path("steady_tokens").asDouble() / secs));
    w.put(
        "tokens_per_ranks_cpu_second",
        BenchEnv.round(py.path("steady_tokens").asDouble() / pw.path("ranks_cpu_s").asDouble()));
    if (pw.hasNonNull("other_processes_cpu_s")) {
      w.put("other_processes_cpu_s", pw.path("other_processes_cpu_s").asDouble());
      w.put(
          "other_processes_cores",
          BenchEnv.round(pw.path("other_processes_cpu_s").asDouble() / secs));
    }
    run.set("steady_window", w);
    run.set("rank_digests", py.path("digests"));
    run.set("process", c1.since(c0));
    return run;
  }

  /**
   * Runs a Python command, output to {@code log}; kills it and its children after {@code
   * timeoutSeconds} or when this JVM ends. Returns its stdout (the log). When {@code result} is
   * given, a run that wrote it and then hangs on the way out is ended and accepted.
   */
  static String runPython(List<String> cmd, Path log, long timeoutSeconds, Path result)
      throws Exception {
    Files.createDirectories(log.getParent());
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("PYTHONUNBUFFERED", "1");
    Process p = pb.start();
    LIVE.add(p);
    try {
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        if (result != null && Files.isRegularFile(result)) {
          log("%s wrote its result but did not exit in %d s: ended", cmd.get(2), timeoutSeconds);
        } else {
          throw new IllegalStateException(
              "timed out after "
                  + timeoutSeconds
                  + " s: "
                  + String.join(" ", cmd)
                  + "; see "
                  + log);
        }
      } else if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "exit "
                + p.exitValue()
                + ": "
                + String.join(" ", cmd)
                + "\n"
                + tail(log, 30)
                + "(log: "
                + log
                + ")");
      }
      return Files.readString(log, StandardCharsets.UTF_8);
    } finally {
      kill(p);
      LIVE.remove(p);
    }
  }

  private static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  private static void killAll() {
    LIVE.forEach(DdpVsSparknerBench::kill);
  }

  private static String tail(Path log, int lines) throws IOException {
    List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())) + "\n";
  }

  private static int positive(String[] args, int i) {
    return whole(args, i, 1);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      usage(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static int whole(String[] args, int i, int min) {
    String s = value(args, i);
    int v;
    try {
      v = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      usage(args[i - 1] + " needs a whole number, not '" + s + "'");
      return 0;
    }
    if (v < min) {
      usage(args[i - 1] + " must be at least " + min + ", not " + v);
    }
    return v;
  }

  private static int zero(String stage) {
    try {
      return Integer.parseInt(stage.trim());
    } catch (NumberFormatException e) {
      usage("--zero takes ZeRO stages such as 0,2, not '" + stage + "'");
      return 0;
    }
  }

  private static void usage(String message) {
    System.err.println(
        "ddp-vs-sparkner: "
            + message
            + "; options: --rounds 3 --steps 8 --warmup 2 --global-batch 16 --layers 2 --zero 0,2"
            + " --python /usr/bin/python3 --corpus PATH --work DIR --out FILE --git-dir DIR");
    System.exit(2);
  }

  static void log(String fmt, Object... args) {
    System.out.printf(Locale.ROOT, "[ddp-vs-sparkner] " + fmt + "%n", args);
  }
}
