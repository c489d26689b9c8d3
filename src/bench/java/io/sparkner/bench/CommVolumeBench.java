package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import io.sparkner.train.RingExchange;
import io.sparkner.train.StepStatistics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Communication volume of one trainer step per rank, for ZeRO 0, 1 and 2, against the ring
 * all-reduce's theoretical 2Ψ·(N−1)/N parameters. Each rank is a thread of this JVM with a real
 * {@link Ring} on 127.0.0.1 (formed as the tests form it: {@link RingEndpoint#open}, {@link
 * RingEndpoint#join}) and a {@link RingExchange}; it calls exactly what {@code Trainer.step} calls
 * on the exchange — {@code reduceGradients(local, shard, step)}, the {@link StepStatistics}' {@code
 * allReduce(exchange, step)}, {@code gatherParameters(values, step)} — and reads {@link
 * Ring#bytesSent()} (payload) and {@link Ring#frameBytesSent()} (payload + 40-byte frame headers)
 * before and after.
 *
 * <p>Ψ is the parameter count of the tiny XLM-R-shaped model and of the BERT-base-shaped
 * reduced-depth model (hidden 768, 12 heads, intermediate 3072, 2 layers, vocab 21128), each with
 * the 17 Stockmark IOB2 labels; N = 2, 3; fp32 and fp16 wire; ZeRO 2 with the default
 * reduce_bucket_size (5e8 elements: one bucket) and with {@code "auto"} (hidden², many buckets).
 * Expected by construction: ZeRO 0 = 2Ψ(N−1)/N (reduce-scatter + all-gather of the gradients); ZeRO
 * 1 = 3Ψ(N−1)/N (gradients all-reduced, since the rank keeps the full reduced gradient, then the
 * parameters all-gathered); ZeRO 2 = 2Ψ(N−1)/N (reduce-scatter + parameter all-gather).
 *
 * <p>{@code zero0-sparse} and {@code zero2-sparse}: the same with {@code sparse_gradients}, the
 * hint of the word-embedding rows a rank's share of a 12×128-token global batch touches (Zipf(1)
 * token ids, see {@link #touchedRows}); the other rows' gradients are zero, as in training.
 * Expected: the dense figure without the matrix, plus the row counts (N fp64 values) and the ids
 * and fp32 rows of every rank's block but the next rank's; {@code ratio_to_dense} compares with the
 * dense variant of the same stage and wire.
 *
 * <p>{@code bench/run comm-volume [--ranks 2,3] [--steps 2] [--models tiny,base] [--out FILE]
 * [--git-dir DIR]}. Writes {@code bench/results/comm-volume.json}. No Spark.
 */
public final class CommVolumeBench {
  private static final byte[] SECRET = "comm-volume-bench-secret".getBytes(StandardCharsets.UTF_8);
  static final long DEFAULT_BUCKET = 500_000_000L;

  private CommVolumeBench() {}

  record Model(String name, long psi, int hidden, int vocab) {}

  /** A way to exchange; {@code sparse}: with the word embeddings' touched rows as the hint. */
  record Variant(String name, int stage, long bucket, boolean sparse) {}

  /**
   * What one rank measured over one step; {@code touched} and {@code sparse}: the word-embedding
   * rows it touched and whether its exchange went sparse (sparse variants).
   */
  record Measured(long payload, long frames, double seconds, int touched, boolean sparse) {}

  /** Tokens of a global batch for the sparse variants: 12 windows of 128 (the figure). */
  static final int GLOBAL_TOKENS = 12 * 128;

  /**
   * The word-embedding rows one rank's share of a global batch of {@link #GLOBAL_TOKENS} tokens
   * touches: {@code GLOBAL_TOKENS / n} token ids drawn from a Zipf(1) law over the vocabulary
   * (seeded by model, N, rank and step; word frequencies in text follow Zipf's law), plus ids 0..3
   * (the special tokens every window has). The word embeddings are the first parameter of the flat
   * space ({@code TokenClassificationModel.parameterShapes}).
   */
  static io.sparkner.train.TouchedRows touchedRows(Model m, int n, int rank, long step) {
    double[] cdf = new double[m.vocab()];
    double sum = 0;
    for (int i = 0; i < cdf.length; i++) {
      sum += 1.0 / (i + 1);
      cdf[i] = sum;
    }
    java.util.Random rnd =
        new java.util.Random(m.vocab() * 1_000_003L + n * 1009L + rank * 31L + step);
    java.util.BitSet ids = new java.util.BitSet();
    ids.set(0, 4);
    for (int t = 0; t < (GLOBAL_TOKENS + n - 1) / n; t++) {
      int k = java.util.Arrays.binarySearch(cdf, rnd.nextDouble() * sum);
      ids.set(Math.min(cdf.length - 1, k < 0 ? -k - 1 : k));
    }
    return new io.sparkner.train.TouchedRows(0, m.vocab(), m.hidden(), ids.stream().toArray());
  }

  public static void main(String[] args) throws Exception {
    Path root = BenchEnv.root();
    Path shared =
        Path.of(System.getProperty("sparkner.shared", root.resolve("../shared").toString()))
            .toAbsolutePath()
            .normalize();
    int[] ranks = {2, 3};
    int steps = 2;
    List<String> models = List.of("tiny", "base");
    Path out = root.resolve("bench/results/comm-volume.json");
    Path work = root.resolve("bench/work/comm-volume");
    String gitDir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--ranks" ->
            ranks = Stream.of(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--steps" -> steps = Integer.parseInt(args[++i]);
        case "--models" -> models = List.of(args[++i].split(","));
        case "--out" -> out = Path.of(args[++i]);
        case "--work" -> work = Path.of(args[++i]);
        case "--git-dir" -> gitDir = args[++i];
        default -> {
          System.err.println(
              "comm-volume: unknown option "
                  + args[i]
                  + "; options: --ranks 2,3 --steps 2 --models tiny,base --out FILE --work DIR"
                  + " --git-dir DIR");
          System.exit(2);
        }
      }
    }
    Path bge = shared.resolve("models/bge-small-zh-v1.5/tokenizer.json");
    if (models.contains("base") && !Files.isRegularFile(bge)) {
      System.err.println(
          "comm-volume: "
              + bge
              + " is missing (the base-shaped model takes its vocabulary; set SPARKNER_SHARED)");
      System.exit(1);
    }
    Files.createDirectories(work);
    List<String> labels = ReplicaScalingBench.stockmarkLabels();
    List<Model> ms = new ArrayList<>();
    for (String m : models) {
      Path dir = work.resolve("model-" + m);
      Path config;
      Path tokenizer;
      if (m.equals("tiny")) {
        config = root.resolve("conf/tiny-xlmr-config.json");
        tokenizer = root.resolve("src/test/resources/tokenizers/unigram/tokenizer.json");
      } else if (m.equals("base")) {
        config = work.resolve("bert-base-2l-config.json");
        Files.writeString(config, ReplicaScalingBench.BASE_CONFIG, StandardCharsets.UTF_8);
        tokenizer = bge;
      } else {
        throw new IllegalArgumentException("unknown model " + m + " (tiny or base)");
      }
      if (!Files.isRegularFile(dir.resolve("config.json"))) {
        io.sparkner.cli.TestAccess.init(
            config.toString(), tokenizer.toString(), String.join(",", labels), dir.toString());
      }
      long psi = ReplicaScalingBench.parameterCount(dir, labels);
      int hidden =
          BenchEnv.JSON
              .readTree(Files.readString(dir.resolve("config.json")))
              .path("hidden_size")
              .asInt();
      int vocab =
          BenchEnv.JSON
              .readTree(Files.readString(dir.resolve("config.json")))
              .path("vocab_size")
              .asInt();
      ms.add(new Model(m, psi, hidden, vocab));
      log(
          "%s: Ψ = %,d parameters (hidden %d, vocab %d, %d labels)",
          m, psi, hidden, vocab, labels.size());
    }

    ObjectNode result = BenchEnv.JSON.createObjectNode();
    result.put("benchmark", "comm-volume");
    ObjectNode env = BenchEnv.describe();
    BenchEnv.commitOf(env, gitDir);
    result.set("env", env);
    ObjectNode cfg = result.putObject("config");
    cfg.put(
        "what",
        "per rank, per trainer step: RingExchange.reduceGradients(local, shard, step) +"
            + " StepStatistics.allReduce(exchange, step) + gatherParameters(values, step), the"
            + " exchange calls of Trainer.step; Ring.bytesSent() (payload) and frameBytesSent()"
            + " (payload + 40-byte headers) before and after; the -sparse variants call"
            + " reduceGradients(local, shard, step, touchedRows) (sparse_gradients)");
    cfg.put(
        "theory",
        "2Ψ(N−1)/N parameters per rank per step (ring all-reduce); × 4 bytes on the fp32 wire, × 2"
            + " on the fp16 wire");
    cfg.put(
        "expected_by_construction",
        "ZeRO 0: 2Ψ(N−1)/N (all-reduce of the gradients); ZeRO 1: 3Ψ(N−1)/N (gradients all-reduced"
            + " because a stage-1 rank keeps the full reduced gradient, then parameters"
            + " all-gathered; DeepSpeed's paper counts 2Ψ for stage 1 because it reduce-scatters"
            + " the gradients); ZeRO 2: 2Ψ(N−1)/N (reduce-scatter + parameter all-gather); plus"
            + " (N−1)·32 bytes for the 4-value fp64 step-statistics sum");
    cfg.put(
        "ranks_are",
        "threads of this JVM on 127.0.0.1, one Ring each (RingEndpoint.open/join, as"
            + " RingTestSupport forms them)");
    cfg.put("steps_per_case", steps);
    cfg.put("labels", labels.size());
    ArrayNode cases = result.putArray("cases");

    System.out.printf(
        Locale.ROOT,
        "%-5s %2s %4s %-14s %14s %14s %8s %9s %10s%n",
        "model",
        "N",
        "wire",
        "variant",
        "payload B/rank",
        "theory B",
        "ratio",
        "hdr ovh %",
        "s/step");
    java.util.Map<String, Double> denseMean = new java.util.HashMap<>();
    java.util.Map<String, Long> denseMax = new java.util.HashMap<>();
    for (int n : ranks) {
      List<Ring> rings = form(n, Duration.ofSeconds(120));
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        for (Model m : ms) {
          int psi = Math.toIntExact(m.psi());
          DirectFloats[] local = new DirectFloats[n];
          DirectFloats[] values = new DirectFloats[n];
          for (int r = 0; r < n; r++) {
            local[r] = DirectFloats.allocate(psi);
            values[r] = DirectFloats.allocate(psi);
          }
          List<Variant> variants =
              List.of(
                  new Variant("zero0", 0, DEFAULT_BUCKET, false),
                  new Variant("zero1", 1, DEFAULT_BUCKET, false),
                  new Variant("zero2", 2, DEFAULT_BUCKET, false),
                  new Variant("zero2-bucket-auto", 2, (long) m.hidden() * m.hidden(), false),
                  new Variant("zero0-sparse", 0, DEFAULT_BUCKET, true),
                  new Variant("zero2-sparse", 2, DEFAULT_BUCKET, true));
          for (boolean half : new boolean[] {false, true}) {
            rings.forEach(r -> r.setHalfPrecisionWire(half));
            int wireBytes = half ? 2 : 4;
            for (Variant v : variants) {
              List<RingExchange> ex = new ArrayList<>();
              for (Ring r : rings) {
                ex.add(new RingExchange(r, v.stage(), psi, v.bucket()));
              }
              List<List<Measured>> perStep = new ArrayList<>();
              for (int s = 0; s < steps; s++) {
                long step = s;
                List<Future<Measured>> fs = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                  int rank = r;
                  fs.add(
                      pool.submit(
                          () ->
                              oneStep(
                                  rings.get(rank),
                                  ex.get(rank),
                                  local[rank],
                                  values[rank],
                                  rank,
                                  step,
                                  v.sparse() ? touchedRows(m, n, rank, step) : null)));
                }
                List<Measured> got = new ArrayList<>();
                for (Future<Measured> f : fs) {
                  got.add(f.get());
                }
                perStep.add(got);
              }
              int[] bounds = Ring.evenBounds(0, psi, n);
              ObjectNode c = cases.addObject();
              c.put("model", m.name());
              c.put("psi", psi);
              c.put("n", n);
              c.put("wire", half ? "fp16" : "fp32");
              c.put("variant", v.name());
              c.put("zero_stage", v.stage());
              c.put("reduce_bucket_size", v.bucket());
              c.put("buckets", v.stage() == 2 ? (psi + v.bucket() - 1) / v.bucket() : 0);
              double theoryParams = 2.0 * psi * (n - 1) / n;
              double theoryBytes = theoryParams * wireBytes;
              c.put("theory_params_2psi_n1_n", BenchEnv.round(theoryParams));
              c.put("theory_bytes", BenchEnv.round(theoryBytes));
              // exact payload expected from the chunk bounds, per rank
              ArrayNode exp = c.putArray("expected_payload_bytes_per_rank");
              long[] expected = new long[n];
              for (int r = 0; r < n; r++) {
                long ownChunk = bounds[r + 1] - bounds[r];
                long nextChunk = bounds[(r + 1) % n + 1] - bounds[(r + 1) % n];
                long rs = psi - ownChunk; // reduce-scatter sends every chunk but its own
                long ag = psi - nextChunk; // all-gather sends every chunk but the next rank's
                long floats =
                    switch (v.stage()) {
                      case 0 -> rs + ag;
                      case 1 -> rs + ag + ag;
                      default -> rs + ag;
                    };
                expected[r] = floats * wireBytes + (n - 1) * 32L;
                if (v.sparse()) {
                  // the matrix [0, e1) goes as rows: the rest of the gradient dense, the
                  // parameters as before, the row counts (n fp64 values) and every rank's block but
                  // the next rank's (ids and fp32 rows)
                  long e1 = (long) m.vocab() * m.hidden();
                  long restOwn = Math.max(0, bounds[r + 1] - Math.max(e1, bounds[r]));
                  int nx = (r + 1) % n;
                  long restNext = Math.max(0, bounds[nx + 1] - Math.max(e1, bounds[nx]));
                  long rest = psi - e1;
                  long grads =
                      v.stage() < 2 ? (rest - restOwn) + (rest - restNext) : rest - restOwn;
                  long params = v.stage() == 0 ? 0 : psi - nextChunk;
                  long rows = 0;
                  for (int k = 0; k < n; k++) {
                    rows += k == nx ? 0 : perStep.get(steps - 1).get(k).touched();
                  }
                  expected[r] =
                      (grads + params) * wireBytes
                          + (n - 1) * 32L
                          + (n - 1) * 8L * n
                          + 4L * (1 + m.hidden()) * rows;
                }
                exp.add(expected[r]);
              }
              ArrayNode stepsNode = c.putArray("steps");
              boolean stable = true;
              for (int s = 0; s < steps; s++) {
                ObjectNode sn = stepsNode.addObject();
                sn.put("step", s);
                ArrayNode pr = sn.putArray("ranks");
                double maxSec = 0;
                for (int r = 0; r < n; r++) {
                  Measured x = perStep.get(s).get(r);
                  ObjectNode rn = pr.addObject();
                  rn.put("rank", r);
                  rn.put("payload_bytes", x.payload());
                  rn.put("frame_bytes", x.frames());
                  rn.put("headers", (x.frames() - x.payload()) / 40);
                  rn.put("seconds", BenchEnv.round(x.seconds()));
                  maxSec = Math.max(maxSec, x.seconds());
                  stable &=
                      x.payload() == perStep.get(0).get(r).payload()
                          && x.frames() == perStep.get(0).get(r).frames();
                }
                sn.put("seconds_slowest_rank", BenchEnv.round(maxSec));
              }
              List<Measured> last = perStep.get(steps - 1);
              double meanPayload = last.stream().mapToLong(Measured::payload).average().orElse(0);
              double meanFrames = last.stream().mapToLong(Measured::frames).average().orElse(0);
              boolean matchesExpected = true;
              for (int r = 0; r < n; r++) {
                matchesExpected &= last.get(r).payload() == expected[r];
              }
              String key = m.name() + "/" + n + "/" + half + "/" + v.stage();
              long maxPayload = last.stream().mapToLong(Measured::payload).max().orElse(0);
              c.put("payload_bytes_max_rank", maxPayload);
              if (!v.sparse()) {
                denseMean.putIfAbsent(key, meanPayload);
                denseMax.putIfAbsent(key, maxPayload);
              } else {
                ArrayNode touchedNode = c.putArray("touched_rows_per_rank_last_step");
                boolean allSparse = true;
                for (Measured x : last) {
                  touchedNode.add(x.touched());
                  allSparse &= x.sparse();
                }
                c.put("global_tokens", GLOBAL_TOKENS);
                c.put("vocab", m.vocab());
                c.put("went_sparse", allSparse);
                Double dense = denseMean.get(key);
                if (dense != null) {
                  c.put("dense_payload_bytes_mean_per_rank", BenchEnv.round(dense));
                  c.put("ratio_to_dense", BenchEnv.round(meanPayload / dense));
                  // a ring step lasts as long as its busiest link: the rank that sends the most
                  c.put(
                      "ratio_to_dense_max_rank",
                      BenchEnv.round((double) maxPayload / denseMax.get(key)));
                }
                // the touched rows differ from step to step, and so do the bytes
                c.put("same_every_step_expected", false);
              }
              double headerBytes = meanFrames - meanPayload;
              c.put("payload_bytes_mean_per_rank", BenchEnv.round(meanPayload));
              c.put("frame_bytes_mean_per_rank", BenchEnv.round(meanFrames));
              c.put("payload_params_mean_per_rank", BenchEnv.round(meanPayload / wireBytes));
              c.put("ratio_to_theory", BenchEnv.round(meanPayload / theoryBytes));
              c.put("ratio_to_theory_with_headers", BenchEnv.round(meanFrames / theoryBytes));
              c.put("header_bytes_mean_per_rank", BenchEnv.round(headerBytes));
              c.put("header_frames_mean_per_rank", BenchEnv.round(headerBytes / 40));
              c.put("header_overhead_pct", BenchEnv.round(100 * headerBytes / meanPayload));
              c.put("matches_expected_by_bounds", matchesExpected);
              c.put("same_every_step", stable);
              double sec =
                  perStep.get(steps - 1).stream().mapToDouble(Measured::seconds).max().orElse(0);
              System.out.printf(
                  Locale.ROOT,
                  "%-5s %2d %4s %-18s %14.0f %14.0f %8.4f %9.4f %10.3f%s%n",
                  m.name(),
                  n,
                  half ? "fp16" : "fp32",
                  v.name(),
                  meanPayload,
                  theoryBytes,
                  meanPayload / theoryBytes,
                  100 * headerBytes / meanPayload,
                  sec,
                  matchesExpected && (stable || v.sparse())
                      ? ""
                      : "  (!) differs from the bounds' expectation or between steps");
              BenchEnv.writeJson(out, result);
            }
          }
        }
      } finally {
        pool.shutdownNow();
        rings.forEach(Ring::close);
      }
    }
    BenchEnv.writeJson(out, result);
    System.out.println("wrote " + out);
  }

  /** One trainer step's exchange calls on one rank, with the bytes this rank sent. */
  static Measured oneStep(
      Ring ring,
      RingExchange ex,
      DirectFloats local,
      DirectFloats values,
      int rank,
      long step,
      io.sparkner.train.TouchedRows touched) {
    for (int i = 0; i < local.length(); i++) {
      local.put(
          i,
          (float)
              (((i + rank * 7 + step) % 97)
                  * 1e-4)); // fresh "gradients" (the reduction overwrites them)
    }
    if (touched != null) {
      // the word-embedding rows the batch did not touch have zero gradients
      int[] ids = touched.ids();
      int next = 0;
      for (int row = 0; row < touched.rows(); row++) {
        if (next < ids.length && ids[next] == row) {
          next++;
        } else {
          int at = (int) (touched.offset() + (long) row * touched.width());
          local.fill(at, at + touched.width(), 0f);
        }
      }
    }
    long sparseBefore = ex.sparseSteps();
    long b0 = ring.bytesSent();
    long f0 = ring.frameBytesSent();
    long t0 = System.nanoTime();
    float[] shard = new float[(int) (ex.shardTo(local.length()) - ex.shardFrom(local.length()))];
    if (touched != null) {
      ex.reduceGradients(local, shard, step, touched);
    } else {
      ex.reduceGradients(local, shard, step);
    }
    StepStatistics.local(0, 0, 0).allReduce(ex, step);
    int from = (int) ex.shardFrom(values.length());
    values.put(
        from, shard, 0, (int) (ex.shardTo(values.length()) - from)); // the update's write-back
    ex.gatherParameters(values, step);
    double sec = (System.nanoTime() - t0) / 1e9;
    return new Measured(
        ring.bytesSent() - b0,
        ring.frameBytesSent() - f0,
        sec,
        touched == null ? 0 : touched.ids().length,
        ex.sparseSteps() > sparseBefore);
  }

  /** n ranks on 127.0.0.1 joined into rings, each join on its own thread. */
  static List<Ring> form(int n, Duration timeout) throws Exception {
    List<RingEndpoint> eps = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      for (int r = 0; r < n; r++) {
        eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
      List<Future<Ring>> fs = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        fs.add(pool.submit(() -> eps.get(rank).join(rank, addrs, SECRET, timeout)));
      }
      List<Ring> rings = new ArrayList<>();
      for (Future<Ring> f : fs) {
        rings.add(f.get());
      }
      return rings;
    } finally {
      pool.shutdownNow();
      eps.forEach(RingEndpoint::close);
    }
  }

  static void log(String fmt, Object... args) {
    System.out.printf(Locale.ROOT, "[comm-volume] " + fmt + "%n", args);
  }
}
