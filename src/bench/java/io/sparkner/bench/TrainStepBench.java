package io.sparkner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.train.GradientExchange;
import io.sparkner.train.TrainConfig;
import io.sparkner.train.Trainer;
import io.sparkner.train.TrainingArguments;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Train step time: full sparkner training steps ({@link Trainer}: forward, masked-mean
 * cross-entropy, backward, gradient copy-out, global-norm clipping, AdamW on the flat fp32 master
 * weights, parameters back into the model) against the plain-PyTorch reference ({@code
 * tools/reference/ner_reference.py bench}: forward, CE, backward, clip_grad_norm_,
 * torch.optim.AdamW, LambdaLR, zero_grad) on the same BERT-shaped config, batch and sequence
 * length, CPU, fp32, both at the same number of intra-op threads. Runs alternate (Java first in
 * even rounds, Python first in odd ones); each run warms up, then times steps; the figure is
 * median(java s/step) ÷ median(python s/step) over all timed steps of all rounds. Goal ≤ 1.10.
 *
 * <p>{@code bench/run train-step [--layers 4] [--batch 12] [--length 128] [--warmup 3] [--steps 10]
 * [--rounds 3] [--threads 2] [--python /usr/bin/python3] [--no-python]}. Writes {@code
 * bench/results/train-step.json}.
 */
public final class TrainStepBench {
  static final double GOAL = 1.10;

  private TrainStepBench() {}

  record Options(
      int layers,
      int hidden,
      int heads,
      int intermediate,
      int vocab,
      int labels,
      int batch,
      int length,
      int warmup,
      int steps,
      int rounds,
      int threads,
      String python,
      boolean noPython,
      String out,
      double dropout) {

    /** The same shape and run lengths with another dropout probability (hidden and attention). */
    Options withDropout(double p) {
      return new Options(
          layers,
          hidden,
          heads,
          intermediate,
          vocab,
          labels,
          batch,
          length,
          warmup,
          steps,
          rounds,
          threads,
          python,
          noPython,
          out,
          p);
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = parse(args);
    Path root = BenchEnv.root();
    Engine engine = Engine.getInstance();
    try (NDManager warm = NDManager.newBaseManager()) {
      warm.ones(
          new ai.djl.ndarray.types.Shape(1)); // libtorch is loaded lazily, before any JniUtils call
    }
    int djlThreads = JniUtils.getNumThreads();
    if (o.threads > 0 && o.threads != djlThreads) {
      JniUtils.setNumThreads(o.threads);
    }
    int threads = JniUtils.getNumThreads();
    System.out.printf(
        Locale.ROOT,
        "train-step: BERT-shaped, %d layers, hidden %d, %d heads, intermediate %d, vocab %d, %d"
            + " labels; batch %d x %d tokens; DJL %s / PyTorch %s, intra-op threads %d (DJL default"
            + " %d), interop %d%n",
        o.layers,
        o.hidden,
        o.heads,
        o.intermediate,
        o.vocab,
        o.labels,
        o.batch,
        o.length,
        Engine.getDjlVersion(),
        engine.getVersion(),
        threads,
        djlThreads,
        JniUtils.getNumInteropThreads());

    ObjectNode root0 = BenchEnv.JSON.createObjectNode();
    root0.put("benchmark", "train-step");
    root0.set("env", BenchEnv.describe());
    ObjectNode cfg = root0.putObject("config");
    cfg.put(
        "model",
        "bert (BertForTokenClassification), random init (Checkpoints.map), fp32, CPU, dropout 0.1"
            + " (train mode)");
    cfg.put("layers", o.layers);
    cfg.put("hidden", o.hidden);
    cfg.put("heads", o.heads);
    cfg.put("intermediate", o.intermediate);
    cfg.put("vocab", o.vocab);
    cfg.put("labels", o.labels);
    cfg.put("batch", o.batch);
    cfg.put("length", o.length);
    cfg.put("padding", "none (every window has `length` tokens)");
    cfg.put("warmup_steps_per_run", o.warmup);
    cfg.put("timed_steps_per_run", o.steps);
    cfg.put("rounds", o.rounds);
    cfg.put(
        "optimizer",
        "AdamW lr 5e-5 (linear schedule, 10% warmup), betas 0.9/0.999, eps 1e-8, wd 0.01 (not"
            + " bias/LayerNorm), max_grad_norm 1.0");
    cfg.put("java_threads", threads);
    cfg.put("java_threads_default", djlThreads);
    cfg.put("java_interop_threads", JniUtils.getNumInteropThreads());
    cfg.put("djl", Engine.getDjlVersion());
    cfg.put("java_pytorch", Engine.getInstance().getVersion());
    cfg.put("python", o.python);

    List<Double> javaSteps = new ArrayList<>();
    List<Double> pythonSteps = new ArrayList<>();
    ArrayNode runs = root0.putArray("runs");
    String pythonTorch = null;
    for (int round = 0; round < o.rounds; round++) {
      boolean javaFirst = round % 2 == 0;
      for (int k = 0; k < 2; k++) {
        boolean java = (k == 0) == javaFirst;
        if (!java && o.noPython) {
          continue;
        }
        ObjectNode run = java ? javaRun(o, round) : pythonRun(o, threads, root);
        run.put("round", round);
        runs.add(run);
        List<Double> into = java ? javaSteps : pythonSteps;
        run.path("timed_step_s").forEach(x -> into.add(x.asDouble()));
        if (!java) {
          pythonTorch = run.path("torch").asText();
        }
        System.out.printf(
            Locale.ROOT,
            "round %d %-6s median %.3f s/step (min %.3f, max %.3f), other processes %.1f CPU s over"
                + " %.1f s%n",
            round,
            java ? "java" : "python",
            run.path("median_s").asDouble(),
            run.path("min_s").asDouble(),
            run.path("max_s").asDouble(),
            run.path("other_processes_cpu_s").asDouble(),
            run.path("timed_wall_s").asDouble());
      }
    }
    ObjectNode result = root0.putObject("result");
    result.set("java_step_s", BenchEnv.stats(javaSteps));
    double jm = BenchEnv.median(javaSteps);
    result.put("java_tokens_per_s", BenchEnv.round(o.batch * o.length / jm));
    if (!pythonSteps.isEmpty()) {
      double pm = BenchEnv.median(pythonSteps);
      result.set("python_step_s", BenchEnv.stats(pythonSteps));
      result.put("python_tokens_per_s", BenchEnv.round(o.batch * o.length / pm));
      result.put("python_torch", pythonTorch);
      result.put("ratio_java_over_python", BenchEnv.round(jm / pm));
      // per round too: each round's java median over its python median, to see the spread
      ArrayNode perRound = result.putArray("ratio_per_round");
      for (int r = 0; r < o.rounds; r++) {
        double j = Double.NaN;
        double p = Double.NaN;
        for (JsonNode run : runs) {
          if (run.path("round").asInt() == r) {
            if (run.path("side").asText().equals("java")) {
              j = run.path("median_s").asDouble();
            } else {
              p = run.path("median_s").asDouble();
            }
          }
        }
        perRound.add(BenchEnv.round(j / p));
      }
      result.put("goal", "ratio <= " + GOAL);
      result.put("meets_goal", jm / pm <= GOAL);
      System.out.printf(
          Locale.ROOT,
          "%njava   %.3f s/step (median of %d)%npython %.3f s/step (median of %d, torch %s)%nratio"
              + " java/python %.3f (goal <= %.2f)%n",
          jm,
          javaSteps.size(),
          pm,
          pythonSteps.size(),
          pythonTorch,
          jm / pm,
          GOAL);
    }
    Path out = o.out != null ? Path.of(o.out) : root.resolve("bench/results/train-step.json");
    BenchEnv.writeJson(out, root0);
    System.out.println("wrote " + out);
  }

  /** One Java run: a fresh random model and Trainer, warmup + timed steps through Trainer.train. */
  static ObjectNode javaRun(Options o, int round) {
    String configJson = configJson(o);
    ModelConfig config = ModelConfig.parse(configJson, "train-step bench config");
    List<Example> examples = examples(o, 42 + round);
    int total = o.warmup + o.steps;
    TrainingArguments args =
        TrainingArguments.defaults()
            .withOverrides(
                List.of(
                    "per_device_train_batch_size=" + o.batch,
                    "learning_rate=5e-5",
                    "weight_decay=0.01",
                    "warmup_ratio=0.1",
                    "max_grad_norm=1.0",
                    "max_steps=" + total,
                    "logging_steps=1",
                    "save_steps=1000000", // the hooks save nothing anyway
                    "seed=42"));
    TrainConfig tc = TrainConfig.resolve(args, null, 1, examples.size(), config.hiddenSize);
    List<Double> wall = new ArrayList<>();
    List<Double> inside = new ArrayList<>();
    List<Double> losses = new ArrayList<>();
    ObjectNode run = BenchEnv.JSON.createObjectNode();
    run.put("side", "java");
    try (NDManager manager = NDManager.newBaseManager()) {
      long tb = System.nanoTime();
      Checkpoints.Weights weights = Checkpoints.map(config, Map.of(), 42 + round);
      TokenClassificationModel model = Checkpoints.build(weights, manager, DataType.FLOAT32);
      long[] last = {0};
      BenchEnv.Cpu[] timedStart = {null};
      Trainer.Hooks hooks =
          new Trainer.Hooks() {
            @Override
            public void log(Trainer.StepMetrics m) {
              long now = System.nanoTime();
              wall.add((now - last[0]) / 1e9);
              inside.add(m.stepSeconds());
              losses.add(m.loss());
              last[0] = now;
              if (m.step() == o.warmup) {
                timedStart[0] = BenchEnv.Cpu.now();
              }
            }
          };
      Trainer trainer = new Trainer(model, tc, GradientExchange.SINGLE, hooks);
      long parameters = trainer.flat().size();
      run.put("build_s", BenchEnv.round((System.nanoTime() - tb) / 1e9));
      run.put("parameters", parameters);
      last[0] = System.nanoTime();
      if (o.warmup == 0) {
        timedStart[0] = BenchEnv.Cpu.now(); // steps count from 1: no warm-up step ends at step 0
      }
      trainer.train(examples);
      BenchEnv.Cpu end = BenchEnv.Cpu.now();
      ObjectNode cpu = end.since(timedStart[0]);
      run.put("timed_wall_s", cpu.path("seconds").asDouble());
      run.put("jvm_cpu_s", cpu.path("jvm_cpu_s").asDouble());
      run.put("other_processes_cpu_s", cpu.path("other_processes_cpu_s").asDouble());
      run.put("steps_run", trainer.state().globalStep());
    }
    List<Double> timed = wall.subList(o.warmup, wall.size());
    fill(run, timed);
    ArrayNode all = run.putArray("step_s");
    wall.forEach(x -> all.add(BenchEnv.round(x)));
    ArrayNode in = run.putArray("trainer_step_seconds");
    inside.forEach(x -> in.add(BenchEnv.round(x)));
    run.put("loss_first", losses.get(0));
    run.put("loss_last", losses.get(losses.size() - 1));
    return run;
  }

  /** One Python run: {@code ner_reference.py bench --json} in a subprocess. */
  static ObjectNode pythonRun(Options o, int threads, Path root)
      throws IOException, InterruptedException {
    List<String> cmd =
        List.of(
            o.python,
            root.resolve("tools/reference/ner_reference.py").toString(),
            "bench",
            "--json",
            "--layers",
            "" + o.layers,
            "--hidden",
            "" + o.hidden,
            "--heads",
            "" + o.heads,
            "--intermediate",
            "" + o.intermediate,
            "--vocab",
            "" + o.vocab,
            "--labels",
            "" + o.labels,
            "--batch",
            "" + o.batch,
            "--length",
            "" + o.length,
            "--warmup",
            "" + o.warmup,
            "--steps",
            "" + o.steps,
            "--threads",
            "" + threads);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
    long t0 = System.nanoTime();
    Process p = pb.start();
    String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    if (rc != 0) {
      throw new IllegalStateException(
          "reference bench failed (exit " + rc + "): " + String.join(" ", cmd) + "\n" + stdout);
    }
    String line =
        stdout
            .lines()
            .filter(s -> s.startsWith("{"))
            .reduce((a, b) -> b)
            .orElseThrow(() -> new IllegalStateException("no JSON from the reference: " + stdout));
    ObjectNode py = (ObjectNode) BenchEnv.JSON.readTree(line);
    ObjectNode run = BenchEnv.JSON.createObjectNode();
    run.put("side", "python");
    run.put("torch", py.path("torch").asText());
    run.put("threads", py.path("threads").asInt());
    run.put("interop_threads", py.path("interop_threads").asInt());
    run.put("parameters", py.path("parameters").asLong());
    run.put("process_s", BenchEnv.round((System.nanoTime() - t0) / 1e9));
    run.put("timed_wall_s", py.path("cpu").path("seconds").asDouble());
    run.put("process_cpu_s", py.path("cpu").path("process_cpu_s").asDouble());
    run.put("other_processes_cpu_s", py.path("cpu").path("other_processes_cpu_s").asDouble());
    List<Double> all = new ArrayList<>();
    py.path("step_s").forEach(x -> all.add(x.asDouble()));
    fill(run, all.subList(o.warmup, all.size()));
    run.set("step_s", py.path("step_s"));
    run.put("loss_first", py.path("loss_first").asDouble());
    run.put("loss_last", py.path("loss_last").asDouble());
    return run;
  }

  private static void fill(ObjectNode run, List<Double> timed) {
    ObjectNode s = BenchEnv.stats(timed);
    run.put("median_s", s.path("median").asDouble());
    run.put("min_s", s.path("min").asDouble());
    run.put("max_s", s.path("max").asDouble());
    ArrayNode t = run.putArray("timed_step_s");
    timed.forEach(x -> t.add(BenchEnv.round(x)));
  }

  /** A BERT-base-shaped config.json at the given depth, with {@code labels} labels. */
  static String configJson(Options o) {
    ObjectNode c = BenchEnv.JSON.createObjectNode();
    c.put("model_type", "bert");
    c.put("vocab_size", o.vocab);
    c.put("hidden_size", o.hidden);
    c.put("num_hidden_layers", o.layers);
    c.put("num_attention_heads", o.heads);
    c.put("intermediate_size", o.intermediate);
    c.put("hidden_act", "gelu");
    c.put("max_position_embeddings", 512);
    c.put("type_vocab_size", 2);
    c.put("layer_norm_eps", 1e-12);
    c.put("hidden_dropout_prob", o.dropout);
    c.put("attention_probs_dropout_prob", o.dropout);
    c.put("initializer_range", 0.02);
    c.put("pad_token_id", 0);
    ObjectNode id2label = c.putObject("id2label");
    for (int i = 0; i < o.labels; i++) {
      id2label.put(String.valueOf(i), "L" + i);
    }
    return c.toString();
  }

  /**
   * Exactly enough fixed-length windows for warmup + timed steps: {@code [CLS]} (2), random ids,
   * {@code [SEP]} (3), random labels with -100 on the special tokens, as the reference builds them.
   */
  static List<Example> examples(Options o, long seed) {
    Random r = new Random(seed);
    int n = (o.warmup + o.steps) * o.batch;
    List<Example> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int[] ids = new int[o.length];
      int[] labels = new int[o.length];
      int[] starts = new int[o.length];
      int[] ends = new int[o.length];
      for (int j = 0; j < o.length; j++) {
        ids[j] = 5 + r.nextInt(o.vocab - 5);
        labels[j] = r.nextInt(o.labels);
        starts[j] = j;
        ends[j] = j + 1;
      }
      ids[0] = 2;
      ids[o.length - 1] = 3;
      labels[0] = -100;
      labels[o.length - 1] = -100;
      starts[0] = ends[0] = starts[o.length - 1] = ends[o.length - 1] = -1;
      out.add(new Example("bench-" + i, 0, ids, labels, starts, ends));
    }
    return out;
  }

  static Options parse(String[] a) {
    int layers = 4;
    int hidden = 768;
    int heads = 12;
    int intermediate = 3072;
    int vocab = 21128;
    int labels = 17;
    int batch = 12;
    int length = 128;
    int warmup = 3;
    int steps = 10;
    int rounds = 3;
    int threads = 2;
    String python = "/usr/bin/python3";
    boolean noPython = false;
    String out = null;
    for (int i = 0; i < a.length; i++) {
      switch (a[i]) {
        case "--layers" -> layers = Integer.parseInt(a[++i]);
        case "--hidden" -> hidden = Integer.parseInt(a[++i]);
        case "--heads" -> heads = Integer.parseInt(a[++i]);
        case "--intermediate" -> intermediate = Integer.parseInt(a[++i]);
        case "--vocab" -> vocab = Integer.parseInt(a[++i]);
        case "--labels" -> labels = Integer.parseInt(a[++i]);
        case "--batch" -> batch = Integer.parseInt(a[++i]);
        case "--length" -> length = Integer.parseInt(a[++i]);
        case "--warmup" -> warmup = Integer.parseInt(a[++i]);
        case "--steps" -> steps = Integer.parseInt(a[++i]);
        case "--rounds" -> rounds = Integer.parseInt(a[++i]);
        case "--threads" -> threads = Integer.parseInt(a[++i]);
        case "--python" -> python = a[++i];
        case "--no-python" -> noPython = true;
        case "--out" -> out = a[++i];
        default ->
            throw new IllegalArgumentException(
                "unknown option "
                    + a[i]
                    + "; usage: train-step [--layers N] [--hidden H] [--heads N] [--intermediate N]"
                    + " [--vocab V] [--labels N] [--batch B] [--length L] [--warmup W] [--steps S]"
                    + " [--rounds R] [--threads T] [--python PATH] [--no-python] [--out FILE]");
      }
    }
    return new Options(
        layers,
        hidden,
        heads,
        intermediate,
        vocab,
        labels,
        batch,
        length,
        warmup,
        steps,
        rounds,
        threads,
        python,
        noPython,
        out,
        0.1);
  }
}
