package io.sparkner.bench;

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
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * Data-parallel training over a simulated network: every training rank in its own Linux network
 * namespace, joined to a hub namespace by a veth pair whose two ends carry a token-bucket (tbf)
 * limit of 1, 10 or 25 Gbit/s (or none), so the ring's gradient traffic between ranks crosses
 * rate-limited links as it crosses NICs on a cluster ({@code bench/netns.sh} builds and removes the
 * namespaces). The ranks are the tasks of the real barrier stage: a Spark standalone master and the
 * driver ({@code sparkner train --replicas N}, {@code io.sparkner.cli.Main}) run in the hub
 * namespace, one Worker JVM with one core per rank namespace (its executor inherits the namespace),
 * so each rank's ring endpoint binds to its namespace's address (the executor's address Spark hands
 * the barrier task, {@code RankAddress}), never 127.0.0.1.
 *
 * <p>Per model (bge-small-zh-v1.5 with its real weights; the replica-scaling {@code base} shape)
 * and N (1, then each of {@code --ranks}) and rate: steady-state tokens/s (summed non-pad tokens ÷
 * summed rank-0 step seconds after the warm-up steps, metrics.jsonl), scaling against N=1, the
 * per-step breakdown (forward/backward, reduce_gradients, optimizer, gather_parameters; the exposed
 * communication is reduce + gather, the time rank 0 spends in the collectives), and the bytes the
 * ranks sent per steady step on their links ({@code ip -s link} between the warm-up step and the
 * last step) against the ring's 2Ψ(N−1)/N fp32 values per rank. N=1 trains on the driver (no
 * gradient traffic), once per round, as every N's baseline.
 *
 * <p>Fairness on a small machine: every replica computes on one libtorch intra-op thread (one
 * executor core, {@code spark.task.cpus=1}; N=1 trains on the driver, which keeps libtorch's
 * default threads, so the driver starts with {@code -Dai.djl.pytorch.num_threads=1}) and trains the
 * same micro batch (weak scaling); N=3 on 2 cores is oversubscribed 1.5×, which the JSON says next
 * to the figure. Rounds interleave the variants (odd rounds reversed).
 *
 * <p>ZeRO ({@code --zero STAGE}, 0 by default) and {@code zero_optimization.overlap_comm} ({@code
 * --overlap-comm off|on|off,on}, off by default): every run trains with that ZeRO stage; with a
 * list of overlap settings each N and rate runs once per setting in every round (a variant
 * dimension, interleaved like the rates; the overlapped variants' keys end in {@code -overlap}),
 * and each overlapped variant reports {@code overlap_speedup_vs_off} (its median tokens/s over the
 * same N and rate without the overlap). {@code --sparse-gradients off|on|off,on} does the same for
 * DeepSpeed's {@code sparse_gradients} (keys end in {@code -sparse}, {@code
 * sparse_speedup_vs_dense}). With the overlap, gather_parameters is what rank 0 actually waited for
 * the background all-gather plus its copies into libtorch (see Trainer.Breakdown), so the exposed
 * communication stays what it says. The expected ring payload follows the stage: 2Ψ(N−1)/N values a
 * rank for ZeRO 0 (all-reduce) and 2 (reduce-scatter + all-gather), 3Ψ(N−1)/N for ZeRO 1
 * (all-reduce + all-gather).
 *
 * <p>{@code bench/run net-scaling [--models bge-small,base] [--ranks 2,3] [--rates-gbit 1,10,25]
 * [--steps 8] [--warmup 2] [--rounds 2] [--micro-batch 16] [--no-unlimited] [--zero 0]
 * [--overlap-comm off] [--sparse-gradients off] [--corpus PATH] [--work DIR] [--out FILE]
 * [--git-dir DIR] [--run-timeout-s 1800]}. Writes {@code bench/results/net-scaling.json}. Needs
 * root, {@code ip} and {@code tc} (exit 2 otherwise).
 */
public final class NetScalingBench {
  static final String HUB_IP = "10.208.0.1";
  static final int MASTER_PORT = 7077;

  /** DJL's PyTorch engine sets libtorch's intra-op threads to this property when it starts. */
  static final String THREADS_PROPERTY = "ai.djl.pytorch.num_threads";

  private static final java.util.regex.Pattern ENGINE_THREADS =
      java.util.regex.Pattern.compile("Number of intra-op threads is (\\d+)");

  private NetScalingBench() {}

  record Spec(String name, Path modelDir, String about) {}

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()))
            .toAbsolutePath()
            .normalize();
    List<String> models = List.of("bge-small", "base");
    List<Integer> ranks = List.of(2, 3);
    List<Integer> rates = List.of(1, 10, 25);
    boolean unlimited = true;
    int steps = 8;
    int warmup = 2;
    int rounds = 2;
    int micro = 16;
    int zero = 0;
    List<Boolean> overlaps = List.of(false);
    List<Boolean> sparses = List.of(false);
    long runTimeout = 1800;
    Path corpus = shared.resolve("data/stockmark/ner.json");
    Path work = root.resolve("bench/work/net-scaling");
    Path out = root.resolve("bench/results/net-scaling.json");
    String gitDir = null;
    String usage =
        "usage: bench/run net-scaling [--models bge-small,base] [--ranks 2,3] [--rates-gbit"
            + " 1,10,25] [--steps 8] [--warmup 2] [--rounds 2] [--micro-batch 16] [--no-unlimited]"
            + " [--zero 0] [--overlap-comm off|on|off,on] [--sparse-gradients off|on|off,on]"
            + " [--corpus PATH] [--work DIR] [--out FILE]"
            + " [--git-dir DIR] [--run-timeout-s 1800]";
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("--no-unlimited")) {
          unlimited = false;
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        String v = args[++i];
        switch (a) {
          case "--models" -> models = List.of(v.split(","));
          case "--ranks" -> ranks = ints(a, v, 2, 9);
          case "--rates-gbit" -> rates = ints(a, v, 1, 400);
          case "--steps" -> steps = ints(a, v, 2, 100000).get(0);
          case "--warmup" -> warmup = ints(a, v, 0, 100000).get(0);
          case "--rounds" -> rounds = ints(a, v, 1, 1000).get(0);
          case "--micro-batch" -> micro = ints(a, v, 1, 4096).get(0);
          case "--zero" -> zero = ints(a, v, 0, 2).get(0);
          case "--overlap-comm" -> overlaps = onOff(a, v);
          case "--sparse-gradients" -> sparses = onOff(a, v);
          case "--run-timeout-s" -> runTimeout = ints(a, v, 10, 864000).get(0);
          case "--corpus" -> corpus = Path.of(v);
          case "--work" -> work = Path.of(v);
          case "--out" -> out = Path.of(v);
          case "--git-dir" -> gitDir = v;
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
      for (String m : models) {
        if (!m.equals("bge-small") && !m.equals("base")) {
          throw new IllegalArgumentException(
              "--models: unknown model '" + m + "' (bge-small, base)");
        }
      }
      if (overlaps.contains(true) && zero == 0) {
        throw new IllegalArgumentException(
            "--overlap-comm on needs --zero 1 or 2 (at stage 0 overlap_comm has no effect: there"
                + " is no parameter all-gather to overlap)");
      }
      if (warmup >= steps) {
        throw new IllegalArgumentException(
            "--warmup " + warmup + " must be below --steps " + steps + " (no steady steps left)");
      }
    } catch (IllegalArgumentException e) {
      System.err.println("net-scaling: " + e.getMessage() + "\n" + usage);
      System.exit(2);
    }
    Path script = root.resolve("bench/netns.sh");
    Netns.Result check = Netns.call(script, "check");
    if (check.code() != 0) {
      System.err.print(check.output());
      System.err.println("net-scaling: cannot build the simulated network (see above)");
      System.exit(2);
    }
    if (!Files.isRegularFile(corpus)) {
      System.err.println(
          "net-scaling: "
              + corpus
              + " is missing (the shared Stockmark corpus; set SPARKNER_SHARED or --corpus)");
      System.exit(1);
    }
    Path bge = shared.resolve("models/bge-small-zh-v1.5");
    if (models.contains("bge-small") && !Files.isRegularFile(bge.resolve("model.safetensors"))) {
      System.err.println("net-scaling: " + bge + "/model.safetensors is missing (bge-small)");
      System.exit(1);
    }
    work = work.toAbsolutePath().normalize();
    Files.createDirectories(work);
    Path prepared = work.resolve("prepared-bge");
    prepare(corpus, bge.resolve("tokenizer.json"), prepared, work);
    Map<String, Spec> specs = new LinkedHashMap<>();
    specs.put(
        "bge-small",
        new Spec(
            "bge-small",
            bge,
            "bge-small-zh-v1.5, real weights (4 layers, hidden 512), a new token-classification"
                + " head"));
    specs.put(
        "base",
        new Spec(
            "base",
            work.resolve("model-base"),
            "the replica-scaling base shape: BERT-base layers (hidden 768, 12 heads, intermediate"
                + " 3072), 2 layers, vocab 21128, random init"));

    ObjectNode result = BenchEnv.JSON.createObjectNode();
    result.put("benchmark", "net-scaling");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    result.set("env", env);
    ObjectNode cfg = result.putObject("config");
    cfg.put("topology", Netns.TOPOLOGY);
    cfg.put("rates_gbit_note", "0 = no tbf (the veth pairs and the bridge alone)");
    ArrayNode ratesNode = cfg.putArray("rates_gbit");
    List<Integer> allRates = new ArrayList<>(rates);
    if (unlimited) {
      allRates.add(0);
    }
    allRates.forEach(ratesNode::add);
    ArrayNode ranksNode = cfg.putArray("ranks");
    ranks.forEach(ranksNode::add);
    cfg.put("steps", steps);
    cfg.put("warmup_steps_excluded", warmup);
    cfg.put("rounds", rounds);
    cfg.put("per_replica_micro_batch", micro);
    cfg.put("zero_stage", zero);
    ArrayNode overlapNode = cfg.putArray("overlap_comm");
    overlaps.forEach(overlapNode::add);
    ArrayNode sparseNode = cfg.putArray("sparse_gradients");
    sparses.forEach(sparseNode::add);
    cfg.put(
        "sparse_gradients_note",
        "sparse_gradients of a DeepSpeed config given to every N > 1 run (--deepspeed); with more"
            + " than one setting, each (N, rate) runs with each, in every round; keys of sparse"
            + " variants end in -sparse and report sparse_speedup_vs_dense; their link bytes are"
            + " below the dense ring payload the JSON expects (the touched word-embedding rows"
            + " travel instead of the whole table)");
    cfg.put(
        "overlap_comm_note",
        "zero_optimization.overlap_comm of a DeepSpeed config given to every N > 1 run"
            + " (--deepspeed, with the stage); with more than one setting, each (N, rate) runs with"
            + " each, in every round; keys of overlapped variants end in -overlap;"
            + " gather_parameters is then the time rank 0 waited for the background gather plus its"
            + " copies into libtorch; the last step waits for its own whole gather (no forward"
            + " follows to hide it behind) and counts among the steady steps, so more --steps"
            + " dilute it; link bytes per step then also shift by the part of the warm-up step's"
            + " gather still in flight when its metrics line appears");
    cfg.put("scaling", "weak: every replica trains the same micro batch, global batch = micro·N");
    cfg.put("corpus", corpus.toString());
    cfg.put("prepared", prepared.toString());
    cfg.put(
        "threads",
        "every replica computes on 1 libtorch intra-op thread: one executor per Worker (--cores 1,"
            + " spark.executor.cores=1, spark.task.cpus=1, TaskCompute); N=1 trains on the"
            + " driver, which keeps libtorch's default threads, so the driver and executors start"
            + " with -Dai.djl.pytorch.num_threads=1 (each run records driver_intra_op_threads, what"
            + " DJL's engine logged)");
    cfg.put(
        "oversubscription",
        "the machine has "
            + Runtime.getRuntime().availableProcessors()
            + " cores: N ranks of 1 thread each need N cores, so N=3 on 2 cores runs 1.5 ranks per"
            + " core and its compute alone caps its scaling at the core count, not at N; the"
            + " network's cost is read against the same N unlimited (network_cost)");
    cfg.put(
        "figure",
        "steady tokens/s = sum of non-pad tokens / sum of rank-0 step seconds over steps > warmup"
            + " (metrics.jsonl); median over rounds; scaling = median(N, rate) / median(N=1);"
            + " network_cost = median(N, rate) / median(N, unlimited); exposed communication ="
            + " reduce_gradients + gather_parameters seconds per step (rank 0)");
    cfg.put(
        "exposed_communication",
        "reduce_gradients + gather_parameters of rank 0 (collective_phases_seconds_per_step) minus"
            + " what N=1 spends in the same two phases (the local copies of gradients out of and"
            + " parameters into libtorch, no collective): the communication not hidden behind"
            + " compute, waiting for the slower rank included; wire_seconds_per_step_at_rate = a"
            + " rank's ring payload 2Ψ(N−1)/N·4 bytes at the link's rate, the floor of that time");
    cfg.put(
        "bytes",
        "link_bytes_per_step: what all ranks sent on their own veth (ip -s link tx bytes, frames"
            + " with headers) between the warm-up step and the last step, per steady step;"
            + " ring_payload_bytes_per_step_expected: N ranks × kΨ(N−1)/N fp32 values, k = 2 for"
            + " ZeRO 0 (all-reduce) and 2 (reduce-scatter + all-gather), 3 for ZeRO 1 (all-reduce +"
            + " all-gather)");
    cfg.put(
        "order",
        "per round: N=1, then every (N, rate); odd rounds in reverse; one cluster for the whole"
            + " run (max ranks workers; an application with spark.cores.max=N gets N executors)");
    ObjectNode modelsNode = result.putObject("models");

    String prefix = "sknet" + ProcessHandle.current().pid();
    int maxRanks = Collections.max(ranks);
    Netns.call(script, "sweep"); // namespaces of an earlier run that was killed
    Cluster cluster = new Cluster(script, prefix, maxRanks, work.resolve("cluster"));
    Thread hook = new Thread(cluster::close, "net-scaling-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    List<String> summary = new ArrayList<>();
    int exit = 0;
    try {
      cluster.start();
      for (String m : models) {
        Spec spec = specs.get(m);
        if (m.equals("base")) {
          initBase(spec.modelDir(), prepared, shared, work);
        }
        long psi =
            ReplicaScalingBench.parameterCount(
                spec.modelDir(),
                Labels.fromJson(Files.readString(prepared.resolve("labels.json"))).labels());
        ObjectNode mn = modelsNode.putObject(m);
        mn.put("about", spec.about());
        mn.put("model_dir", spec.modelDir().toString());
        mn.put("parameters", psi);
        List<String> variants = new ArrayList<>();
        variants.add(key(1, 0, false));
        for (int n : ranks) {
          for (int r : allRates) {
            for (boolean ov : overlaps) {
              for (boolean sp : sparses) {
                variants.add(key(n, r, ov, sp));
              }
            }
          }
        }
        Map<String, List<Double>> tps = new LinkedHashMap<>();
        Map<String, ArrayNode> runs = new LinkedHashMap<>();
        for (String v : variants) {
          tps.put(v, new ArrayList<>());
          runs.put(v, BenchEnv.JSON.createArrayNode());
        }
        for (int round = 0; round < rounds; round++) {
          List<String> order = new ArrayList<>(variants);
          if (round % 2 == 1) {
            Collections.reverse(order);
          }
          for (String v : order) {
            int n = nOf(v);
            int rate = rateOf(v);
            boolean ov = overlapOf(v);
            boolean sp = sparseOf(v);
            ObjectNode run =
                cluster.train(
                    spec,
                    prepared,
                    work,
                    n,
                    rate,
                    zero,
                    ov,
                    sp,
                    steps,
                    warmup,
                    micro,
                    round,
                    runTimeout);
            run.put(
                "ring_payload_bytes_per_step_expected", 4L * payloadFactor(zero) * psi * (n - 1));
            runs.get(v).add(run);
            tps.get(v).add(run.path("steady_tokens_per_second").asDouble());
            log(
                "%s %s round %d: %.1f tokens/s steady, per step %s, link bytes/step %s (expected"
                    + " ring payload %,d), other processes %.2f cores",
                m,
                v,
                round,
                run.path("steady_tokens_per_second").asDouble(),
                run.path("steady_breakdown_seconds_per_step"),
                run.path("steady_links").path("rank_tx_bytes_per_step"),
                4L * payloadFactor(zero) * psi * (n - 1),
                run.path("steady_window").path("other_processes_cores").asDouble());
          }
          summarize(mn, variants, tps, runs, psi, zero, cfg);
          BenchEnv.writeJson(out, result); // partial results survive a later failure
        }
        summarize(mn, variants, tps, runs, psi, zero, cfg);
        for (String v : variants) {
          summary.add(
              String.format(
                  Locale.ROOT,
                  "%s %s: %.0f tokens/s, scaling %.2f, network cost %s, exposed comm %.3f s/step,"
                      + " link bytes/step %,d",
                  m,
                  v,
                  mn.path("variants").path(v).path("tokens_per_second").path("median").asDouble(),
                  mn.path("variants").path(v).path("scaling_vs_n1").asDouble(),
                  mn.path("variants").path(v).has("network_cost")
                      ? String.format(
                          Locale.ROOT,
                          "%.2f",
                          mn.path("variants").path(v).path("network_cost").asDouble())
                      : "n/a",
                  mn.path("variants")
                      .path(v)
                      .path("exposed_communication_seconds_per_step")
                      .asDouble(),
                  mn.path("variants").path(v).path("link_bytes_per_step_median").asLong()));
        }
        BenchEnv.writeJson(out, result);
      }
    } catch (Exception e) {
      System.err.println("net-scaling: failed: " + e);
      e.printStackTrace();
      result.put("error", String.valueOf(e.getMessage()));
      exit = 1;
    } finally {
      cluster.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
    result.set("cleanup", cluster.cleanupReport());
    BenchEnv.writeJson(out, result);
    summary.forEach(System.out::println);
    System.out.println("wrote " + out);
    System.exit(exit);
  }

  static String key(int n, int rate) {
    return key(n, rate, false);
  }

  static String key(int n, int rate, boolean overlap) {
    return key(n, rate, overlap, false);
  }

  /**
   * "n1", "n2-1gbit", "n3-unlimited", "n2-10gbit-overlap" (overlap_comm on), "n2-1gbit-sparse"
   * (sparse_gradients on), "n2-1gbit-overlap-sparse".
   */
  static String key(int n, int rate, boolean overlap, boolean sparse) {
    if (n == 1) {
      return "n1";
    }
    return "n"
        + n
        + "-"
        + (rate == 0 ? "unlimited" : rate + "gbit")
        + (overlap ? "-" + OVERLAP_SUFFIX : "")
        + (sparse ? "-" + SPARSE_SUFFIX : "");
  }

  static final String OVERLAP_SUFFIX = "overlap";
  static final String SPARSE_SUFFIX = "sparse";

  static int nOf(String key) {
    int dash = key.indexOf('-');
    return Integer.parseInt(key.substring(1, dash < 0 ? key.length() : dash));
  }

  static int rateOf(String key) {
    String[] parts = key.split("-");
    if (parts.length < 2 || parts[1].equals("unlimited")) {
      return 0;
    }
    return Integer.parseInt(parts[1].substring(0, parts[1].length() - "gbit".length()));
  }

  static boolean overlapOf(String key) {
    return List.of(key.split("-")).contains(OVERLAP_SUFFIX);
  }

  static boolean sparseOf(String key) {
    return List.of(key.split("-")).contains(SPARSE_SUFFIX);
  }

  /** Ring payload a rank sends per step, in units of Ψ(N−1)/N values, by ZeRO stage. */
  static int payloadFactor(int zero) {
    return zero == 1 ? 3 : 2;
  }

  /** "off", "on" or "off,on" (either order): the overlap_comm settings to run. */
  static List<Boolean> onOff(String option, String value) {
    List<Boolean> out = new ArrayList<>();
    for (String s : value.split(",")) {
      boolean b =
          switch (s.trim()) {
            case "on" -> true;
            case "off" -> false;
            default ->
                throw new IllegalArgumentException(
                    option + ": '" + s + "' is neither on nor off (off, on or off,on)");
          };
      if (out.contains(b)) {
        throw new IllegalArgumentException(option + ": '" + s.trim() + "' is given twice");
      }
      out.add(b);
    }
    return out;
  }

  /** Medians, scaling against N=1, network cost against the same N unlimited, the breakdown. */
  static void summarize(
      ObjectNode mn,
      List<String> variants,
      Map<String, List<Double>> tps,
      Map<String, ArrayNode> runs,
      long psi,
      int zero,
      ObjectNode cfg) {
    ObjectNode vn = mn.putObject("variants");
    double n1 = tps.get("n1").isEmpty() ? Double.NaN : BenchEnv.median(tps.get("n1"));
    for (String v : variants) {
      if (tps.get(v).isEmpty()) {
        continue;
      }
      int n = nOf(v);
      int rate = rateOf(v);
      boolean ov = overlapOf(v);
      boolean sp = sparseOf(v);
      ObjectNode x = vn.putObject(v);
      x.put("replicas", n);
      x.put("rate_gbit", rate);
      x.put("zero_stage", zero);
      x.put("overlap_comm", ov);
      x.put("sparse_gradients", sp);
      x.set("tokens_per_second", BenchEnv.stats(tps.get(v)));
      double med = BenchEnv.median(tps.get(v));
      x.put("scaling_vs_n1", BenchEnv.round(med / n1));
      String unl = key(n, 0, ov, sp);
      if (n > 1 && tps.containsKey(unl) && !tps.get(unl).isEmpty()) {
        x.put("network_cost", BenchEnv.round(med / BenchEnv.median(tps.get(unl))));
      }
      String off = key(n, rate, false, sp);
      if (ov && tps.containsKey(off) && !tps.get(off).isEmpty()) {
        x.put("overlap_speedup_vs_off", BenchEnv.round(med / BenchEnv.median(tps.get(off))));
      }
      String dense = key(n, rate, ov, false);
      if (sp && tps.containsKey(dense) && !tps.get(dense).isEmpty()) {
        x.put("sparse_speedup_vs_dense", BenchEnv.round(med / BenchEnv.median(tps.get(dense))));
      }
      ObjectNode bd = x.putObject("breakdown_seconds_per_step_median");
      for (String phase :
          List.of("forward_backward", "reduce_gradients", "optimizer", "gather_parameters")) {
        bd.put(
            phase,
            BenchEnv.round(medianField(runs.get(v), "steady_breakdown_seconds_per_step", phase)));
      }
      double phases =
          bd.path("reduce_gradients").asDouble() + bd.path("gather_parameters").asDouble();
      x.put("collective_phases_seconds_per_step", BenchEnv.round(phases));
      // the two phases also copy the gradients out of libtorch and the parameters back in: that
      // local part is what N=1 spends in them (no collective there), the rest is communication
      // that is not hidden behind compute, waiting for the slower rank included
      double local =
          medianField(runs.get("n1"), "steady_breakdown_seconds_per_step", "reduce_gradients")
              + medianField(
                  runs.get("n1"), "steady_breakdown_seconds_per_step", "gather_parameters");
      x.put(
          "exposed_communication_seconds_per_step",
          n == 1 ? 0.0 : BenchEnv.round(Math.max(0, phases - local)));
      x.put(
          "exposed_communication_share_of_step",
          n == 1
              ? 0.0
              : BenchEnv.round(
                  Math.max(0, phases - local)
                      / medianField(runs.get(v), "step_seconds", "median")));
      long perRank = 4L * payloadFactor(zero) * psi * (n - 1) / n;
      if (rate > 0 && n > 1) {
        // the least time a rank's share of the ring needs on its link at this rate (payload only)
        x.put("wire_seconds_per_step_at_rate", BenchEnv.round(perRank * 8.0 / (rate * 1e9)));
      }
      x.put("ring_payload_bytes_per_rank_per_step_expected", perRank);
      x.put(
          "step_seconds_median",
          BenchEnv.round(medianField(runs.get(v), "step_seconds", "median")));
      x.put(
          "link_bytes_per_step_median",
          Math.round(medianField(runs.get(v), "steady_links", "rank_tx_bytes_per_step")));
      x.put("ring_payload_bytes_per_step_expected", 4L * payloadFactor(zero) * psi * (n - 1));
      if (n > Runtime.getRuntime().availableProcessors()) {
        x.put("oversubscribed", cfg.path("oversubscription").asText());
      }
      x.set("runs", runs.get(v));
    }
  }

  static double medianField(ArrayNode runs, String object, String field) {
    List<Double> v = new ArrayList<>();
    runs.forEach(
        r -> {
          if (r.path(object).has(field)) {
            v.add(r.path(object).path(field).asDouble());
          }
        });
    return v.isEmpty() ? Double.NaN : BenchEnv.median(v);
  }

  static List<Integer> ints(String option, String value, int min, int max) {
    List<Integer> out = new ArrayList<>();
    for (String s : value.split(",")) {
      int x;
      try {
        x = Integer.parseInt(s.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + ": '" + s + "' is not a whole number");
      }
      if (x < min || x > max) {
        throw new IllegalArgumentException(
            option + ": " + x + " is out of range " + min + ".." + max);
      }
      out.add(x);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(option + " needs at least one value");
    }
    return out;
  }

  /** Prepares the corpus with the bge tokenizer once (an embedded local Spark, no network). */
  static void prepare(Path corpus, Path tokenizer, Path prepared, Path work) throws IOException {
    if (Files.isRegularFile(prepared.resolve("summary.json"))) {
      log("reusing %s", prepared);
      return;
    }
    log("preparing %s with %s into %s", corpus, tokenizer, prepared);
    SparkSession spark = localSpark();
    try {
      PrepareJob.run(
          spark,
          new PrepareOptions(
              List.of(CorpusInput.parse("stockmark:" + corpus.toUri())),
              tokenizer.toString(),
              prepared.toString(),
              ReadOptions.defaults(),
              LabelScheme.IOB2,
              AlignOptions.defaults(),
              true));
    } finally {
      spark.stop();
    }
  }

  static void initBase(Path modelDir, Path prepared, Path shared, Path work) throws IOException {
    if (Files.isRegularFile(modelDir.resolve("config.json"))) {
      return;
    }
    Path config = work.resolve("bert-base-2l-config.json");
    Files.writeString(config, ReplicaScalingBench.BASE_CONFIG, StandardCharsets.UTF_8);
    log("init %s from %s", modelDir, config);
    io.sparkner.cli.TestAccess.init(
        config.toString(),
        shared.resolve("models/bge-small-zh-v1.5/tokenizer.json").toString(),
        prepared.resolve("labels.json").toString(),
        modelDir.toString());
  }

  private static SparkSession localSpark() {
    SparkSession spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("sparkner bench net-scaling (prepare)")
            .config("spark.ui.enabled", false)
            .config("spark.sql.shuffle.partitions", 4)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    return spark;
  }

  static void log(String fmt, Object... args) {
    System.out.printf(Locale.ROOT, "[net-scaling] " + fmt + "%n", args);
  }

  /** Calls of bench/netns.sh. */
  static final class Netns {
    static final String TOPOLOGY =
        "hub namespace (bridge br0, 10.208.0.1: Spark master and driver) + one namespace per rank"
            + " (veth 'nic', 10.208.0.11+i: a Worker with one core and its executor), each rank's"
            + " veth pair bridged in the hub; tbf on both ends of every rank's pair (rank egress on"
            + " 'nic', rank ingress on the hub end h<i>): a NIC of that rate in each direction on a"
            + " non-blocking switch";

    record Result(int code, String output) {}

    static Result call(Path script, String... args) throws IOException, InterruptedException {
      List<String> cmd = new ArrayList<>();
      cmd.add(script.toString());
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process p;
      try {
        p = pb.start();
      } catch (IOException e) {
        return new Result(127, "cannot run " + script + ": " + e.getMessage() + "\n");
      }
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(124, output + "(timed out)\n");
      }
      return new Result(p.exitValue(), output);
    }

    static String must(Path script, String... args) throws IOException, InterruptedException {
      Result r = call(script, args);
      if (r.code() != 0) {
        throw new IllegalStateException(
            "bench/netns.sh " + String.join(" ", args) + " exited " + r.code() + ": " + r.output());
      }
      return r.output();
    }

    /** Per link end ("ns/dev"): tx bytes, rx bytes, tbf overlimits and drops. */
    static Map<String, long[]> counters(Path script, String prefix)
        throws IOException, InterruptedException {
      Map<String, long[]> c = new LinkedHashMap<>();
      for (String line : must(script, "counters", prefix).split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode j = BenchEnv.JSON.readTree(line);
        JsonNode s = j.path("link").path(0).path("stats64");
        JsonNode q = j.path("qdisc").path(0);
        c.put(
            j.path("ns").asText() + "/" + j.path("dev").asText(),
            new long[] {
              s.path("tx").path("bytes").asLong(),
              s.path("rx").path("bytes").asLong(),
              q.path("kind").asText().equals("tbf") ? q.path("overlimits").asLong() : 0,
              q.path("kind").asText().equals("tbf") ? q.path("drops").asLong() : 0
            });
      }
      return c;
    }

    /** The change of the counters; rank_tx_bytes = what the ranks sent on their own veth ends. */
    static ObjectNode delta(Map<String, long[]> a, Map<String, long[]> b, int steps) {
      ObjectNode d = BenchEnv.JSON.createObjectNode();
      ObjectNode links = d.putObject("links");
      long rankTx = 0;
      long overlimits = 0;
      for (Map.Entry<String, long[]> e : b.entrySet()) {
        long[] x = a.getOrDefault(e.getKey(), new long[4]);
        long[] y = e.getValue();
        ObjectNode l = links.putObject(e.getKey());
        l.put("tx_bytes", y[0] - x[0]);
        l.put("rx_bytes", y[1] - x[1]);
        l.put("tbf_overlimits", y[2] - x[2]);
        l.put("tbf_drops", y[3] - x[3]);
        if (e.getKey().endsWith("/nic")) {
          rankTx += y[0] - x[0];
        }
        overlimits += y[2] - x[2];
      }
      d.put("rank_tx_bytes", rankTx);
      d.put("tbf_overlimits", overlimits);
      if (steps > 0) {
        d.put("rank_tx_bytes_per_step", rankTx / steps);
      }
      return d;
    }
  }

  /**
   * A Spark standalone cluster inside the namespaces: master in the hub, a Worker (one core) per
   * rank namespace, and per training a driver in the hub. Every process is a child of this JVM
   * ({@code ip netns exec NS java ...}); {@link #close} kills them by pid and removes the
   * namespaces (bench/netns.sh down, which also kills whatever still runs in them).
   */
  static final class Cluster implements AutoCloseable {
    private final Path script;
    private final String prefix;
    private final int workers;
    private final Path dir;
    private final Path sparkHome;
    private final List<Process> started = new CopyOnWriteArrayList<>();
    private final List<String> jvmOptions;
    private final Path jobLog;
    private final String classpath;
    private final ObjectNode cleanup = BenchEnv.JSON.createObjectNode();
    private volatile boolean closed;
    private Process master;
    private int runs;

    Cluster(Path script, String prefix, int workers, Path dir) {
      this.script = script;
      this.prefix = prefix;
      this.workers = workers;
      this.dir = dir;
      this.sparkHome = dir.resolve("spark-home");
      this.classpath = System.getProperty("java.class.path");
      // the --add-opens and friends bench/run gives this JVM, for every JVM of the cluster
      List<String> opts = new ArrayList<>();
      for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
        if (a.startsWith("--add-opens")
            || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
            || a.startsWith("-Djdk.reflect.")
            || a.startsWith("-Dio.netty.")
            || a.startsWith("-Dai.djl.")) {
          opts.add(a);
        }
      }
      this.jvmOptions = opts;
      this.jobLog = dir.resolve("log4j2-jobs.properties");
    }

    static String rankIp(int i) {
      return "10.208.0." + (11 + i);
    }

    void start() throws IOException, InterruptedException {
      ReplicaScalingBench.deleteTree(dir);
      // a SPARK_HOME for the Worker's executor launcher: RELEASE makes it take jars/ (empty here;
      // the classes come from spark.executor.extraClassPath, this JVM's classpath)
      Files.createDirectories(sparkHome.resolve("jars"));
      Files.createFile(sparkHome.resolve("RELEASE"));
      // the master's and workers' logging: their lifecycle at INFO (the classpath holds the tests'
      // quiet log4j2-test.properties, which would hide the worker registrations awaited below)
      Files.writeString(
          dir.resolve("log4j2-cluster.properties"),
          """
          rootLogger.level = warn
          rootLogger.appenderRef.stderr.ref = console
          appender.console.type = Console
          appender.console.name = console
          appender.console.target = SYSTEM_ERR
          appender.console.layout.type = PatternLayout
          appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n
          logger.deploy.name = org.apache.spark.deploy
          logger.deploy.level = info
          """,
          StandardCharsets.UTF_8);
      String clusterLog = "-Dlog4j2.configurationFile=" + dir.resolve("log4j2-cluster.properties");
      // the driver and the executors log as bin/sparkner does (sparkner at INFO, Spark's warnings),
      // and DJL's engine says how many intra-op threads libtorch starts with
      String base = System.getProperty("log4j2.configurationFile");
      Files.writeString(
          jobLog,
          (base != null && Files.isRegularFile(Path.of(base))
                  ? Files.readString(Path.of(base))
                  : "rootLogger.level = warn\nrootLogger.appenderRef.stderr.ref = console\n"
                      + "appender.console.type = Console\nappender.console.name = console\n"
                      + "appender.console.target = SYSTEM_ERR\n")
              + "\nlogger.ptengine.name = ai.djl.pytorch.engine.PtEngine\n"
              + "logger.ptengine.level = info\n",
          StandardCharsets.UTF_8);
      Netns.must(script, "up", prefix, Integer.toString(workers));
      master =
          launch(
              prefix + "-hub",
              HUB_IP,
              "master",
              List.of("-Xmx256m", clusterLog),
              "org.apache.spark.deploy.master.Master",
              List.of("--host", HUB_IP, "--port", "" + MASTER_PORT, "--webui-port", "8080"));
      for (int i = 0; i < workers; i++) {
        Path wd = dir.resolve("worker-" + i);
        Files.createDirectories(wd);
        launch(
            prefix + "-r" + i,
            rankIp(i),
            "worker-" + i,
            List.of("-Xmx256m", clusterLog),
            "org.apache.spark.deploy.worker.Worker",
            List.of(
                "--host",
                rankIp(i),
                "--port",
                "7078",
                "--webui-port",
                "8081",
                "--cores",
                "1",
                "--memory",
                "6g",
                "--work-dir",
                wd.toString(),
                "spark://" + HUB_IP + ":" + MASTER_PORT));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (true) {
        long registered =
            io.sparkner.cluster.StandaloneCluster.countLines(
                dir.resolve("master.log"), "Registering worker");
        if (registered >= workers) {
          log("cluster up: master and %d workers in namespaces %s-*", workers, prefix);
          return;
        }
        for (Process p : started) {
          if (!p.isAlive()) {
            throw new IllegalStateException(
                "a cluster process exited with " + p.exitValue() + "; see the logs in " + dir);
          }
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              workers + " workers did not register within 180 s; see the logs in " + dir);
        }
        Thread.sleep(250);
      }
    }

    private Process launch(
        String ns, String ip, String name, List<String> jvm, String mainClass, List<String> args)
        throws IOException {
      List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(jvmOptions);
      cmd.addAll(jvm);
      cmd.add("-cp");
      cmd.add(classpath);
      cmd.add(mainClass);
      cmd.addAll(args);
      ProcessBuilder pb = new ProcessBuilder(cmd);
      Map<String, String> env = pb.environment();
      env.put("SPARK_HOME", sparkHome.toString());
      env.put("SPARK_SCALA_VERSION", scalaVersion());
      env.put("SPARK_LOCAL_IP", ip);
      env.put("SPARK_LOCAL_HOSTNAME", ip);
      env.remove("SPARK_CONF_DIR");
      env.remove("HADOOP_CONF_DIR");
      pb.redirectErrorStream(true);
      pb.redirectOutput(dir.resolve(name + ".log").toFile());
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      synchronized (this) {
        if (closed) {
          throw new IllegalStateException("the cluster is closed");
        }
        Process p = pb.start();
        started.add(p);
        return p;
      }
    }

    private static String scalaVersion() {
      String v = scala.util.Properties.versionNumberString();
      return v.substring(0, v.lastIndexOf('.'));
    }

    /** One `sparkner train --replicas N` in the hub namespace at this rate; its measurements. */
    ObjectNode train(
        Spec spec,
        Path prepared,
        Path work,
        int n,
        int rate,
        int zero,
        boolean overlap,
        boolean sparse,
        int steps,
        int warmup,
        int micro,
        int round,
        long timeoutSeconds)
        throws IOException, InterruptedException {
      Netns.must(script, "rate", prefix, Integer.toString(rate));
      Path output =
          work.resolve("runs/" + spec.name() + "-" + key(n, rate, overlap, sparse) + "-r" + round);
      ReplicaScalingBench.deleteTree(output);
      int id = ++runs;
      List<String> jvm =
          new ArrayList<>(
              List.of(
                  "-Xmx3g",
                  "-Dlog4j2.configurationFile=" + jobLog,
                  // N=1 trains on the driver, which (unlike a task) keeps libtorch's default
                  // threads: one intra-op thread, as every rank has
                  "-D" + THREADS_PROPERTY + "=1",
                  "-Dspark.master=spark://" + HUB_IP + ":" + MASTER_PORT,
                  "-Dspark.app.name=sparkner net-scaling " + id,
                  "-Dspark.driver.host=" + HUB_IP,
                  "-Dspark.driver.bindAddress=" + HUB_IP,
                  "-Dspark.cores.max=" + n,
                  "-Dspark.executor.cores=1",
                  "-Dspark.task.cpus=1",
                  "-Dspark.executor.memory=3g",
                  "-Dspark.executor.extraClassPath=" + classpath,
                  "-Dspark.executor.extraJavaOptions="
                      + String.join(" ", jvmOptions)
                      + " -Dlog4j2.configurationFile="
                      + jobLog
                      + " -D"
                      + THREADS_PROPERTY
                      + "=1",
                  "-Dspark.scheduler.minRegisteredResourcesRatio=1.0",
                  "-Dspark.scheduler.maxRegisteredResourcesWaitingTime=180s",
                  "-Dspark.ui.enabled=false",
                  "-Dspark.ui.showConsoleProgress=false"));
      List<String> train =
          new ArrayList<>(
              List.of(
                  "train",
                  "--data",
                  prepared.toString(),
                  "--model",
                  spec.modelDir().toString(),
                  "--output",
                  output.toString(),
                  "--replicas",
                  Integer.toString(n),
                  "--device",
                  "cpu"));
      for (String s :
          List.of(
              "per_device_train_batch_size=" + micro,
              "max_steps=" + steps,
              "logging_steps=1",
              "save_steps=1000000",
              "eval_strategy=no",
              "seed=42",
              "zero_stage=" + zero)) {
        train.add("--set");
        train.add(s);
      }
      if (overlap || sparse) {
        // the stage too: a zero_optimization section's stage wins over zero_stage
        Path ds =
            work.resolve("ds-zero" + zero + "-overlap-" + overlap + "-sparse-" + sparse + ".json");
        Files.writeString(
            ds,
            "{\"zero_optimization\": {\"stage\": "
                + zero
                + ", \"overlap_comm\": "
                + overlap
                + "}, \"sparse_gradients\": "
                + sparse
                + "}\n",
            StandardCharsets.UTF_8);
        train.add("--deepspeed");
        train.add(ds.toString());
      }
      Map<String, long[]> before = Netns.counters(script, prefix);
      Sampler sampler =
          new Sampler(output.resolve("metrics.jsonl"), Math.max(1, warmup), steps, script, prefix);
      sampler.start();
      BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
      String name =
          String.format(
              Locale.ROOT,
              "driver-%02d-%s-%s-r%d",
              id,
              spec.name(),
              key(n, rate, overlap, sparse),
              round);
      log(
          "%s: training %s, N=%d, %s ...",
          name, spec.name(), n, rate == 0 ? "no limit" : rate + " Gbit/s");
      Process driver = launch(prefix + "-hub", HUB_IP, name, jvm, "io.sparkner.cli.Main", train);
      boolean ended = driver.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      sampler.stop();
      BenchEnv.Cpu c1 = BenchEnv.Cpu.now();
      if (!ended) {
        kill(driver);
        throw new IllegalStateException(
            name
                + " did not end within "
                + timeoutSeconds
                + " s; see "
                + dir.resolve(name + ".log"));
      }
      started.remove(driver);
      if (driver.exitValue() != 0) {
        throw new IllegalStateException(
            name + " exited with " + driver.exitValue() + "; see " + dir.resolve(name + ".log"));
      }
      Map<String, long[]> after = Netns.counters(script, prefix);
      ObjectNode run = BenchEnv.JSON.createObjectNode();
      run.put("round", round);
      run.put("replicas", n);
      run.put("rate_gbit", rate);
      run.put("zero_stage", zero);
      run.put("overlap_comm", overlap);
      run.put("sparse_gradients", sparse);
      run.put("driver_log", dir.resolve(name + ".log").toString());
      parseMetrics(output.resolve("metrics.jsonl"), warmup, run);
      java.util.regex.Matcher threads =
          ENGINE_THREADS.matcher(Files.readString(dir.resolve(name + ".log")));
      if (threads.find()) {
        // N=1 trains on the driver: its libtorch threads are the replica's
        run.put("driver_intra_op_threads", Integer.parseInt(threads.group(1)));
      }
      ObjectNode whole = c1.since(c0);
      run.set("whole_run", whole);
      run.set("links_whole_run", Netns.delta(before, after, 0));
      Sampler.Mark w0 = sampler.at(Math.max(1, warmup));
      Sampler.Mark w1 = sampler.at(steps);
      if (w0 != null && w1 != null) {
        ObjectNode w = w1.cpu().since(w0.cpu());
        double wall = w1.cpu().secondsSince(w0.cpu());
        double ours = (w1.treeTicks() - w0.treeTicks()) * BenchEnv.Cpu.TICK;
        w.put("cluster_cpu_s", BenchEnv.round(ours));
        w.put("cluster_cores_used", BenchEnv.round(ours / wall));
        // other processes = the machine's busy time minus this JVM's and the cluster's
        double other = Math.max(0, w.path("other_processes_cpu_s").asDouble() - ours);
        w.put("other_processes_cpu_s", BenchEnv.round(other));
        w.put("other_processes_cores", BenchEnv.round(other / wall));
        w.put(
            "tokens_per_wall_second", BenchEnv.round(run.path("steady_tokens").asDouble() / wall));
        run.set("steady_window", w);
        ArrayNode socks = run.putArray("rank_connections_during_training");
        for (String l : w0.sockets().split("\n")) {
          if (!l.isBlank()) {
            socks.add(l.trim());
          }
        }
        if (w0.links() != null && w1.links() != null) {
          run.set("steady_links", Netns.delta(w0.links(), w1.links(), steps - Math.max(1, warmup)));
        }
      }
      ReplicaScalingBench.deleteTree(output); // a base-shaped checkpoint is ~0.5 GB
      return run;
    }

    static void parseMetrics(Path metrics, int warmup, ObjectNode run) throws IOException {
      List<Double> stepSeconds = new ArrayList<>();
      double tokens = 0;
      double seconds = 0;
      Map<String, Double> phases = new LinkedHashMap<>();
      ArrayNode perStep = run.putArray("per_step");
      for (String line : Files.readAllLines(metrics)) {
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
        ObjectNode ps = perStep.addObject();
        ps.put("step", step);
        ps.put("step_seconds", s);
        ps.put("tokens_per_second", t);
        ps.set("breakdown_seconds", j.path("breakdown_seconds"));
        if (step > warmup) {
          j.path("breakdown_seconds")
              .fields()
              .forEachRemaining(
                  e -> phases.merge(e.getKey(), e.getValue().asDouble(), Double::sum));
          stepSeconds.add(s);
          tokens += t * s;
          seconds += s;
        }
      }
      if (stepSeconds.isEmpty()) {
        throw new IllegalStateException(metrics + " has no step after the warm-up");
      }
      run.put("steady_steps", stepSeconds.size());
      run.put("steady_tokens", Math.round(tokens));
      run.put("steady_seconds", BenchEnv.round(seconds));
      run.put("steady_tokens_per_second", BenchEnv.round(tokens / seconds));
      run.set("step_seconds", BenchEnv.stats(stepSeconds));
      ObjectNode mean = run.putObject("steady_breakdown_seconds_per_step");
      int k = stepSeconds.size();
      phases.forEach((p, v) -> mean.put(p, BenchEnv.round(v / k)));
    }

    private static void kill(Process p) {
      List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
      tree.add(p.toHandle());
      tree.forEach(ProcessHandle::destroyForcibly);
      for (ProcessHandle h : tree) {
        try {
          h.onExit().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          // `bench/netns.sh down` kills what is left in the namespaces
        }
      }
    }

    /**
     * Kills every process this cluster started (by pid, with descendants), removes the namespaces.
     */
    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      List<Process> all = new ArrayList<>(started);
      Collections.reverse(all); // drivers, then workers (and their executors), the master last
      for (Process p : all) {
        kill(p);
      }
      try {
        Netns.Result r = Netns.call(script, "down", prefix);
        cleanup.put("netns_down_exit", r.code());
        cleanup.put("netns_down_output", r.output());
        String left = Netns.call(script, "check").code() == 0 ? leftovers() : "(unknown)";
        cleanup.put("namespaces_left", left);
        log("namespaces %s-* removed (left: %s)", prefix, left.isEmpty() ? "none" : left);
      } catch (IOException | InterruptedException e) {
        cleanup.put("error", e.toString());
      }
    }

    private String leftovers() throws IOException, InterruptedException {
      Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(30, TimeUnit.SECONDS);
      StringBuilder left = new StringBuilder();
      for (String line : out.split("\n")) {
        if (line.startsWith(prefix + "-")) {
          left.append(line.split(" ")[0]).append(' ');
        }
      }
      return left.toString().trim();
    }

    ObjectNode cleanupReport() {
      return cleanup;
    }
  }

  /**
   * Polls metrics.jsonl and records, when the step lines {@code warmup} and {@code steps} first
   * appear, the machine's and this JVM's CPU, the CPU of the cluster's processes (every descendant
   * of this JVM, from /proc) and the link counters.
   */
  static final class Sampler {
    record Mark(BenchEnv.Cpu cpu, long treeTicks, Map<String, long[]> links, String sockets) {}

    private final Path file;
    private final int warmup;
    private final int steps;
    private final Path script;
    private final String prefix;
    private final Map<Integer, Mark> marks = new ConcurrentHashMap<>();
    private volatile boolean running = true;
    private Thread thread;

    Sampler(Path file, int warmup, int steps, Path script, String prefix) {
      this.file = file;
      this.warmup = warmup;
      this.steps = steps;
      this.script = script;
      this.prefix = prefix;
    }

    void start() {
      thread =
          new Thread(
              () -> {
                int last = 0;
                while (running) {
                  try {
                    if (Files.isRegularFile(file)) {
                      long lines;
                      try (Stream<String> s = Files.lines(file)) {
                        lines = s.filter(l -> l.contains("\"tokens_per_second\"")).count();
                      }
                      if (lines > last) {
                        for (int k : List.of(warmup, steps)) {
                          if (k > last && k <= lines && !marks.containsKey(k)) {
                            BenchEnv.Cpu now = BenchEnv.Cpu.now();
                            long tree = treeTicks();
                            Map<String, long[]> links = Netns.counters(script, prefix);
                            String sockets =
                                k == warmup ? Netns.must(script, "sockets", prefix) : "";
                            marks.put(k, new Mark(now, tree, links, sockets));
                          }
                        }
                        last = (int) lines;
                      }
                    }
                    Thread.sleep(10);
                  } catch (InterruptedException e) {
                    return;
                  } catch (IOException | RuntimeException e) {
                    // a file being rewritten: look again
                  }
                }
              },
              "net-scaling-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() throws InterruptedException {
      running = false;
      thread.interrupt();
      thread.join(10_000);
    }

    Mark at(int k) {
      return marks.get(k);
    }

    /** utime + stime of every descendant of this JVM (the cluster's JVMs), in clock ticks. */
    static long treeTicks() {
      long total = 0;
      for (ProcessHandle h : ProcessHandle.current().descendants().toList()) {
        try {
          String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          total += Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException gone) {
          // ended while we listed
        }
      }
      return total;
    }
  }
}
