package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Ring all-reduce bus bandwidth, 2·(N−1)/N·S/t, for S = 4…256 MiB of floats and N = 2, 3 ranks on
 * loopback, against raw loopback TCP throughput measured by the same harness in the same run: one
 * thread streaming the same number of bytes a rank sends (2·(N−1)/N·S) over one loopback connection
 * to a reading thread, with the ring's socket options (TCP_NODELAY, 4 MiB buffers) and 1 MiB writes
 * from a direct buffer. Figure: ratio = bus bandwidth ÷ raw throughput (= t_raw ÷ t_ring). Goal ≥
 * 0.85.
 *
 * <p>The N ranks are threads of this one JVM (each with its ring's sender thread), all on this
 * machine's cores: on a 2-core machine they share two cores with each other and with the kernel's
 * loopback copies, which a single raw stream does not. So the run also measures "raw N streams": N
 * threads each streaming the same bytes to the next over its own connection at once (the ring's
 * traffic pattern, without framing, copies or adds), and reports the ring against it too.
 *
 * <pre>bench/run ring-allreduce [--sizes-mib 4,16,64,256] [--ranks 2,3] [--runs 5] [--warmup 1]
 * </pre>
 */
public final class RingBandwidthBench {
  private static final int PIECE = 1 << 20;
  private static final int SOCKET_BUFFER = 4 << 20;

  private RingBandwidthBench() {}

  public static void main(String[] args) throws Exception {
    int[] sizesMib = {4, 16, 64, 256};
    int[] ranks = {2, 3};
    int runs = 5;
    int warmup = 1;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sizes-mib" -> sizesMib = ints(args[++i]);
        case "--ranks" -> ranks = ints(args[++i]);
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        default ->
            throw new IllegalArgumentException(
                "unknown option "
                    + args[i]
                    + "; options: --sizes-mib 4,16,64,256 --ranks 2,3 --runs 5 --warmup 1");
      }
    }
    ObjectNode root = BenchEnv.JSON.createObjectNode();
    root.put("benchmark", "ring-allreduce");
    ObjectNode env = BenchEnv.describe();
    root.set("env", env);
    ObjectNode config = root.putObject("config");
    config.put(
        "ranks_as",
        "threads of one JVM on one machine (loopback 127.0.0.1), each rank with its ring's sender"
            + " thread");
    config.put(
        "payload",
        "fp32 in DirectFloats (off-heap, as the trainer's flat gradient and parameter buffers),"
            + " fp32 wire");
    config.put("piece_bytes", PIECE);
    config.put("socket_buffer_bytes", SOCKET_BUFFER);
    config.put("tcp_nodelay", true);
    config.put("runs", runs);
    config.put("warmup", warmup);
    config.put("order", "ring, raw, raw_n interleaved, rotating which goes first each round");
    config.put("bus_bandwidth", "2*(N-1)/N*S/t_ring");
    config.put(
        "raw",
        "one thread streaming 2*(N-1)/N*S bytes over one loopback connection to one reading"
            + " thread");
    config.put(
        "raw_n",
        "N threads each streaming 2*(N-1)/N*S bytes to the next over its own connection,"
            + " simultaneously");
    config.put(
        "ratio", "bus bandwidth / raw throughput = t_raw / t_ring (per round, median over rounds)");
    config.put(
        "raw_memory",
        "as raw, but streaming from and into buffers of max(S) bytes instead of reusing one 1 MiB"
            + " buffer that stays in the CPU cache: the memory traffic a collective over S bytes"
            + " cannot avoid");
    config.put("raw_n_memory", "as raw_n, streaming through buffers of max(S) bytes");
    ArrayNode cases = root.putArray("cases");
    double worst = Double.MAX_VALUE;
    double worstMemory = Double.MAX_VALUE;
    String[] names = {"raw", "raw_n", "raw_memory", "raw_n_memory"};
    System.out.printf(
        Locale.ROOT,
        "%-3s %6s %8s %8s %8s %8s %8s | %7s %7s %7s %7s%n",
        "N",
        "S MiB",
        "busbw",
        "raw",
        "rawN",
        "rawMem",
        "rawNMem",
        "ratio",
        "vsRawN",
        "vsMem",
        "vsNMem");
    for (int n : ranks) {
      long maxBytes = (long) Arrays.stream(sizesMib).max().orElse(4) << 20;
      List<Ring> rings = formRing(n);
      RawLinks[] raws = {
        new RawLinks(1, 0), new RawLinks(n, 0), new RawLinks(1, maxBytes), new RawLinks(n, maxBytes)
      };
      ExecutorService pool = Executors.newFixedThreadPool(n);
      try {
        // the trainer's flat gradient and parameter buffers are DirectFloats: time the same
        DirectFloats[] data = new DirectFloats[n];
        for (int r = 0; r < n; r++) {
          data[r] = DirectFloats.allocate((int) (maxBytes / 4));
        }
        for (int mib : sizesMib) {
          int floats = (int) (((long) mib << 20) / 4);
          long perRank = 2L * (n - 1) * floats * 4 / n;
          int[] bounds = Ring.evenBounds(0, floats, n);
          List<Double> tRing = new ArrayList<>();
          List<List<Double>> tRaw = new ArrayList<>();
          List<List<Double>> ratios = new ArrayList<>();
          for (int i = 0; i < raws.length; i++) {
            tRaw.add(new ArrayList<>());
            ratios.add(new ArrayList<>());
          }
          ArrayNode rounds = BenchEnv.JSON.createArrayNode();
          for (int round = 0; round < warmup + runs; round++) {
            double ring = 0;
            double[] t = new double[raws.length];
            ObjectNode cpu = BenchEnv.JSON.createObjectNode();
            // rotate which goes first, so a drift in the machine's speed hits all of them
            for (int k = 0; k <= raws.length; k++) {
              int which = (k + round) % (raws.length + 1);
              BenchEnv.Cpu start = BenchEnv.Cpu.now();
              if (which == 0) {
                ring = timeRing(pool, rings, data, floats, bounds, round);
                cpu.set("ring", BenchEnv.Cpu.now().since(start));
              } else {
                t[which - 1] = raws[which - 1].time(perRank);
                cpu.set(names[which - 1], BenchEnv.Cpu.now().since(start));
              }
            }
            if (round >= warmup) {
              tRing.add(ring);
              ObjectNode rd = rounds.addObject();
              rd.put("ring_s", BenchEnv.round(ring * 1000) / 1000);
              for (int i = 0; i < raws.length; i++) {
                tRaw.get(i).add(t[i]);
                ratios.get(i).add(t[i] / ring);
                rd.put(names[i] + "_s", BenchEnv.round(t[i] * 1000) / 1000);
              }
              rd.set("cpu", cpu);
            }
          }
          double busbw = perRank / BenchEnv.median(tRing) / 1e9;
          double[] bw = new double[raws.length];
          double[] ratio = new double[raws.length];
          ObjectNode c = cases.addObject();
          c.put("n", n);
          c.put("size_mib", mib);
          c.put("bytes_per_rank", perRank);
          c.put("bus_bandwidth_gbps", BenchEnv.round(busbw));
          for (int i = 0; i < raws.length; i++) {
            bw[i] = perRank / BenchEnv.median(tRaw.get(i)) / 1e9;
            ratio[i] = BenchEnv.median(ratios.get(i));
            c.put(names[i] + "_gbps", BenchEnv.round(bw[i]));
            c.put("ratio_vs_" + names[i], BenchEnv.round(ratio[i]));
            c.set("ratio_vs_" + names[i] + "_stats", BenchEnv.stats(ratios.get(i)));
            c.set(names[i] + "_seconds", BenchEnv.stats(tRaw.get(i)));
          }
          c.set("ring_seconds", BenchEnv.stats(tRing));
          c.set("rounds", rounds);
          worst = Math.min(worst, ratio[0]);
          worstMemory = Math.min(worstMemory, ratio[2]);
          System.out.printf(
              Locale.ROOT,
              "%-3d %6d %8.3f %8.3f %8.3f %8.3f %8.3f | %7.3f %7.3f %7.3f %7.3f  (spread %.0f%%)%n",
              n,
              mib,
              busbw,
              bw[0],
              bw[1],
              bw[2],
              bw[3],
              ratio[0],
              ratio[1],
              ratio[2],
              ratio[3],
              BenchEnv.stats(ratios.get(0)).path("spread_pct").asDouble());
        }
      } finally {
        pool.shutdownNow();
        rings.forEach(Ring::close);
        for (RawLinks r : raws) {
          r.close();
        }
      }
    }
    ObjectNode summary = root.putObject("summary");
    summary.put("figure", "ring all-reduce bus bandwidth / raw loopback TCP throughput");
    summary.put("worst_ratio", BenchEnv.round(worst));
    summary.put("worst_ratio_vs_raw_memory", BenchEnv.round(worstMemory));
    summary.put("goal", 0.85);
    summary.put("meets_goal", worst >= 0.85);
    summary.put("machine", BenchEnv.machine(env));
    Path out = BenchEnv.root().resolve("bench/results/ring-allreduce.json");
    BenchEnv.writeJson(out, root);
    System.out.printf(Locale.ROOT, "worst ratio %.3f (goal >= 0.85) -> %s%n", worst, out);
  }

  private static List<Ring> formRing(int n) throws Exception {
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
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
        fs.add(pool.submit(() -> eps.get(rank).join(rank, addrs, secret, Duration.ofSeconds(120))));
      }
      List<Ring> rings = new ArrayList<>();
      for (Future<Ring> f : fs) {
        rings.add(f.get(150, TimeUnit.SECONDS));
      }
      return rings;
    } finally {
      pool.shutdownNow();
      eps.forEach(RingEndpoint::close);
    }
  }

  /** Seconds from the first rank starting to the last rank finishing one all-reduce. */
  private static double timeRing(
      ExecutorService pool,
      List<Ring> rings,
      DirectFloats[] data,
      int floats,
      int[] bounds,
      int round)
      throws Exception {
    int n = rings.size();
    CyclicBarrier barrier = new CyclicBarrier(n);
    List<Future<long[]>> fs = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      int rank = r;
      fs.add(
          pool.submit(
              () -> {
                DirectFloats d = data[rank];
                d.fill(0, floats, rank + 1f);
                barrier.await();
                long t0 = System.nanoTime();
                rings.get(rank).allReduce(d, bounds, "benchmark", round);
                return new long[] {t0, System.nanoTime()};
              }));
    }
    long start = Long.MAX_VALUE;
    long end = Long.MIN_VALUE;
    for (Future<long[]> f : fs) {
      long[] t = f.get(600, TimeUnit.SECONDS);
      start = Math.min(start, t[0]);
      end = Math.max(end, t[1]);
    }
    float expected = n * (n + 1) / 2f;
    if (data[0].get(0) != expected || data[n - 1].get(floats - 1) != expected) {
      throw new IllegalStateException(
          "wrong all-reduce result " + data[0].get(0) + ", want " + expected);
    }
    return (end - start) / 1e9;
  }

  /**
   * k loopback connections (i → i+1 mod k, or one connection), each with a writing and a reading
   * thread.
   */
  private static final class RawLinks implements AutoCloseable {
    final int k;
    final SocketChannel[] out;
    final SocketChannel[] in;
    final ByteBuffer[] sendBuf;
    final ByteBuffer[] recvBuf;
    final ExecutorService pool;

    /**
     * {@code memoryBytes} 0: every write and read reuses one {@value #PIECE}-byte buffer, which
     * stays in the CPU cache; otherwise each link streams through buffers of that many bytes, so
     * the kernel's copies touch as much memory as a collective over that payload does.
     */
    RawLinks(int k, long memoryBytes) throws IOException {
      this.k = k;
      out = new SocketChannel[k];
      in = new SocketChannel[k];
      sendBuf = new ByteBuffer[k];
      recvBuf = new ByteBuffer[k];
      pool = Executors.newFixedThreadPool(2 * k);
      for (int i = 0; i < k; i++) {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
          server.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
          server.bind(new InetSocketAddress("127.0.0.1", 0));
          SocketChannel c = SocketChannel.open();
          configure(c);
          c.connect(server.getLocalAddress());
          SocketChannel a = server.accept();
          configure(a);
          out[i] = c;
          in[i] = a;
        }
        int size = memoryBytes > 0 ? Math.toIntExact(memoryBytes) : PIECE;
        sendBuf[i] = ByteBuffer.allocateDirect(size);
        byte[] fill = "raw loopback tcp ".repeat(PIECE / 16).getBytes(StandardCharsets.US_ASCII);
        for (int at = 0; at < size; at += PIECE) {
          sendBuf[i].put(at, fill, 0, Math.min(PIECE, size - at));
        }
        recvBuf[i] = ByteBuffer.allocateDirect(size);
      }
    }

    private static void configure(SocketChannel ch) throws IOException {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
      ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
    }

    /**
     * Seconds for every link to carry {@code bytes} (all links at once), first start to last
     * finish.
     */
    double time(long bytes) throws Exception {
      CyclicBarrier barrier = new CyclicBarrier(2 * k);
      List<Future<long[]>> fs = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        int link = i;
        fs.add(
            pool.submit(
                (Callable<long[]>)
                    () -> {
                      ByteBuffer b = sendBuf[link];
                      barrier.await();
                      long t0 = System.nanoTime();
                      long left = bytes;
                      int at = 0;
                      while (left > 0) {
                        int len = (int) Math.min(Math.min(PIECE, left), b.capacity() - at);
                        b.limit(at + len).position(at);
                        while (b.hasRemaining()) {
                          out[link].write(b);
                        }
                        left -= len;
                        at = (at + len) % b.capacity();
                      }
                      return new long[] {t0, System.nanoTime()};
                    }));
        fs.add(
            pool.submit(
                (Callable<long[]>)
                    () -> {
                      ByteBuffer b = recvBuf[link];
                      barrier.await();
                      long t0 = System.nanoTime();
                      long left = bytes;
                      int at = 0;
                      while (left > 0) {
                        b.limit(at + (int) Math.min(Math.min(PIECE, left), b.capacity() - at))
                            .position(at);
                        int r = in[link].read(b);
                        if (r < 0) {
                          throw new IOException("raw link closed");
                        }
                        left -= r;
                        at = (at + r) % b.capacity();
                      }
                      return new long[] {t0, System.nanoTime()};
                    }));
      }
      long start = Long.MAX_VALUE;
      long end = Long.MIN_VALUE;
      for (Future<long[]> f : fs) {
        long[] t = f.get(600, TimeUnit.SECONDS);
        start = Math.min(start, t[0]);
        end = Math.max(end, t[1]);
      }
      return (end - start) / 1e9;
    }

    @Override
    public void close() throws IOException {
      pool.shutdownNow();
      for (int i = 0; i < k; i++) {
        out[i].close();
        in[i].close();
      }
    }
  }

  private static int[] ints(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
  }
}
