package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Handshake;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One rank of {@code bench/run ring-vs-gloo}: the timed all-reduces of one rank (shared by the
 * threads mode, where {@link RingVsGlooBench} runs N of them as threads, and the JVMs mode), and
 * the {@code main} of a rank that is a JVM of its own, as on a cluster.
 *
 * <p>A rank JVM reads the ring's 32-byte secret as 64 hex digits and a newline from its standard
 * input (never from its command line, where {@code ps} would show it), opens a {@link RingEndpoint}
 * on 127.0.0.1 with a port the kernel picks, publishes its address as {@code rank-R.addr} in the
 * rendezvous directory, waits for every rank's file, joins the ring with the stage key the trainer
 * derives ({@link Handshake#ringKey}), times the all-reduces and writes its timings as {@code
 * rank-R.json} there. It exits when its standard input reaches end of file, so it ends with the
 * benchmark that started it, however that ends.
 *
 * <pre>
 * java -cp ... io.sparkner.bench.RingVsGlooRank --rank R --ranks N --dir DIR --sizes-bytes S1,S2
 *     --warmup W --ops K [--timeout-s 600]
 * </pre>
 */
public final class RingVsGlooRank {
  /** Elements written or checked at a time (a multiple of the pattern's period of 8). */
  private static final int BLOCK = 8192;

  /** Most warm-up passes over all sizes while a rank's JIT is still compiling. */
  static final int MAX_WARMUP_PASSES = 20;

  /**
   * A warm-up pass is quiet when the JIT's compile time during it, summed over the ranks, is at
   * most this share of the ranks' summed pass time. Never zero: the CPU accounting the timed pass
   * runs per size (reading /proc) keeps a trickle of small compiles going.
   */
  static final double QUIET_JIT_SHARE = 0.01;

  private RingVsGlooRank() {}

  public static void main(String[] args) throws Exception {
    int rank = -1;
    int n = -1;
    Path dir = null;
    long[] sizes = null;
    int warmup = 1;
    int ops = 5;
    int timeoutS = 600;
    for (int i = 0; i < args.length; i++) {
      String v = i + 1 < args.length ? args[i + 1] : "";
      switch (args[i]) {
        case "--rank" -> rank = Integer.parseInt(v);
        case "--ranks" -> n = Integer.parseInt(v);
        case "--dir" -> dir = Path.of(v);
        case "--sizes-bytes" ->
            sizes = Arrays.stream(v.split(",")).mapToLong(Long::parseLong).toArray();
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--ops" -> ops = Integer.parseInt(v);
        case "--timeout-s" -> timeoutS = Integer.parseInt(v);
        default -> {
          System.err.println("RingVsGlooRank: unknown option " + args[i]);
          System.exit(2);
        }
      }
      i++;
    }
    if (rank < 0 || n < 2 || rank >= n || dir == null || sizes == null) {
      System.err.println(
          "RingVsGlooRank: --rank R --ranks N (N >= 2, 0 <= R < N) --dir DIR --sizes-bytes are"
              + " required");
      System.exit(2);
    }
    byte[] secret = readSecret(System.in);
    Thread watchdog =
        new Thread(
            () -> {
              try {
                byte[] b = new byte[256];
                while (System.in.read(b) >= 0) {
                  // nothing is sent after the secret: wait for the parent to go
                }
              } catch (IOException ignored) {
                // the parent's end is gone as well
              }
              Runtime.getRuntime().halt(3);
            },
            "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    Duration timeout = Duration.ofSeconds(timeoutS);
    long maxBytes = Arrays.stream(sizes).max().orElseThrow();
    DirectFloats data = DirectFloats.allocate(Math.toIntExact(maxBytes / 4));
    ObjectNode out;
    try (RingEndpoint ep = RingEndpoint.open("127.0.0.1", 0, 0)) {
      publish(dir.resolve("rank-" + rank + ".addr"), ep.address());
      List<String> addresses = new ArrayList<>();
      long deadline = System.nanoTime() + timeout.toNanos();
      for (int r = 0; r < n; r++) {
        Path f = dir.resolve("rank-" + r + ".addr");
        while (!Files.exists(f)) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("rank " + r + " did not publish " + f + " in time");
          }
          Thread.sleep(10);
        }
        addresses.add(Files.readString(f, StandardCharsets.UTF_8).trim());
      }
      byte[] key = Handshake.ringKey(secret, 0, 0);
      Ring joined;
      try {
        joined = ep.join(rank, addresses, key, timeout);
      } finally {
        Arrays.fill(key, (byte) 0);
        Arrays.fill(secret, (byte) 0);
      }
      try (Ring ring = joined) {
        out = time(ring, data, sizes, warmup, ops);
      }
    }
    out.put("pid", ProcessHandle.current().pid());
    publish(dir.resolve("rank-" + rank + ".json"), BenchEnv.JSON.writeValueAsString(out));
    System.exit(0);
  }

  /** 32 bytes as 64 hex digits and a newline, read byte by byte (nothing past the line). */
  private static byte[] readSecret(InputStream in) throws IOException {
    byte[] line = in.readNBytes(65);
    if (line.length != 65 || line[64] != '\n') {
      throw new IOException("expected the ring secret as 64 hex digits and a newline on stdin");
    }
    return HexFormat.of().parseHex(new String(line, 0, 64, StandardCharsets.US_ASCII));
  }

  /** Writes {@code text} to {@code file} atomically (a reader never sees half of it). */
  private static void publish(Path file, String text) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Runs warm-up passes of {@code warmup} all-reduces of each size (bytes, multiples of 32) until
   * the JIT is quiet (see the body), then times {@code ops} of each size on this rank, as the
   * trainer reduces its flat gradients: {@link Ring#allReduce} of a {@link DirectFloats} over
   * {@link Ring#evenBounds}. Before each one, the rank fills its data with rank + 1 + ((i + op) mod
   * 8) (not timed) and passes a barrier (an empty {@link Ring#allReduceSum}); each timed op records
   * its start after the barrier and its end, in {@link System#nanoTime} (CLOCK_MONOTONIC on Linux,
   * the clock of the Python side's {@code time.monotonic_ns}). After each one the rank checks every
   * element for the exact sum n(n+1)/2 + n((i + op) mod 8). The result has the shape of {@code
   * bench/gloo_allreduce.py}'s per-rank output ({@code process_cpu_s} is this JVM's, which covers
   * every rank when the ranks are threads of one JVM).
   */
  static ObjectNode time(Ring ring, DirectFloats data, long[] sizes, int warmup, int ops) {
    int rank = ring.rank();
    int n = ring.size();
    ObjectNode out = BenchEnv.JSON.createObjectNode();
    out.put("rank", rank);
    float[] block = new float[BLOCK];
    float[] want = new float[BLOCK];
    long[] opId = {0};
    // First the warm-up passes, then the timed one. A warm-up pass runs the timed pass's own code
    // (timing and CPU accounting included) with `warmup` ops per size, so the JIT sees everything
    // the timed pass runs. A JVM compiles its hot loops while it runs them, and a fixed count of
    // warm-up ops left fresh rank JVMs timing C1 code while C2 still compiled (measured: C2
    // finished the receive loop seconds into the timed ops, and the compiler threads took up to
    // half of the timed window's CPU). So the warm-up pass repeats until the ranks' JITs are quiet
    // during a pass (at most QUIET_JIT_SHARE of it; agreed over the ring, so every rank runs the
    // same ops), at least twice and at most MAX_WARMUP_PASSES times. gloo is compiled ahead of time
    // and needs no such wait.
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    boolean canTell = jit != null && jit.isCompilationTimeMonitoringSupported();
    ArrayNode passes = out.putArray("warmup_passes");
    while (warmup > 0 && passes.size() < MAX_WARMUP_PASSES) {
      long before = canTell ? jit.getTotalCompilationTime() : 0;
      long t0 = System.nanoTime();
      pass(ring, data, sizes, 0, warmup, block, want, opId);
      double seconds = (System.nanoTime() - t0) / 1e9;
      double mine = canTell ? jit.getTotalCompilationTime() - before : 0;
      // summed over the ranks: the JIT's milliseconds, and the pass's seconds
      double[] all = ring.allReduceSum(new double[] {mine, seconds}, "warm-up", ++opId[0]);
      passes.addObject().put("seconds", BenchEnv.round(all[1] / n)).put("jit_ms", all[0]);
      if (!canTell || (passes.size() >= 2 && all[0] <= QUIET_JIT_SHARE * 1000 * all[1])) {
        break;
      }
    }
    out.set("sizes", pass(ring, data, sizes, warmup, ops, block, want, opId));
    return out;
  }

  /** {@code ops} timed all-reduces of each size, op indices from {@code firstOp}. */
  private static ArrayNode pass(
      Ring ring,
      DirectFloats data,
      long[] sizes,
      int firstOp,
      int ops,
      float[] block,
      float[] want,
      long[] opId) {
    ArrayNode results = BenchEnv.JSON.createArrayNode();
    for (long size : sizes) {
      ArrayNode times = BenchEnv.JSON.createArrayNode();
      BenchEnv.ThreadCpu threads = BenchEnv.ThreadCpu.now();
      BenchEnv.Cpu start = BenchEnv.Cpu.now();
      for (int op = firstOp; op < firstOp + ops; op++) {
        long[] t = allReduce(ring, data, size, op, block, want, opId);
        times.addArray().add(t[0]).add(t[1]);
      }
      BenchEnv.Cpu end = BenchEnv.Cpu.now();
      ObjectNode threadsCpu = BenchEnv.ThreadCpu.now().since(threads);
      ObjectNode r = results.addObject();
      r.put("bytes", size);
      r.set("ops", times);
      ObjectNode cpu = r.putObject("cpu");
      cpu.put("seconds", end.secondsSince(start));
      cpu.put("process_cpu_s", (end.processCpuNanos() - start.processCpuNanos()) / 1e9);
      cpu.put(
          "machine_busy_s",
          start.machineBusyTicks() >= 0
              ? (end.machineBusyTicks() - start.machineBusyTicks()) * 0.01
              : -1);
      cpu.put(
          "steal_s", start.stealTicks() >= 0 ? (end.stealTicks() - start.stealTicks()) * 0.01 : -1);
      cpu.set("threads_cpu_s", threadsCpu);
    }
    return results;
  }

  /** Fill, barrier, one timed all-reduce ({start, end} nanos), check. */
  private static long[] allReduce(
      Ring ring, DirectFloats data, long size, int op, float[] block, float[] want, long[] opId) {
    int rank = ring.rank();
    int n = ring.size();
    int floats = Math.toIntExact(size / 4);
    for (int j = 0; j < BLOCK; j++) {
      block[j] = rank + 1 + ((j + op) & 7);
      want[j] = n * (n + 1) / 2f + n * ((j + op) & 7);
    }
    for (int at = 0; at < floats; at += BLOCK) {
      data.put(at, block, 0, Math.min(BLOCK, floats - at));
    }
    ring.allReduceSum(new double[0], "barrier", ++opId[0]);
    long t0 = System.nanoTime();
    ring.allReduce(data, Ring.evenBounds(0, floats, n), "benchmark", opId[0]);
    long t1 = System.nanoTime();
    check(data, floats, want, block, rank, size, op);
    return new long[] {t0, t1};
  }

  private static void check(
      DirectFloats data, int floats, float[] want, float[] got, int rank, long size, int op) {
    for (int at = 0; at < floats; at += BLOCK) {
      int m = Math.min(BLOCK, floats - at);
      data.get(at, got, 0, m);
      int bad = Arrays.mismatch(got, 0, m, want, 0, m);
      if (bad >= 0) {
        throw new IllegalStateException(
            "rank "
                + rank
                + ": wrong all-reduce result at element "
                + (at + bad)
                + " of "
                + size
                + " bytes (op "
                + op
                + "): "
                + got[bad]
                + ", want "
                + want[bad]);
      }
    }
  }
}
