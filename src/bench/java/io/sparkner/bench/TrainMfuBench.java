package io.sparkner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Autograd;
import io.sparkner.model.Batch;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.DropoutMasks;
import io.sparkner.model.Example;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.Scalars;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.train.FlatParameters;
import io.sparkner.train.GradientExchange;
import io.sparkner.train.TrainConfig;
import io.sparkner.train.Trainer;
import io.sparkner.train.TrainingArguments;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Model FLOPs utilisation of a training step: how close a full {@link Trainer} step comes to what
 * libtorch's fp32 matrix multiplication does on this machine, in one JVM at the same intra-op
 * threads.
 *
 * <ul>
 *   <li><b>model FLOPs</b> of a step, the PaLM convention (Chowdhery et al. 2022, app. B): {@code
 *       6·Ψ_dense·tokens + 12·layers·hidden·length·tokens}, Ψ_dense the weights of the matrix
 *       multiplications (Q, K, V, attention output, intermediate, output per layer, classifier),
 *       not the embedding tables, biases or LayerNorm (see bench/README.md);
 *   <li><b>achieved</b> = model FLOPs ÷ the median wall time of a full Trainer step (batch,
 *       forward, loss, backward, gradients out, clipping, AdamW, parameters back in);
 *   <li><b>peak</b> = libtorch fp32 matmul FLOP/s on the step's own GEMM shapes (forward, input
 *       gradient and weight gradient of every linear layer, the six batched products of attention),
 *       weighted by the FLOPs the step spends in each: Σ flops ÷ Σ (flops ÷ rate);
 *   <li><b>figure</b> = achieved ÷ peak. Goal ≥ 0.6 for base.
 * </ul>
 *
 * <p>Rounds interleave the two sides (steps first in even rounds, GEMMs first in odd ones). Each
 * round also times one forward and one backward pass of a micro-batch outside the Trainer, on the
 * same model, to split the Trainer's forward+backward phase.
 *
 * <p>{@code bench/run train-mfu [--models tiny,bge-small,base] [--batch 12] [--length 128]
 * [--threads 2] [--steps 4] [--warmup 2] [--rounds 3] [--profile DIR] [--out FILE]}. Writes {@code
 * bench/results/train-mfu.json}.
 */
public final class TrainMfuBench {
  static final double GOAL = 0.6;
  static final int LABELS = 17;

  private TrainMfuBench() {}

  /** One GEMM shape of a step: {@code batch × [m×k]·[k×n]}, {@code count} times per step. */
  record Gemm(String name, long batch, long m, long k, long n, boolean aT, boolean bT, long count) {
    double flops() {
      return 2.0 * batch * m * k * n * count;
    }
  }

  /** A model of the benchmark: its config and where its weights come from (null: random). */
  record Spec(String name, ModelConfig config, Path weights) {}

  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } catch (UsageError e) {
      System.err.println("train-mfu: " + e.getMessage());
      System.exit(2);
    }
  }

  /** A bad option or value: exit 2 with the message. */
  static final class UsageError extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  static void run(String[] args) throws IOException {
    List<String> models = List.of("tiny", "bge-small", "base");
    int batch = 12;
    int length = 128;
    int threads = 2;
    int steps = 4;
    int warmup = 2;
    int rounds = 3;
    Path profile = null;
    String out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (i + 1 >= args.length) {
        throw usage("option " + a + " needs a value");
      }
      String v = args[++i];
      switch (a) {
        case "--models" -> models = List.of(v.split(","));
        case "--batch" -> batch = positive(a, v);
        case "--length" -> length = positive(a, v);
        case "--threads" -> threads = positive(a, v);
        case "--steps" -> steps = positive(a, v);
        case "--warmup" -> warmup = nonNegative(a, v);
        case "--rounds" -> rounds = positive(a, v);
        case "--profile" -> profile = Path.of(v);
        case "--out" -> out = v;
        default -> throw usage("unknown option " + a);
      }
    }
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()));
    List<Spec> specs = new ArrayList<>();
    for (String m : models) {
      specs.add(spec(m, root, shared, length));
    }
    try (NDManager warm = NDManager.newBaseManager()) {
      warm.ones(new Shape(1)); // libtorch loads lazily, before any JniUtils call
    }
    JniUtils.setNumThreads(threads);

    ObjectNode doc = BenchEnv.JSON.createObjectNode();
    doc.put("benchmark", "train-mfu");
    doc.set("env", BenchEnv.describe());
    ObjectNode cfg = doc.putObject("config");
    cfg.put("batch", batch);
    cfg.put("length", length);
    cfg.put("tokens_per_step", batch * length);
    cfg.put("padding", "none (every window has `length` tokens)");
    cfg.put("threads", JniUtils.getNumThreads());
    cfg.put("interop_threads", JniUtils.getNumInteropThreads());
    cfg.put("warmup_steps_per_run", warmup);
    cfg.put("timed_steps_per_run", steps);
    cfg.put("rounds", rounds);
    cfg.put("dtype", "float32, CPU");
    cfg.put("djl", Engine.getDjlVersion());
    cfg.put("pytorch", Engine.getInstance().getVersion());
    cfg.put(
        "step",
        "Trainer.train, one replica (GradientExchange.SINGLE), logging_steps=1: batch build,"
            + " forward with keyed dropout 0.1, masked-sum cross-entropy, backward, gradients out"
            + " to the flat fp32 space and zeroed, global norm and clipping, Java AdamW on the fp32"
            + " master weights, parameters back into libtorch");
    cfg.put(
        "model_flops",
        "6 * psi_dense * tokens + 12 * layers * hidden * length * tokens (PaLM app. B, 6N +"
            + " 12LHQT per token)");
    cfg.put("peak", "sum(gemm flops) / sum(gemm flops / measured rate) over the step's GEMMs");
    ObjectNode results = doc.putObject("results");
    for (Spec spec : specs) {
      results.set(spec.name, runModel(spec, batch, length, steps, warmup, rounds, profile));
    }
    Path file = out != null ? Path.of(out) : root.resolve("bench/results/train-mfu.json");
    BenchEnv.writeJson(file, doc);
    System.out.println("wrote " + file);
  }

  private static UsageError usage(String why) {
    return new UsageError(
        why
            + "; usage: train-mfu [--models tiny,bge-small,base] [--batch B] [--length L]"
            + " [--threads T] [--steps S] [--warmup W] [--rounds R] [--profile DIR] [--out FILE]");
  }

  private static int positive(String option, String value) {
    int n = nonNegative(option, value);
    if (n == 0) {
      throw usage(option + " must be at least 1, not " + value);
    }
    return n;
  }

  private static int nonNegative(String option, String value) {
    try {
      int n = Integer.parseInt(value);
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw usage(option + " takes a whole number >= 0, not '" + value + "'");
  }

  /**
   * tiny: conf/tiny-xlmr-config.json, random weights; bge-small: the real checkpoint in the shared
   * models; base: BERT-base (12 layers, hidden 768, 12 heads, intermediate 3072, vocab 21,128),
   * random weights. All with 17 labels and dropout 0.1.
   */
  static Spec spec(String name, Path root, Path shared, int length) throws IOException {
    List<String> labels = new ArrayList<>();
    for (int i = 0; i < LABELS; i++) {
      labels.add("L" + i);
    }
    Spec s =
        switch (name) {
          case "tiny" -> {
            Path f = root.resolve("conf/tiny-xlmr-config.json");
            ModelConfig c =
                ModelConfig.parse(Files.readString(f, StandardCharsets.UTF_8), f.toString());
            yield new Spec(name, c.withLabels(labels), null);
          }
          case "bge-small" -> {
            Path dir = shared.resolve("models/bge-small-zh-v1.5");
            Path f = dir.resolve(Checkpoints.CONFIG);
            if (!Files.isRegularFile(dir.resolve(Checkpoints.WEIGHTS))) {
              throw new IllegalArgumentException(
                  "--models bge-small: no " + Checkpoints.WEIGHTS + " in " + dir);
            }
            ModelConfig c =
                ModelConfig.parse(Files.readString(f, StandardCharsets.UTF_8), f.toString());
            yield new Spec(name, c.withLabels(labels), dir);
          }
          case "base" -> {
            TrainStepBench.Options o = baseOptions(12, 1, length);
            yield new Spec(
                name, ModelConfig.parse(TrainStepBench.configJson(o), "base config"), null);
          }
          default -> throw usage("--models: unknown model '" + name + "' (tiny, bge-small, base)");
        };
    int positions =
        s.config.maxPositionEmbeddings - (s.config.isRoberta() ? s.config.padTokenId + 1 : 0);
    if (length > positions) {
      throw usage(
          "--length " + length + " is longer than " + name + "'s " + positions + " positions");
    }
    return s;
  }

  private static TrainStepBench.Options baseOptions(int layers, int batch, int length) {
    return new TrainStepBench.Options(
        layers, 768, 12, 3072, 21128, LABELS, batch, length, 0, 1, 1, 0, null, true, null, 0.1);
  }

  /** The weights of the matrix multiplications: Ψ_dense. */
  static long denseParameters(ModelConfig c) {
    long h = c.hiddenSize;
    long i = c.intermediateSize;
    return c.numHiddenLayers * (4 * h * h + 2 * h * i) + h * c.numLabels();
  }

  /** Model FLOPs of one step over {@code batch} sequences of {@code length} tokens. */
  static double modelFlops(ModelConfig c, int batch, int length) {
    double tokens = (double) batch * length;
    return 6.0 * denseParameters(c) * tokens + attentionFlops(c, batch, length);
  }

  /** Scores and context, forward and backward: 3 × 2·2·length²·hidden per sequence and layer. */
  static double attentionFlops(ModelConfig c, int batch, int length) {
    return 12.0 * c.numHiddenLayers * c.hiddenSize * (double) length * length * batch;
  }

  /** The step's GEMMs: every matrix product of forward and backward, with how often it runs. */
  static List<Gemm> gemms(ModelConfig c, int batch, int length) {
    long t = (long) batch * length;
    long h = c.hiddenSize;
    long i = c.intermediateSize;
    long layers = c.numHiddenLayers;
    long bh = (long) batch * c.numAttentionHeads;
    long d = c.headDim();
    long l = length;
    List<Gemm> g = new ArrayList<>();
    // a linear layer y = x·Wᵀ (W [out, in]): forward, dX = dY·W, dW = dYᵀ·X
    linear(g, "hidden x hidden", t, h, h, 4 * layers);
    linear(g, "hidden x intermediate", t, h, i, layers);
    linear(g, "intermediate x hidden", t, i, h, layers);
    linear(g, "classifier", t, h, c.numLabels(), 1);
    // attention per (sequence, head): S = Q·Kᵀ, C = P·V; dP = dC·Vᵀ, dV = Pᵀ·dC, dQ = dS·K, dK =
    // dSᵀ·Q
    g.add(new Gemm("attention scores Q.K^T", bh, l, d, l, false, true, layers));
    g.add(new Gemm("attention context P.V", bh, l, l, d, false, false, layers));
    g.add(new Gemm("attention dP = dC.V^T", bh, l, d, l, false, true, layers));
    g.add(new Gemm("attention dV = P^T.dC", bh, l, l, d, true, false, layers));
    g.add(new Gemm("attention dQ = dS.K", bh, l, l, d, false, false, layers));
    g.add(new Gemm("attention dK = dS^T.Q", bh, l, l, d, true, false, layers));
    return g;
  }

  private static void linear(List<Gemm> g, String name, long t, long in, long out, long count) {
    g.add(new Gemm(name + " forward X.W^T", 1, t, in, out, false, true, count));
    g.add(new Gemm(name + " input grad dY.W", 1, t, out, in, false, false, count));
    g.add(new Gemm(name + " weight grad dY^T.X", 1, out, t, in, true, false, count));
  }

  static ObjectNode runModel(
      Spec spec, int batch, int length, int steps, int warmup, int rounds, Path profile)
      throws IOException {
    ModelConfig c = spec.config;
    double flops = modelFlops(c, batch, length);
    List<Gemm> gemms = gemms(c, batch, length);
    double gemmFlops = gemms.stream().mapToDouble(Gemm::flops).sum();
    System.out.printf(
        Locale.ROOT,
        "%s: %d layers, hidden %d, %d heads, intermediate %d, vocab %d; psi_dense %.2f M; %.3g"
            + " model FLOPs per step of %d x %d tokens%n",
        spec.name,
        c.numHiddenLayers,
        c.hiddenSize,
        c.numAttentionHeads,
        c.intermediateSize,
        c.vocabSize,
        denseParameters(c) / 1e6,
        flops,
        batch,
        length);
    List<Double> wall = new ArrayList<>();
    List<Double> inside = new ArrayList<>();
    Map<String, List<Double>> phases = new LinkedHashMap<>();
    List<Double> forward = new ArrayList<>();
    List<Double> backward = new ArrayList<>();
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    List<Double> peaks = new ArrayList<>();
    ArrayNode runs = BenchEnv.JSON.createArrayNode();
    long parameters = 0;
    for (int round = 0; round < rounds; round++) {
      boolean stepsFirst = round % 2 == 0;
      for (int k = 0; k < 2; k++) {
        if ((k == 0) == stepsFirst) {
          ObjectNode run =
              stepRun(
                  spec, batch, length, warmup, steps, round, wall, inside, phases, forward,
                  backward);
          parameters = run.path("parameters").asLong();
          runs.add(run);
        } else {
          BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
          double peak = peak(gemms, rates);
          peaks.add(peak);
          ObjectNode run = BenchEnv.JSON.createObjectNode();
          run.put("side", "gemms");
          run.put("round", round);
          run.put("weighted_peak_gflops", BenchEnv.round(peak / 1e9));
          run.setAll(BenchEnv.Cpu.now().since(c0));
          runs.add(run);
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%s round %d: step %.3f s (median so far), GEMM peak %.1f GFLOP/s%n",
          spec.name,
          round,
          BenchEnv.median(wall),
          peaks.get(peaks.size() - 1) / 1e9);
    }
    double step = BenchEnv.median(wall);
    double achieved = flops / step;
    // the peak of each shape is the median of its rounds; the weighted peak is taken over those
    double ideal = 0;
    ObjectNode shapes = BenchEnv.JSON.createObjectNode();
    for (Gemm g : gemms) {
      double rate = BenchEnv.median(rates.get(g.name));
      ideal += g.flops() / rate;
      ObjectNode s = shapes.putObject(g.name);
      s.put("shape", g.batch + " x [" + g.m + " x " + g.k + "].[" + g.k + " x " + g.n + "]");
      s.put("per_step", g.count);
      s.put("gflop_per_step", BenchEnv.round(g.flops() / 1e9));
      s.put("share_of_gemm_flops", BenchEnv.round(g.flops() / gemmFlops));
      s.set("gflops", BenchEnv.stats(rates.get(g.name).stream().map(x -> x / 1e9).toList()));
    }
    double peak = gemmFlops / ideal;
    double mfu = achieved / peak;
    ObjectNode r = BenchEnv.JSON.createObjectNode();
    r.put("layers", c.numHiddenLayers);
    r.put("hidden", c.hiddenSize);
    r.put("heads", c.numAttentionHeads);
    r.put("intermediate", c.intermediateSize);
    r.put("vocab", c.vocabSize);
    r.put("labels", c.numLabels());
    r.put("weights", spec.weights == null ? "random init" : spec.weights.toString());
    r.put("parameters", parameters);
    r.put("psi_dense", denseParameters(c));
    r.put("model_gflop_per_step", BenchEnv.round(flops / 1e9));
    r.put("dense_gflop_per_step", BenchEnv.round((flops - attentionFlops(c, batch, length)) / 1e9));
    r.put("attention_gflop_per_step", BenchEnv.round(attentionFlops(c, batch, length) / 1e9));
    r.put("gemm_gflop_per_step", BenchEnv.round(gemmFlops / 1e9));
    r.set("step_s", BenchEnv.stats(wall));
    r.set("trainer_step_seconds", BenchEnv.stats(inside));
    r.put("achieved_gflops", BenchEnv.round(achieved / 1e9));
    r.put("peak_gflops", BenchEnv.round(peak / 1e9));
    r.put("ideal_step_s", BenchEnv.round(ideal));
    r.put("mfu", BenchEnv.round(mfu));
    if (spec.name.equals("base")) {
      r.put("goal", "mfu >= " + GOAL);
      r.put("meets_goal", mfu >= GOAL);
    }
    // where the step's time goes: the Trainer's phases (mean per step of each timed step), the
    // forward/backward split of its first phase from the separate passes, and what is left
    ObjectNode breakdown = r.putObject("breakdown_s");
    double fb = BenchEnv.median(phases.get("forward_backward"));
    double f = BenchEnv.median(forward);
    double b = BenchEnv.median(backward);
    breakdown.put("forward", BenchEnv.round(fb * f / (f + b)));
    breakdown.put("backward", BenchEnv.round(fb * b / (f + b)));
    double accounted = fb;
    for (Map.Entry<String, List<Double>> e : phases.entrySet()) {
      if (!e.getKey().equals("forward_backward")) {
        double m = BenchEnv.median(e.getValue());
        breakdown.put(e.getKey(), BenchEnv.round(m));
        accounted += m;
      }
    }
    breakdown.put("other", BenchEnv.round(Math.max(0, step - accounted)));
    breakdown.put(
        "note",
        "medians per step; forward/backward split the Trainer's forward_backward phase in the ratio"
            + " of separately timed passes; gradients_out = gradients to the flat space, zeroing,"
            + " exchange (a copy on one replica); optimizer = norm, clipping, AdamW; parameters_in"
            + " = values back into libtorch; other = the rest of the wall step (batch assembly,"
            + " hooks)");
    r.set("separate_forward_s", BenchEnv.stats(forward));
    r.set("separate_backward_s", BenchEnv.stats(backward));
    r.put("gemm_ideal_share_of_step", BenchEnv.round(ideal / step));
    r.set("gemms", shapes);
    r.set("runs", runs);
    if (profile != null) {
      r.set("profile", profileStep(spec, batch, length, profile));
    }
    System.out.printf(
        Locale.ROOT,
        "%s: step %.3f s, %.1f GFLOP/s achieved; GEMM peak %.1f GFLOP/s (ideal step %.3f s); MFU"
            + " %.3f; forward %.3f s, backward %.3f s, %s%n",
        spec.name,
        step,
        achieved / 1e9,
        peak / 1e9,
        ideal,
        mfu,
        breakdown.path("forward").asDouble(),
        breakdown.path("backward").asDouble(),
        phasesLine(breakdown));
    return r;
  }

  private static String phasesLine(ObjectNode breakdown) {
    StringBuilder sb = new StringBuilder();
    breakdown
        .fields()
        .forEachRemaining(
            e -> {
              if (!e.getKey().equals("note")
                  && !e.getKey().equals("forward")
                  && !e.getKey().equals("backward")) {
                sb.append(sb.length() == 0 ? "" : ", ")
                    .append(e.getKey())
                    .append(' ')
                    .append(e.getValue().asText())
                    .append(" s");
              }
            });
    return sb.toString();
  }

  static TokenClassificationModel build(Spec spec, NDManager manager, long seed) {
    Checkpoints.Weights w =
        spec.weights == null
            ? Checkpoints.map(spec.config, Map.of(), seed)
            : Checkpoints.read(spec.weights, spec.config.labels, seed);
    return Checkpoints.build(w, manager, DataType.FLOAT32);
  }

  static List<Example> examples(ModelConfig c, int count, int length, long seed) {
    TrainStepBench.Options o =
        new TrainStepBench.Options(
            c.numHiddenLayers,
            c.hiddenSize,
            c.numAttentionHeads,
            c.intermediateSize,
            c.vocabSize,
            c.numLabels(),
            1,
            length,
            0,
            count,
            1,
            0,
            null,
            true,
            null,
            0.1);
    return TrainStepBench.examples(o, seed);
  }

  /**
   * One run: a fresh model, {@code warmup + steps} Trainer steps timed between successive log
   * calls, then one forward and one backward pass of a micro-batch outside the Trainer.
   */
  static ObjectNode stepRun(
      Spec spec,
      int batch,
      int length,
      int warmup,
      int steps,
      int round,
      List<Double> wall,
      List<Double> inside,
      Map<String, List<Double>> phases,
      List<Double> forward,
      List<Double> backward) {
    ModelConfig c = spec.config;
    int total = warmup + steps;
    List<Example> examples = examples(c, total * batch, length, 42 + round);
    TrainingArguments args =
        TrainingArguments.defaults()
            .withOverrides(
                List.of(
                    "per_device_train_batch_size=" + batch,
                    "learning_rate=5e-5",
                    "weight_decay=0.01",
                    "warmup_ratio=0.1",
                    "max_grad_norm=1.0",
                    "max_steps=" + total,
                    "logging_steps=1",
                    "save_steps=1000000",
                    "seed=42"));
    TrainConfig tc = TrainConfig.resolve(args, null, 1, examples.size(), c.hiddenSize);
    ObjectNode run = BenchEnv.JSON.createObjectNode();
    run.put("side", "steps");
    run.put("round", round);
    ArrayNode all = run.putArray("step_s");
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = build(spec, manager, 42 + round);
      long[] last = {0};
      BenchEnv.Cpu[] timedStart = {null};
      Trainer.Hooks hooks =
          new Trainer.Hooks() {
            @Override
            public void log(Trainer.StepMetrics m) {
              long now = System.nanoTime();
              double s = (now - last[0]) / 1e9;
              last[0] = now;
              all.add(BenchEnv.round(s));
              if (m.step() > warmup) {
                wall.add(s);
                inside.add(m.stepSeconds());
                Trainer.Breakdown b = m.breakdown();
                phases
                    .computeIfAbsent("forward_backward", x -> new ArrayList<>())
                    .add(b.forwardBackward());
                phases.computeIfAbsent("gradients_out", x -> new ArrayList<>()).add(b.reduce());
                phases.computeIfAbsent("optimizer", x -> new ArrayList<>()).add(b.optimizer());
                phases.computeIfAbsent("parameters_in", x -> new ArrayList<>()).add(b.gather());
              }
              if (m.step() == warmup) {
                timedStart[0] = BenchEnv.Cpu.now();
              }
            }
          };
      Trainer trainer = new Trainer(model, tc, GradientExchange.SINGLE, hooks);
      run.put("parameters", trainer.flat().size());
      if (warmup == 0) {
        timedStart[0] = BenchEnv.Cpu.now();
      }
      last[0] = System.nanoTime();
      trainer.train(examples);
      run.setAll(BenchEnv.Cpu.now().since(timedStart[0]));
      double[] fb = passes(model, trainer.flat(), examples.subList(0, batch), c.padTokenId);
      forward.add(fb[0]);
      backward.add(fb[1]);
      run.put("separate_forward_s", BenchEnv.round(fb[0]));
      run.put("separate_backward_s", BenchEnv.round(fb[1]));
    }
    return run;
  }

  /**
   * One micro-batch through the step's code outside the Trainer: seconds of {batch build + forward
   * + loss, backward}; the gradients are zeroed afterwards.
   */
  static double[] passes(
      TokenClassificationModel model, FlatParameters flat, List<Example> mine, int pad) {
    int[] rows = new int[mine.size()];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = i;
    }
    DropoutMasks dropout = DropoutMasks.of(42, 1_000_000, rows);
    double[] out = new double[2];
    try (NDManager scope = model.manager().newSubManager();
        Autograd.Scope rec = Autograd.recording()) {
      long t0 = System.nanoTime();
      Batch b = Batch.of(mine, pad, scope);
      NDArray logits = model.logits(b.inputIds(), b.attentionMask(), null, dropout);
      NDArray sum = b.crossEntropySum(logits);
      float loss = sum.getFloat();
      long t1 = System.nanoTime();
      Autograd.backward(Scalars.times(sum, 1.0 / Math.max(1, b.labelled())));
      long t2 = System.nanoTime();
      out[0] = (t1 - t0) / 1e9;
      out[1] = (t2 - t1) / 1e9;
      if (!Float.isFinite(loss)) {
        throw new IllegalStateException("non-finite loss " + loss);
      }
    }
    flat.zeroGradients();
    return out;
  }

  /**
   * Measures every GEMM shape once (a warm-up call, then calls until 0.3 s or at least 3) and adds
   * its FLOP/s to {@code rates}; returns the weighted peak of this measurement.
   */
  static double peak(List<Gemm> gemms, Map<String, List<Double>> rates) {
    double flops = 0;
    double ideal = 0;
    for (Gemm g : gemms) {
      double rate = rate(g);
      rates.computeIfAbsent(g.name, x -> new ArrayList<>()).add(rate);
      flops += g.flops();
      ideal += g.flops() / rate;
    }
    return flops / ideal;
  }

  /** FLOP/s of one product of shape {@code g}, inputs laid out as the step has them. */
  static double rate(Gemm g) {
    try (NDManager m = NDManager.newBaseManager();
        Autograd.Scope ignored = Autograd.paused()) {
      NDArray a = operand(m, g.batch, g.m, g.k, g.aT);
      NDArray b = operand(m, g.batch, g.k, g.n, g.bT);
      a.matMul(b).close(); // warm-up (libtorch on the CPU returns when the product is done)
      int calls = 0;
      long t0 = System.nanoTime();
      long elapsed;
      do {
        try (NDArray p = a.matMul(b)) {
          calls++;
        }
        elapsed = System.nanoTime() - t0;
      } while (calls < 3 || elapsed < 300_000_000L);
      return 2.0 * g.batch * g.m * g.k * g.n * calls / (elapsed / 1e9);
    }
  }

  /** A random [batch,] rows × cols operand, as a transposed view of its transpose if {@code t}. */
  private static NDArray operand(NDManager m, long batch, long rows, long cols, boolean t) {
    Shape stored =
        batch == 1
            ? new Shape(t ? cols : rows, t ? rows : cols)
            : new Shape(batch, t ? cols : rows, t ? rows : cols);
    NDArray x = m.randomUniform(-1, 1, stored);
    if (!t) {
      return x;
    }
    return batch == 1 ? x.transpose() : x.transpose(0, 2, 1);
  }

  /**
   * One micro-batch forward and backward under libtorch's profiler; writes the trace to {@code
   * dir/NAME-trace.json} and returns the ops by self time (the top 30).
   */
  static ObjectNode profileStep(Spec spec, int batch, int length, Path dir) throws IOException {
    Files.createDirectories(dir);
    Path trace = dir.resolve(spec.name + "-trace.json").toAbsolutePath();
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = build(spec, manager, 7);
      model.setRequiresGradient(true);
      FlatParameters flat = new FlatParameters(model);
      List<Example> ex = examples(spec.config, batch, length, 7);
      passes(model, flat, ex, spec.config.padTokenId); // warm-up
      JniUtils.startProfile(false, true, false);
      passes(model, flat, ex, spec.config.padTokenId);
      JniUtils.stopProfile(trace.toString());
    }
    return summarize(trace);
  }

  /** Self time per op name of a Chrome trace (complete events, nested per thread). */
  static ObjectNode summarize(Path trace) throws IOException {
    JsonNode root = BenchEnv.JSON.readTree(trace.toFile());
    JsonNode events = root.isArray() ? root : root.path("traceEvents");
    List<Ev> evs = new ArrayList<>();
    for (JsonNode e : events) {
      if ("X".equals(e.path("ph").asText()) && e.has("dur")) {
        evs.add(
            new Ev(
                e.path("name").asText(),
                e.path("args").path("Input Dims").toString(),
                e.path("tid").asLong(),
                e.path("ts").asDouble(),
                e.path("dur").asDouble()));
      }
    }
    evs.sort(
        Comparator.comparingLong(Ev::tid)
            .thenComparingDouble(Ev::ts)
            .thenComparing(Comparator.comparingDouble(Ev::dur).reversed()));
    Map<String, double[]> self = new HashMap<>(); // name -> {self us, total us, calls}
    List<Ev> stack = new ArrayList<>();
    List<double[]> childSum = new ArrayList<>();
    long tid = Long.MIN_VALUE;
    double total = 0;
    for (Ev e : evs) {
      if (e.tid != tid) {
        while (!stack.isEmpty()) {
          pop(stack, childSum, self);
        }
        tid = e.tid;
      }
      while (!stack.isEmpty()
          && stack.get(stack.size() - 1).ts + stack.get(stack.size() - 1).dur <= e.ts) {
        pop(stack, childSum, self);
      }
      if (stack.isEmpty()) {
        total += e.dur;
      } else {
        childSum.get(childSum.size() - 1)[0] += e.dur;
      }
      stack.add(e);
      childSum.add(new double[] {0});
      double[] s = self.computeIfAbsent(e.name, x -> new double[3]);
      s[1] += e.dur;
      s[2]++;
    }
    while (!stack.isEmpty()) {
      pop(stack, childSum, self);
    }
    ObjectNode out = BenchEnv.JSON.createObjectNode();
    out.put("trace", trace.toString());
    out.put("top_level_ms", BenchEnv.round(total / 1e3));
    ArrayNode ops = out.putArray("ops_by_self_time");
    double totalSelf = total;
    self.entrySet().stream()
        .sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]))
        .limit(30)
        .forEach(
            e -> {
              ObjectNode o = ops.addObject();
              o.put("op", e.getKey());
              o.put("self_ms", BenchEnv.round(e.getValue()[0] / 1e3));
              o.put("share", BenchEnv.round(e.getValue()[0] / totalSelf));
              o.put("calls", (long) e.getValue()[2]);
            });
    return out;
  }

  /** A complete event of a trace: an op on a thread, microseconds. */
  private record Ev(String name, String shapes, long tid, double ts, double dur) {}

  private static void pop(List<Ev> stack, List<double[]> childSum, Map<String, double[]> self) {
    Ev top = stack.remove(stack.size() - 1);
    double children = childSum.remove(childSum.size() - 1)[0];
    self.get(top.name)[0] += top.dur - children;
  }
}
