package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;
import io.sparkner.collective.RingEndpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code sparse_gradients} at the exchange, over real rings on 127.0.0.1: the sparse exchange of a
 * matrix's touched rows gives the dense ring's sums bit for bit (ZeRO 0, 1, 2; fp32 and fp16 wire;
 * 2 and 3 ranks; rows that straddle shards and buckets), sends fewer bytes, carries an inf to every
 * rank's overflow decision, falls back to dense when sparse would send more, and refuses a gradient
 * whose untouched rows are not zero.
 */
class SparseGradientExchangeTest {
  private static final byte[] SECRET = "sparse-test-secret".getBytes(StandardCharsets.UTF_8);

  /** The flat space: a head, the matrix (rows x width), a tail. */
  static final int HEAD = 13;

  static final int ROWS = 200;
  static final int WIDTH = 7;
  static final int TAIL = 101;
  static final int PSI = HEAD + ROWS * WIDTH + TAIL;

  interface RankFn<T> {
    T apply(int rank) throws Exception;
  }

  static List<Ring> form(int n) throws Exception {
    List<RingEndpoint> eps = new ArrayList<>();
    try {
      for (int r = 0; r < n; r++) {
        eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
      return all(n, r -> eps.get(r).join(r, addrs, SECRET, Duration.ofSeconds(10)));
    } finally {
      eps.forEach(RingEndpoint::close);
    }
  }

  /** Runs fn for every rank on its own thread; every rank must succeed within 60 s. */
  static <T> List<T> all(int n, RankFn<T> fn) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<T>> fs = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        fs.add(pool.submit(() -> fn.apply(rank)));
      }
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(60, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Rank r's local gradient: random head and tail; in the matrix, values of very different
   * magnitudes (so that summation order and fp16 roundings show in the bits) at its touched rows
   * only, one of them -0.0.
   */
  static DirectFloats gradient(long seed, int rank, int[] touched) {
    Random rnd = new Random(seed * 31 + rank);
    DirectFloats g = DirectFloats.allocate(PSI);
    for (int i = 0; i < HEAD; i++) {
      g.put(i, (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3)));
    }
    for (int i = HEAD + ROWS * WIDTH; i < PSI; i++) {
      g.put(i, (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3)));
    }
    for (int id : touched) {
      for (int j = 0; j < WIDTH; j++) {
        g.put(
            HEAD + id * WIDTH + j, (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3)));
      }
    }
    if (touched.length > 0) {
      g.put(HEAD + touched[0] * WIDTH + 1, -0.0f);
    }
    return g;
  }

  /** Rows a rank touches: random, overlapping between ranks; row 0 and the last by every rank. */
  static int[] touched(long seed, int rank, int count) {
    Random rnd = new Random(seed * 17 + rank * 1000 + 5);
    TreeSet<Integer> ids = new TreeSet<>(List.of(0, ROWS - 1));
    while (ids.size() < count) {
      ids.add(rnd.nextInt(ROWS));
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  static int[] bits(float[] a) {
    int[] b = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = Float.floatToRawIntBits(a[i]);
    }
    return b;
  }

  /** What one rank ended with: its shard, its whole local buffer, the bytes its ring sent. */
  record Reduced(float[] shard, float[] local, long bytes, long sparseSteps, long fallbacks) {}

  /** One reduction on every rank, dense (touched null) or with the hint. */
  static List<Reduced> reduce(
      List<Ring> rings, int stage, long bucket, long seed, int count, boolean sparse, long step)
      throws Exception {
    int n = rings.size();
    return all(
        n,
        r -> {
          Ring ring = rings.get(r);
          RingExchange ex = new RingExchange(ring, stage, PSI, bucket);
          int[] ids = touched(seed, r, count);
          DirectFloats local = gradient(seed, r, ids);
          float[] shard = new float[(int) (ex.shardTo(PSI) - ex.shardFrom(PSI))];
          long b0 = ring.bytesSent();
          if (sparse) {
            ex.reduceGradients(local, shard, step, new TouchedRows(HEAD, ROWS, WIDTH, ids));
          } else {
            ex.reduceGradients(local, shard, step);
          }
          return new Reduced(
              shard, local.toArray(), ring.bytesSent() - b0, ex.sparseSteps(), ex.denseFallbacks());
        });
  }

  @Test
  void theSparseExchangeGivesTheDenseSumsBitForBitAndSendsLess() throws Exception {
    for (int n : new int[] {2, 3}) {
      List<Ring> rings = form(n);
      try {
        for (boolean half : new boolean[] {false, true}) {
          rings.forEach(r -> r.setHalfPrecisionWire(half));
          for (int stage : new int[] {0, 1, 2}) {
            // ZeRO 2 with the default bucket and with buckets that cut through the matrix's rows
            for (long bucket : stage == 2 ? new long[] {500_000_000L, 37} : new long[] {1}) {
              String what = "N=" + n + " ZeRO " + stage + " bucket " + bucket + " fp16 " + half;
              long seed = n * 100 + stage * 10 + (half ? 1 : 0) + bucket;
              List<Reduced> dense = reduce(rings, stage, bucket, seed, 6, false, 3);
              List<Reduced> sparse = reduce(rings, stage, bucket, seed, 6, true, 3);
              for (int r = 0; r < n; r++) {
                assertEquals(1, sparse.get(r).sparseSteps(), what);
                assertArrayEquals(
                    bits(dense.get(r).shard()),
                    bits(sparse.get(r).shard()),
                    what + ": rank " + r + "'s reduced shard");
                if (stage < 2) {
                  assertArrayEquals(
                      bits(dense.get(r).local()),
                      bits(sparse.get(r).local()),
                      what + ": rank " + r + "'s reduced gradient");
                }
                assertTrue(
                    sparse.get(r).bytes() < dense.get(r).bytes(),
                    what
                        + ": rank "
                        + r
                        + " sent "
                        + sparse.get(r).bytes()
                        + " bytes sparse, "
                        + dense.get(r).bytes()
                        + " dense");
              }
            }
          }
        }
      } finally {
        rings.forEach(Ring::close);
      }
    }
  }

  @Test
  void anInfInOneRanksTouchedRowMakesEveryRankSkipTheStep() throws Exception {
    for (int stage : new int[] {0, 2}) {
      List<Ring> rings = form(3);
      try {
        rings.forEach(r -> r.setHalfPrecisionWire(true));
        List<StepStatistics> totals =
            all(
                3,
                r -> {
                  RingExchange ex = new RingExchange(rings.get(r), stage, PSI, 37);
                  // row 10 (elements 83..89, in rank 0's shard [0, 505)) only rank 2 touches
                  int[] ids = {0, r == 2 ? 10 : 60 + r, ROWS - 1};
                  DirectFloats local = gradient(9, r, ids);
                  if (r == 2) {
                    local.put(HEAD + 10 * WIDTH + 3, Float.POSITIVE_INFINITY);
                  }
                  float[] shard = new float[(int) (ex.shardTo(PSI) - ex.shardFrom(PSI))];
                  ex.reduceGradients(local, shard, 4, new TouchedRows(HEAD, ROWS, WIDTH, ids));
                  assertEquals(1, ex.sparseSteps());
                  int[] counted = ex.countedRange(shard.length);
                  double sq = LossScaler.sumOfSquares(shard, counted[0], counted[1]);
                  return StepStatistics.local(sq, 0, 0).allReduce(ex, 4);
                });
        for (int r = 0; r < 3; r++) {
          assertTrue(totals.get(r).overflowed(), "ZeRO " + stage + ": rank " + r + " missed it");
          assertEquals(1, totals.get(r).overflowedRanks(), "ZeRO " + stage + ": rank " + r);
        }
      } finally {
        rings.forEach(Ring::close);
      }
    }
  }

  @Test
  void whenSparseWouldSendMoreTheStepGoesDenseWithTheSameSums() throws Exception {
    List<Ring> rings = form(2);
    try {
      for (int stage : new int[] {0, 2}) {
        // every row touched: ids and fp32 rows outweigh the matrix's dense collectives
        List<Reduced> dense = reduce(rings, stage, 37, 11, ROWS, false, 1);
        List<Reduced> hinted = reduce(rings, stage, 37, 11, ROWS, true, 1);
        for (int r = 0; r < 2; r++) {
          assertEquals(0, hinted.get(r).sparseSteps(), "ZeRO " + stage);
          assertEquals(1, hinted.get(r).fallbacks(), "ZeRO " + stage);
          assertArrayEquals(bits(dense.get(r).shard()), bits(hinted.get(r).shard()));
          // the dense collectives plus the row counts (one fp64 frame of 2 values)
          assertEquals(dense.get(r).bytes() + 16, hinted.get(r).bytes(), "ZeRO " + stage);
        }
      }
    } finally {
      rings.forEach(Ring::close);
    }
  }

  @Test
  void theDecisionComparesTheLargestPayloadOfARank() throws Exception {
    List<Ring> rings = form(2);
    try {
      RingExchange zero0 = new RingExchange(rings.get(0), 0, PSI, 1);
      RingExchange zero2 = new RingExchange(rings.get(0), 2, PSI, 1);
      int e0 = HEAD;
      int e1 = HEAD + ROWS * WIDTH; // 1400 elements, shards [0, 757) and [757, 1514)
      // dense ZeRO 0 on fp32: rank r sends the other's chunk of the matrix in the reduce-scatter
      // and
      // its own in the all-gather, 1400 elements = 5600 bytes; sparse: the other rank's block,
      // 4 * (1 + 7) = 32 bytes a row
      assertTrue(zero0.sparsePays(new int[] {174, 174}, e0, e1, WIDTH, false)); // 5568
      assertTrue(!zero0.sparsePays(new int[] {0, 175}, e0, e1, WIDTH, false)); // rank 0: 5600
      // fp16 wire: 2800 bytes dense
      assertTrue(zero0.sparsePays(new int[] {87, 87}, e0, e1, WIDTH, true));
      assertTrue(!zero0.sparsePays(new int[] {87, 88}, e0, e1, WIDTH, true));
      // ZeRO 2 reduce-scatters only: rank 0 sends the matrix's part of shard 1 (1413 - 757 = 656
      // elements), rank 1 that of shard 0 (757 - 13 = 744): 2976 bytes at most on fp32
      assertTrue(zero2.sparsePays(new int[] {92, 92}, e0, e1, WIDTH, false)); // 2944
      assertTrue(!zero2.sparsePays(new int[] {93, 0}, e0, e1, WIDTH, false)); // rank 1: 2976
    } finally {
      rings.forEach(Ring::close);
    }
  }

  @Test
  void aNonzeroValueInAnUntouchedRowIsRefusedNotDropped() throws Exception {
    List<Ring> rings = form(2);
    try {
      List<Throwable> errors =
          all(
              2,
              r -> {
                RingExchange ex = new RingExchange(rings.get(r), 0, PSI, 1);
                int[] ids = touched(3, r, 6);
                DirectFloats local = gradient(3, r, ids);
                int untouched = 0;
                while (java.util.Arrays.binarySearch(ids, untouched) >= 0) {
                  untouched++;
                }
                local.put(HEAD + untouched * WIDTH + 2, 0.5f);
                try {
                  ex.reduceGradients(
                      local, new float[PSI], 0, new TouchedRows(HEAD, ROWS, WIDTH, ids));
                  return null;
                } catch (RuntimeException e) {
                  return e;
                }
              });
      for (Throwable e : errors) {
        assertInstanceOf(IllegalStateException.class, e);
        assertTrue(
            e.getMessage()
                .startsWith("sparse_gradients: the word-embedding gradient has a nonzero"),
            e.getMessage());
      }
    } finally {
      rings.forEach(Ring::close);
    }
  }
}
