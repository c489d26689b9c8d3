package io.sparkner.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Handshake;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * sparkner's ring all-reduce against PyTorch's gloo {@code all_reduce} (what DDP and
 * TorchDistributor use on CPU) on the same machine in the same run: bus bandwidth 2·(N−1)/N·S/t for
 * S bytes of fp32 on N ranks, t per all-reduce from a barrier to the last rank's completion.
 * sparkner runs in two modes, its N ranks as threads of this JVM ({@code threads}) and as N JVMs of
 * their own ({@code jvms}, as on a cluster); gloo's ranks are N Python processes ({@code
 * bench/gloo_allreduce.py}). Figure: ratio = sparkner bus bandwidth ÷ gloo bus bandwidth (= t_gloo
 * ÷ t_sparkner, per round, median over rounds), per mode, N and S. Goal ≥ 1.0 everywhere.
 *
 * <pre>
 * bench/run ring-vs-gloo [--sizes-mib 4,16,64,256] [--ranks 2,3] [--rounds 5] [--warmup 3]
 *     [--ops 5] [--modes threads,jvms] [--python /usr/bin/python3] [--out FILE]
 * </pre>
 */
public final class RingVsGlooBench {
  private static final String USAGE =
      "usage: bench/run ring-vs-gloo [--sizes-mib 4,16,64,256] [--ranks 2,3] [--rounds 5]"
          + " [--warmup 3] [--ops 5] [--modes threads,jvms] [--python /usr/bin/python3]"
          + " [--out FILE]";

  /** Seconds one side may take for one round of one N (all sizes) before it is killed. */
  private static final int SIDE_TIMEOUT_S = 900;

  private RingVsGlooBench() {}

  /** A command line error: exit code 2 with the usage. */
  private static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } catch (UsageException e) {
      System.err.println("ring-vs-gloo: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
    }
  }

  private static void run(String[] args) throws Exception {
    int[] sizesMib = {4, 16, 64, 256};
    int[] ranks = {2, 3};
    int rounds = 5;
    int warmup = 3;
    int ops = 5;
    List<String> modes = List.of("threads", "jvms");
    String python = "/usr/bin/python3";
    Path out = BenchEnv.root().resolve("bench/results/ring-vs-gloo.json");
    for (int i = 0; i < args.length; i++) {
      String opt = args[i];
      if (opt.equals("-h") || opt.equals("--help")) {
        System.out.println(USAGE);
        return;
      }
      if (i + 1 >= args.length) {
        throw new UsageException(opt + " needs a value");
      }
      String v = args[++i];
      switch (opt) {
        case "--sizes-mib" -> sizesMib = positiveInts(opt, v, 1);
        case "--ranks" -> ranks = positiveInts(opt, v, 2);
        case "--rounds" -> rounds = positiveInts(opt, v, 1)[0];
        case "--warmup" -> warmup = positiveInts(opt, v, 0)[0];
        case "--ops" -> ops = positiveInts(opt, v, 1)[0];
        case "--modes" -> {
          modes = Arrays.stream(v.split(",")).map(String::trim).distinct().toList();
          for (String m : modes) {
            if (!m.equals("threads") && !m.equals("jvms")) {
              throw new UsageException("--modes: unknown mode '" + m + "' (threads, jvms)");
            }
          }
        }
        case "--python" -> python = v;
        case "--out" -> out = Path.of(v).toAbsolutePath();
        default -> throw new UsageException("unknown option " + opt);
      }
    }
    for (int mib : sizesMib) {
      if (mib > 1024) {
        throw new UsageException("--sizes-mib: " + mib + " MiB is more than 1024");
      }
    }
    Path script = BenchEnv.root().resolve("bench/gloo_allreduce.py");
    if (!Files.isRegularFile(script)) {
      throw new IllegalStateException("missing " + script);
    }
    long[] sizes = Arrays.stream(sizesMib).mapToLong(m -> (long) m << 20).toArray();
    List<String> sides = new ArrayList<>(modes);
    sides.add("gloo");

    ObjectNode root = BenchEnv.JSON.createObjectNode();
    root.put("benchmark", "ring-vs-gloo");
    ObjectNode env = BenchEnv.describe();
    root.set("env", env);
    ObjectNode config = root.putObject("config");
    config.set("sizes_mib", ints(sizesMib));
    config.set("ranks", ints(ranks));
    config.put("rounds", rounds);
    config.put("warmup_ops_per_size", warmup);
    config.put("timed_ops_per_size", ops);
    config.put("sides", String.join(",", sides));
    config.put(
        "threads",
        "N ranks as threads of this JVM on 127.0.0.1, each rank its calling thread (receive and"
            + " add) and its ring's sender thread");
    config.put(
        "jvms",
        "N ranks as N JVMs of their own (java -cp <this classpath> "
            + RingVsGlooRank.class.getName()
            + ", -Xmx512m, default GC and JIT), rendezvous through address files in a temporary"
            + " directory, ring key from a secret on their stdin as the trainer derives it");
    config.put(
        "gloo",
        "N Python processes (bench/gloo_allreduce.py): torch.distributed.init_process_group"
            + "(\"gloo\") with its defaults over a TCPStore on 127.0.0.1, GLOO_SOCKET_IFNAME=lo,"
            + " dist.all_reduce(SUM) of a float32 tensor");
    config.put(
        "payload",
        "S bytes of float32; sparkner: DirectFloats (off-heap, as the trainer's flat buffers),"
            + " Ring.allReduce over Ring.evenBounds, fp32 wire; gloo: a contiguous CPU tensor");
    config.put(
        "timing",
        "per all-reduce: every rank passes a barrier (sparkner: an empty Ring.allReduceSum;"
            + " gloo: dist.barrier()), records CLOCK_MONOTONIC, runs the all-reduce, records it"
            + " again; t = last end - first start over the ranks. Per round the median of the"
            + " timed ops; per case the median over rounds");
    config.put("bus_bandwidth", "2*(N-1)/N*S/t (GB/s = 1e9 B/s)");
    config.put("ratio", "sparkner bus bandwidth / gloo bus bandwidth = t_gloo / t_sparkner");
    config.put(
        "check",
        "before each op rank r fills element i with r+1+((i+op) mod 8); after it every rank checks"
            + " every element for n(n+1)/2 + n((i+op) mod 8), on both sides");
    config.put(
        "order",
        "per round and N, the sides run one after another, all sizes each, in an order that"
            + " rotates every round; each side in fresh processes (threads: a fresh ring)");
    config.put("python", python);

    // per N, size, side: the round values (seconds) and the round records
    Map<String, List<Double>> times = new LinkedHashMap<>();
    Map<String, ArrayNode> roundRecords = new LinkedHashMap<>();
    int maxN = Arrays.stream(ranks).max().orElse(2);
    long maxBytes = Arrays.stream(sizes).max().orElse(4 << 20);
    DirectFloats[] threadData = new DirectFloats[modes.contains("threads") ? maxN : 0];
    for (int r = 0; r < threadData.length; r++) {
      threadData[r] = DirectFloats.allocate(Math.toIntExact(maxBytes / 4));
    }
    System.out.printf(
        Locale.ROOT,
        "ring-vs-gloo: sizes %s MiB, N %s, %d rounds of %s, %d warm-up + %d timed ops per size%n",
        Arrays.toString(sizesMib),
        Arrays.toString(ranks),
        rounds,
        sides,
        warmup,
        ops);
    for (int round = 0; round < rounds; round++) {
      for (int ni = 0; ni < ranks.length; ni++) {
        int n = ranks[ni];
        for (int k = 0; k < sides.size(); k++) {
          String side = sides.get((k + round + ni) % sides.size());
          BenchEnv.Cpu c0 = BenchEnv.Cpu.now();
          List<JsonNode> perRank =
              switch (side) {
                case "threads" -> runThreads(n, threadData, sizes, warmup, ops);
                case "jvms" -> runJvms(n, sizes, warmup, ops);
                default -> runGloo(python, script, n, sizes, warmup, ops);
              };
          ObjectNode sideCpu = BenchEnv.Cpu.now().since(c0);
          for (int si = 0; si < sizes.length; si++) {
            String key = n + "/" + sizesMib[si] + "/" + side;
            ObjectNode rec = roundRecord(perRank, si, side.equals("threads"));
            rec.put("round", round);
            rec.put("order", k);
            rec.set("side_invocation", sideCpu);
            times.computeIfAbsent(key, x -> new ArrayList<>()).add(rec.path("median_s").asDouble());
            roundRecords.computeIfAbsent(key, x -> BenchEnv.JSON.createArrayNode()).add(rec);
          }
          System.out.printf(
              Locale.ROOT,
              "round %d N=%d %-7s %s%n",
              round,
              n,
              side,
              Arrays.stream(sizesMib)
                  .mapToObj(
                      m -> {
                        List<Double> t = times.get(n + "/" + m + "/" + side);
                        double bw = busBytes(n, (long) m << 20) / t.get(t.size() - 1) / 1e9;
                        return String.format(Locale.ROOT, "%d MiB %.3f", m, bw);
                      })
                  .collect(Collectors.joining(", ", "", " GB/s")));
        }
      }
    }

    ArrayNode cases = root.putArray("cases");
    double worst = Double.MAX_VALUE;
    String worstAt = "";
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            Locale.ROOT,
            "%-3s %6s %9s %9s %9s | %12s %12s%n",
            "N",
            "S MiB",
            "threads",
            "jvms",
            "gloo",
            "threads/gloo",
            "jvms/gloo"));
    for (int n : ranks) {
      for (int si = 0; si < sizes.length; si++) {
        int mib = sizesMib[si];
        long busBytes = busBytes(n, sizes[si]);
        ObjectNode c = cases.addObject();
        c.put("n", n);
        c.put("size_mib", mib);
        c.put("bus_bytes_per_rank", busBytes);
        List<Double> gloo = times.get(n + "/" + mib + "/gloo");
        Map<String, Double> bw = new LinkedHashMap<>();
        Map<String, Double> ratio = new LinkedHashMap<>();
        for (String side : sides) {
          List<Double> t = times.get(n + "/" + mib + "/" + side);
          double b = busBytes / BenchEnv.median(t) / 1e9;
          bw.put(side, b);
          c.put(side + "_bus_bandwidth_gbps", BenchEnv.round(b));
          ObjectNode s = c.putObject(side);
          s.set("seconds", BenchEnv.stats(t));
          s.set(
              "bus_bandwidth_gbps",
              BenchEnv.stats(t.stream().map(x -> busBytes / x / 1e9).toList()));
          if (!side.equals("gloo")) {
            List<Double> r = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) {
              r.add(gloo.get(i) / t.get(i));
            }
            double med = BenchEnv.median(r);
            ratio.put(side, med);
            c.put("ratio_" + side + "_vs_gloo", BenchEnv.round(med));
            c.set("ratio_" + side + "_vs_gloo_stats", BenchEnv.stats(r));
            if (med < worst) {
              worst = med;
              worstAt = side + " N=" + n + " " + mib + " MiB";
            }
          }
        }
        ObjectNode rds = c.putObject("rounds");
        for (String side : sides) {
          rds.set(side, roundRecords.get(n + "/" + mib + "/" + side));
        }
        table.append(
            String.format(
                Locale.ROOT,
                "%-3d %6d %9s %9s %9.3f | %12s %12s%n",
                n,
                mib,
                fmt(bw.get("threads")),
                fmt(bw.get("jvms")),
                bw.get("gloo"),
                fmt(ratio.get("threads")),
                fmt(ratio.get("jvms"))));
      }
    }
    ObjectNode summary = root.putObject("summary");
    summary.put("figure", "sparkner ring all-reduce bus bandwidth / gloo all_reduce bus bandwidth");
    summary.put("worst_ratio", BenchEnv.round(worst));
    summary.put("worst_at", worstAt);
    summary.put("goal", 1.0);
    summary.put("meets_goal", worst >= 1.0);
    summary.put("machine", BenchEnv.machine(env));
    BenchEnv.writeJson(out, root);
    System.out.print(table);
    System.out.printf(
        Locale.ROOT, "worst ratio %.3f at %s (goal >= 1.0) -> %s%n", worst, worstAt, out);
  }

  private static long busBytes(int n, long size) {
    return 2L * (n - 1) * size / n;
  }

  private static String fmt(Double x) {
    return x == null ? "-" : String.format(Locale.ROOT, "%.3f", x);
  }

  /**
   * One side's round at one size from its ranks' outputs: every op's t (last end - first start),
   * their median, and the CPU accounting of the timed block: the ranks' processes' CPU (one JVM's
   * for threads, the sum over the rank processes otherwise), the machine's busy time over rank 0's
   * block, and the difference: other processes' CPU (the kernel's softirq work of loopback TCP
   * included, so it overstates the neighbours' share).
   */
  private static ObjectNode roundRecord(List<JsonNode> perRank, int si, boolean oneProcess) {
    int nOps = perRank.get(0).path("sizes").get(si).path("ops").size();
    List<Double> t = new ArrayList<>();
    for (int op = 0; op < nOps; op++) {
      long start = Long.MAX_VALUE;
      long end = Long.MIN_VALUE;
      for (JsonNode r : perRank) {
        JsonNode o = r.path("sizes").get(si).path("ops").get(op);
        start = Math.min(start, o.get(0).asLong());
        end = Math.max(end, o.get(1).asLong());
      }
      t.add((end - start) / 1e9);
    }
    ObjectNode rec = BenchEnv.JSON.createObjectNode();
    double med = BenchEnv.median(t);
    rec.put("median_s", med);
    ArrayNode all = rec.putArray("ops_s");
    t.forEach(x -> all.add(Math.round(x * 1e6) / 1e6));
    JsonNode cpu0 = perRank.get(0).path("sizes").get(si).path("cpu");
    double ranksCpu = 0;
    ArrayNode threads = BenchEnv.JSON.createArrayNode();
    for (JsonNode r : perRank) {
      JsonNode c = r.path("sizes").get(si).path("cpu");
      ranksCpu += c.path("process_cpu_s").asDouble();
      if (c.has("threads_cpu_s")) {
        threads.add(c.get("threads_cpu_s"));
      }
      if (oneProcess) {
        break;
      }
    }
    ObjectNode cpu = rec.putObject("cpu");
    double busy = cpu0.path("machine_busy_s").asDouble();
    cpu.put("seconds", BenchEnv.round(cpu0.path("seconds").asDouble()));
    cpu.put("ranks_cpu_s", BenchEnv.round(ranksCpu));
    if (busy >= 0) {
      cpu.put("machine_busy_s", BenchEnv.round(busy));
      cpu.put("other_processes_cpu_s", BenchEnv.round(Math.max(0, busy - ranksCpu)));
      cpu.put("steal_s", BenchEnv.round(cpu0.path("steal_s").asDouble()));
    }
    if (perRank.get(0).has("warmup_passes")) {
      // sparkner: warm-up passes over all sizes until the JIT is quiet (seconds, JIT ms of all
      // ranks)
      rec.set("warmup_passes", perRank.get(0).get("warmup_passes"));
    }
    if (!threads.isEmpty()) {
      // sparkner: CPU seconds by thread group, per rank JVM (threads: the one JVM of all ranks)
      cpu.set("jvm_threads_cpu_s", threads);
    }
    return rec;
  }

  /** N ranks as threads of this JVM: a fresh ring, each rank on a thread of its own. */
  private static List<JsonNode> runThreads(
      int n, DirectFloats[] data, long[] sizes, int warmup, int ops) throws Exception {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    byte[] key = Handshake.ringKey(secret, 0, 0);
    List<RingEndpoint> eps = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    List<Ring> rings = new ArrayList<>();
    try {
      for (int r = 0; r < n; r++) {
        eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
      List<Future<Ring>> joins = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        joins.add(pool.submit(() -> eps.get(rank).join(rank, addrs, key, Duration.ofSeconds(120))));
      }
      for (Future<Ring> f : joins) {
        rings.add(f.get(150, TimeUnit.SECONDS));
      }
      List<Future<ObjectNode>> fs = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        Ring ring = rings.get(r);
        DirectFloats d = data[r];
        fs.add(pool.submit(() -> RingVsGlooRank.time(ring, d, sizes, warmup, ops)));
      }
      List<JsonNode> out = new ArrayList<>();
      for (Future<ObjectNode> f : fs) {
        out.add(f.get(SIDE_TIMEOUT_S, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      Arrays.fill(key, (byte) 0);
      pool.shutdownNow();
      rings.forEach(Ring::close);
      eps.forEach(RingEndpoint::close);
    }
  }

  /** N ranks as N JVMs, started fresh; each writes its timings to the rendezvous directory. */
  private static List<JsonNode> runJvms(int n, long[] sizes, int warmup, int ops) throws Exception {
    Path dir = Files.createTempDirectory("ring-vs-gloo-");
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    long maxBytes = Arrays.stream(sizes).max().orElseThrow();
    List<Process> procs = new ArrayList<>();
    try {
      for (int r = 0; r < n; r++) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("-Xmx512m");
        cmd.add("-XX:MaxDirectMemorySize=" + (maxBytes + (64 << 20)));
        String log4j = System.getProperty("log4j2.configurationFile");
        if (log4j != null) {
          cmd.add("-Dlog4j2.configurationFile=" + log4j);
        }
        String extra = System.getenv("BENCH_RANK_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
          cmd.addAll(Arrays.asList(extra.trim().split("\\s+")));
        }
        cmd.addAll(
            List.of(
                "-cp",
                System.getProperty("java.class.path"),
                RingVsGlooRank.class.getName(),
                "--rank",
                Integer.toString(r),
                "--ranks",
                Integer.toString(n),
                "--dir",
                dir.toString(),
                "--sizes-bytes",
                Arrays.stream(sizes).mapToObj(Long::toString).collect(Collectors.joining(",")),
                "--warmup",
                Integer.toString(warmup),
                "--ops",
                Integer.toString(ops),
                "--timeout-s",
                Integer.toString(SIDE_TIMEOUT_S)));
        Path log = dir.resolve("rank-" + r + ".log");
        Process p =
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        procs.add(p);
        OutputStream stdin = p.getOutputStream();
        stdin.write((HexFormat.of().formatHex(secret) + "\n").getBytes(StandardCharsets.US_ASCII));
        stdin.flush(); // and kept open: the rank exits when it closes
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SIDE_TIMEOUT_S);
      for (int r = 0; r < n; r++) {
        Process p = procs.get(r);
        long left = Math.max(1, deadline - System.nanoTime());
        if (!p.waitFor(left, TimeUnit.NANOSECONDS)) {
          throw new IllegalStateException(
              "rank JVM " + r + " did not finish in " + SIDE_TIMEOUT_S + " s" + logs(dir, n));
        }
        if (p.exitValue() != 0) {
          throw new IllegalStateException(
              "rank JVM " + r + " failed with exit code " + p.exitValue() + logs(dir, n));
        }
      }
      List<JsonNode> out = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        out.add(BenchEnv.JSON.readTree(dir.resolve("rank-" + r + ".json").toFile()));
      }
      return out;
    } finally {
      Arrays.fill(secret, (byte) 0);
      stopAll(procs);
      deleteTree(dir);
    }
  }

  /** gloo: one launcher process that starts the N rank processes and prints their timings. */
  private static List<JsonNode> runGloo(
      String python, Path script, int n, long[] sizes, int warmup, int ops) throws Exception {
    Path dir = Files.createTempDirectory("ring-vs-gloo-gloo-");
    List<Process> procs = new ArrayList<>();
    try {
      Path stdout = dir.resolve("gloo.json");
      Path stderr = dir.resolve("gloo.log");
      Process p =
          new ProcessBuilder(
                  python,
                  script.toString(),
                  "--exit-on-stdin-eof",
                  "--ranks",
                  Integer.toString(n),
                  "--sizes-bytes",
                  Arrays.stream(sizes).mapToObj(Long::toString).collect(Collectors.joining(",")),
                  "--warmup",
                  Integer.toString(warmup),
                  "--ops",
                  Integer.toString(ops),
                  "--timeout",
                  Integer.toString(SIDE_TIMEOUT_S))
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile())
              .start();
      procs.add(p);
      if (!p.waitFor(SIDE_TIMEOUT_S + 30, TimeUnit.SECONDS)) {
        throw new IllegalStateException(
            "gloo did not finish in " + SIDE_TIMEOUT_S + " s" + tail(stderr));
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "gloo failed with exit code " + p.exitValue() + tail(stderr));
      }
      JsonNode root = BenchEnv.JSON.readTree(stdout.toFile());
      List<JsonNode> out = new ArrayList<>();
      root.path("ranks").forEach(out::add);
      if (out.size() != n) {
        throw new IllegalStateException("gloo reported " + out.size() + " ranks, want " + n);
      }
      return out;
    } finally {
      stopAll(procs);
      deleteTree(dir);
    }
  }

  /** Kills what is still running (with its children) and closes the stdin pipes. */
  private static void stopAll(List<Process> procs) {
    for (Process p : procs) {
      if (p.isAlive()) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
      try {
        p.getOutputStream().close();
      } catch (IOException ignored) {
        // gone already
      }
    }
    for (Process p : procs) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static String logs(Path dir, int n) {
    StringBuilder b = new StringBuilder();
    for (int r = 0; r < n; r++) {
      b.append("\n--- rank ").append(r).append(':').append(tail(dir.resolve("rank-" + r + ".log")));
    }
    return b.toString();
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return " (no log: " + e.getMessage() + ")";
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted((a, b) -> b.getNameCount() - a.getNameCount())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // a temporary file: best effort
                }
              });
    } catch (IOException ignored) {
      // best effort
    }
  }

  private static ArrayNode ints(int[] values) {
    ArrayNode a = BenchEnv.JSON.createArrayNode();
    for (int v : values) {
      a.add(v);
    }
    return a;
  }

  private static int[] positiveInts(String opt, String csv, int min) {
    try {
      int[] v =
          Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
      for (int x : v) {
        if (x < min) {
          throw new UsageException(opt + ": " + x + " is below " + min);
        }
      }
      if (v.length == 0) {
        throw new UsageException(opt + ": no value");
      }
      return v;
    } catch (NumberFormatException e) {
      throw new UsageException(opt + ": not a number in '" + csv + "'");
    }
  }
}
