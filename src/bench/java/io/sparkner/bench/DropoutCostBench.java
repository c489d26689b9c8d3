package io.sparkner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Autograd;
import io.sparkner.model.DropoutMasks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What keyed dropout masks ({@link DropoutMasks}) cost per training step, side by side in one JVM:
 *
 * <ul>
 *   <li><b>step</b>: full {@link io.sparkner.train.Trainer} steps with dropout 0.1 against the same
 *       steps with dropout 0, interleaved rounds; the figure is median(0.1) ÷ median(0) − 1, the
 *       whole cost of dropout in a step;
 *   <li><b>sites</b>: one micro-batch's dropout sites (embeddings, per layer the attention
 *       probabilities, attention output and feed-forward output, the classifier input) forward and
 *       backward, with keyed masks and with libtorch's own {@code dropout} (what sparkner used
 *       before, drawing from the process-global generator); their difference over the step time is
 *       what the keyed masks add to a step beyond libtorch's dropout.
 * </ul>
 *
 * <p>{@code bench/run dropout-cost [--models tiny,bge-small,base] [--rounds 3] [--warmup 2]
 * [--steps 4] [--batch 12] [--length 128] [--threads 2]}. Writes {@code
 * bench/results/dropout-cost.json}.
 */
public final class DropoutCostBench {
  private DropoutCostBench() {}

  /** layers, hidden, heads, intermediate of the shapes the other benchmarks use. */
  static int[] shape(String model) {
    return switch (model) {
      case "tiny" -> new int[] {2, 64, 2, 256};
      case "bge-small" -> new int[] {4, 512, 8, 2048};
      case "base" -> new int[] {12, 768, 12, 3072};
      default ->
          throw new IllegalArgumentException(
              "--models: unknown model '" + model + "' (tiny, bge-small, base)");
    };
  }

  public static void main(String[] args) throws Exception {
    List<String> models = List.of("tiny", "bge-small", "base");
    int rounds = 3;
    int warmup = 2;
    int steps = 4;
    int batch = 12;
    int length = 128;
    int threads = 2;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--models" -> models = List.of(args[++i].split(","));
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        case "--steps" -> steps = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--length" -> length = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        default ->
            throw new IllegalArgumentException(
                "unknown option "
                    + args[i]
                    + "; usage: dropout-cost [--models tiny,bge-small,base] [--rounds R] [--warmup"
                    + " W] [--steps S] [--batch B] [--length L] [--threads T]");
      }
    }
    try (NDManager warm = NDManager.newBaseManager()) {
      warm.ones(new Shape(1));
    }
    JniUtils.setNumThreads(threads);
    ObjectNode root = BenchEnv.JSON.createObjectNode();
    root.put("benchmark", "dropout-cost");
    root.set("env", BenchEnv.describe());
    ObjectNode cfg = root.putObject("config");
    cfg.put("batch", batch);
    cfg.put("length", length);
    cfg.put("rounds", rounds);
    cfg.put("warmup_steps_per_run", warmup);
    cfg.put("timed_steps_per_run", steps);
    cfg.put("threads", JniUtils.getNumThreads());
    cfg.put("djl", Engine.getDjlVersion());
    cfg.put("pytorch", Engine.getInstance().getVersion());
    ObjectNode results = root.putObject("results");
    for (String model : models) {
      int[] s = shape(model);
      TrainStepBench.Options o =
          new TrainStepBench.Options(
              s[0], s[1], s[2], s[3], 21128, 17, batch, length, warmup, steps, rounds, threads,
              null, true, null, 0.1);
      List<Double> on = new ArrayList<>();
      List<Double> off = new ArrayList<>();
      List<Double> keyed = new ArrayList<>();
      List<Double> torch = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        boolean onFirst = round % 2 == 0;
        for (int k = 0; k < 2; k++) {
          boolean dropout = (k == 0) == onFirst;
          ObjectNode run = TrainStepBench.javaRun(o.withDropout(dropout ? 0.1 : 0.0), round);
          run.path("timed_step_s").forEach(x -> (dropout ? on : off).add(x.asDouble()));
        }
        double[] sites = sites(s, batch, length, 0.1, round);
        keyed.add(sites[0]);
        torch.add(sites[1]);
        System.out.printf(
            Locale.ROOT,
            "%s round %d: step dropout 0.1 %.3f s, 0 %.3f s; sites keyed %.1f ms, libtorch %.1f"
                + " ms%n",
            model,
            round,
            BenchEnv.median(on),
            BenchEnv.median(off),
            sites[0] * 1e3,
            sites[1] * 1e3);
      }
      double mOn = BenchEnv.median(on);
      double mOff = BenchEnv.median(off);
      double mKeyed = BenchEnv.median(keyed);
      double mTorch = BenchEnv.median(torch);
      ObjectNode r = results.putObject(model);
      r.put("layers", s[0]);
      r.put("hidden", s[1]);
      r.set("step_dropout_s", BenchEnv.stats(on));
      r.set("step_no_dropout_s", BenchEnv.stats(off));
      r.put("dropout_share_of_step", BenchEnv.round(mOn / mOff - 1));
      r.set("sites_keyed_s", BenchEnv.stats(keyed));
      r.set("sites_libtorch_s", BenchEnv.stats(torch));
      r.put("keyed_over_libtorch_per_step", BenchEnv.round((mKeyed - mTorch) / mOn));
      System.out.printf(
          Locale.ROOT,
          "%s: step %.3f s with dropout 0.1, %.3f s without (dropout is %+.1f %% of a step); keyed"
              + " masks %.1f ms vs libtorch dropout %.1f ms per micro-batch: keyed adds %+.1f %% of"
              + " a step%n",
          model,
          mOn,
          mOff,
          100 * (mOn / mOff - 1),
          mKeyed * 1e3,
          mTorch * 1e3,
          100 * (mKeyed - mTorch) / mOn);
    }
    Path out = BenchEnv.root().resolve("bench/results/dropout-cost.json");
    BenchEnv.writeJson(out, root);
    System.out.println("wrote " + out);
  }

  /**
   * Seconds for one micro-batch's dropout sites, forward and backward: {keyed, libtorch}; the
   * median of 3 repetitions each, after one warm-up.
   */
  static double[] sites(int[] s, int batch, int length, double rate, int round) {
    int layers = s[0];
    int hidden = s[1];
    int heads = s[2];
    int[] rows = new int[batch];
    for (int i = 0; i < batch; i++) {
      rows[i] = i;
    }
    List<Double> keyed = new ArrayList<>();
    List<Double> torch = new ArrayList<>();
    for (int rep = 0; rep < 4; rep++) {
      for (int side = 0; side < 2; side++) {
        try (NDManager nd = NDManager.newBaseManager()) {
          NDArray h = nd.randomUniform(0, 1, new Shape(batch, length, hidden));
          NDArray p = nd.randomUniform(0, 1, new Shape(batch, heads, length, length));
          h.setRequiresGradient(true);
          p.setRequiresGradient(true);
          DropoutMasks masks = DropoutMasks.of(42, round * 4L + rep, rows);
          long t0 = System.nanoTime();
          try (Autograd.Scope rec = Autograd.recording()) {
            NDArray sum = side == 0 ? masks.hidden(h, rate, 0).sum() : torchDropout(h, rate).sum();
            for (int l = 0; l < layers; l++) {
              if (side == 0) {
                sum =
                    sum.add(masks.attention(p, rate, DropoutMasks.attentionSite(l)).sum())
                        .add(masks.hidden(h, rate, DropoutMasks.attentionOutputSite(l)).sum())
                        .add(masks.hidden(h, rate, DropoutMasks.outputSite(l)).sum());
              } else {
                sum =
                    sum.add(torchDropout(p, rate).sum())
                        .add(torchDropout(h, rate).sum())
                        .add(torchDropout(h, rate).sum());
              }
            }
            sum =
                sum.add(
                    side == 0
                        ? masks.hidden(h, rate, DropoutMasks.classifierSite(layers)).sum()
                        : torchDropout(h, rate).sum());
            Autograd.backward(sum);
          }
          h.getGradient().toFloatArray(); // wait for the gradients
          double seconds = (System.nanoTime() - t0) / 1e9;
          if (rep > 0) {
            (side == 0 ? keyed : torch).add(seconds);
          }
        }
      }
    }
    return new double[] {BenchEnv.median(keyed), BenchEnv.median(torch)};
  }

  private static NDArray torchDropout(NDArray x, double rate) {
    return x.getNDArrayInternal().dropout(x, (float) rate, true).singletonOrThrow();
  }
}
