package io.sparkner.collective;

import static io.sparkner.collective.RingTestSupport.all;
import static io.sparkner.collective.RingTestSupport.closeAll;
import static io.sparkner.collective.RingTestSupport.form;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ring collectives over real loopback sockets, ranks as threads, against sums computed directly.
 */
class RingTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final Duration LIMIT = Duration.ofSeconds(60);

  /** Lengths around the piece size (262,144 floats) and up to a few million. */
  private static final int[] LENGTHS = {0, 1, 5, 1000, 262_143, 262_145, 786_433, 3_000_001};

  @Test
  void evenBoundsSplitIntoCeilSizedChunks() {
    assertArrayEquals(new int[] {0, 3, 6, 9, 10}, Ring.evenBounds(0, 10, 4));
    assertArrayEquals(new int[] {0, 1, 2, 2, 2}, Ring.evenBounds(0, 2, 4));
    assertArrayEquals(new int[] {5, 5, 5, 5}, Ring.evenBounds(5, 5, 3));
    assertArrayEquals(new int[] {3, 10}, Ring.evenBounds(3, 10, 1));
    assertArrayEquals(new int[] {10, 14, 18, 20}, Ring.evenBounds(10, 20, 3));
  }

  /** Exactly representable values, so every summation order gives the exact sum. */
  static float intValue(int rank, int i) {
    return (float) (((i * 31L + rank * 17L) % 2001) - 1000);
  }

  /**
   * The bounds to test for a length: even, and uneven ones with empty chunks and an offset range.
   */
  static List<int[]> boundsFor(int len, int n) {
    List<int[]> out = new ArrayList<>();
    out.add(Ring.evenBounds(0, len, n));
    if (n > 1) {
      // the range starts at len/7 and ends before len; chunk 0 is empty, the others split it evenly
      int from = len / 7;
      int to = len - len / 11;
      int[] rest = Ring.evenBounds(from, to, n - 1);
      int[] b = new int[n + 1];
      b[0] = from;
      System.arraycopy(rest, 0, b, 1, n);
      out.add(b);
      // everything in the last chunk, the others empty
      int[] last = new int[n + 1];
      last[n] = len;
      out.add(last);
    }
    return out;
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {1, 2, 3, 4})
  void reduceScatterAllGatherAllReduceMatchDirectSums(int n) throws Exception {
    List<Ring> rings = form(n, TIMEOUT);
    try {
      for (int len : LENGTHS) {
        for (int[] bounds : boundsFor(len, n)) {
          checkReduceScatter(rings, len, bounds);
          checkAllGather(rings, len, bounds);
          checkAllReduceExact(rings, len, bounds);
        }
        checkAllReduceRandom(rings, len, Ring.evenBounds(0, len, n));
      }
    } finally {
      closeAll(rings);
    }
  }

  private static void checkReduceScatter(List<Ring> rings, int len, int[] b) throws Exception {
    int n = rings.size();
    List<float[]> data =
        all(
            n,
            LIMIT,
            r -> {
              float[] d = new float[len];
              for (int i = 0; i < len; i++) {
                d[i] = intValue(r, i);
              }
              rings.get(r).reduceScatter(d, b, "gradients", 3);
              return d;
            });
    for (int r = 0; r < n; r++) {
      float[] d = data.get(r);
      for (int i = b[r]; i < b[r + 1]; i++) {
        float expected = 0;
        for (int q = 0; q < n; q++) {
          expected += intValue(q, i);
        }
        if (d[i] != expected) {
          throw new AssertionError(
              "len " + len + " n " + n + " rank " + r + " [" + i + "] = " + d[i] + ", want "
                  + expected);
        }
      }
      for (int i = 0; i < len; i++) { // outside [b0, bn) untouched
        if ((i < b[0] || i >= b[n]) && d[i] != intValue(r, i)) {
          throw new AssertionError("rank " + r + " changed element " + i + " outside the bounds");
        }
      }
    }
  }

  private static void checkAllGather(List<Ring> rings, int len, int[] b) throws Exception {
    int n = rings.size();
    List<float[]> data =
        all(
            n,
            LIMIT,
            r -> {
              float[] d = new float[len];
              for (int i = 0; i < len; i++) {
                d[i] = intValue(r, i);
              }
              rings.get(r).allGather(d, b, "parameters", 4);
              return d;
            });
    for (int r = 0; r < n; r++) {
      float[] d = data.get(r);
      for (int c = 0; c < n; c++) {
        for (int i = b[c]; i < b[c + 1]; i++) {
          if (d[i] != intValue(c, i)) {
            throw new AssertionError(
                "len "
                    + len
                    + " rank "
                    + r
                    + " chunk "
                    + c
                    + " ["
                    + i
                    + "] = "
                    + d[i]
                    + ", want rank "
                    + c
                    + "'s "
                    + intValue(c, i));
          }
        }
      }
    }
  }

  private static void checkAllReduceExact(List<Ring> rings, int len, int[] b) throws Exception {
    int n = rings.size();
    List<float[]> data =
        all(
            n,
            LIMIT,
            r -> {
              float[] d = new float[len];
              for (int i = 0; i < len; i++) {
                d[i] = intValue(r, i);
              }
              rings.get(r).allReduce(d, b, "gradients", 5);
              return d;
            });
    for (int i = b[0]; i < b[n]; i++) {
      float expected = 0;
      for (int q = 0; q < n; q++) {
        expected += intValue(q, i);
      }
      if (data.get(0)[i] != expected) {
        throw new AssertionError(
            "len " + len + " [" + i + "] = " + data.get(0)[i] + ", want " + expected);
      }
    }
    for (int r = 1; r < n; r++) {
      assertArrayEquals(
          Arrays.copyOfRange(data.get(0), b[0], b[n]),
          Arrays.copyOfRange(data.get(r), b[0], b[n]),
          "rank " + r + " differs from rank 0");
    }
  }

  private static void checkAllReduceRandom(List<Ring> rings, int len, int[] b) throws Exception {
    int n = rings.size();
    float[][] inputs = new float[n][len];
    Random rnd = new Random(len * 31L + n);
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < len; i++) {
        inputs[r][i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
      }
    }
    List<float[]> data =
        all(
            n,
            LIMIT,
            r -> {
              float[] d = inputs[r].clone();
              rings.get(r).allReduce(d, b, "gradients", 6);
              return d;
            });
    for (int i = 0; i < len; i++) {
      double expected = 0;
      double abs = 0;
      for (int q = 0; q < n; q++) {
        expected += inputs[q][i];
        abs += Math.abs(inputs[q][i]);
      }
      double err = Math.abs(data.get(0)[i] - expected);
      if (err > 1e-6 * abs) {
        throw new AssertionError(
            "[" + i + "] = " + data.get(0)[i] + ", want " + expected + " (|x| sum " + abs + ")");
      }
    }
    for (int r = 1; r < n; r++) {
      assertArrayEquals(data.get(0), data.get(r), "rank " + r + " differs from rank 0");
    }
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {1, 2, 3, 4})
  void allReduceSumIsBitIdenticalRankOrderSum(int n) throws Exception {
    List<Ring> rings = form(n, TIMEOUT);
    try {
      List<double[]> results =
          all(
              n,
              LIMIT,
              r -> {
                double[] v = {
                  0.1 * (r + 1), 1e16 * (r % 2 == 0 ? 1 : -1), r == 1 ? 1 : 0, 1.0 / 3 + r, r
                };
                return rings.get(r).allReduceSum(v, "step statistics", 9);
              });
      double[] expected = new double[5];
      for (int r = 0; r < n; r++) {
        double[] v = {0.1 * (r + 1), 1e16 * (r % 2 == 0 ? 1 : -1), r == 1 ? 1 : 0, 1.0 / 3 + r, r};
        for (int i = 0; i < 5; i++) {
          expected[i] = r == 0 ? v[i] : expected[i] + v[i];
        }
      }
      for (int r = 0; r < n; r++) {
        assertArrayEquals(expected, results.get(r), 0.0, "rank " + r);
      }
      // empty, and repeated calls stay in step
      for (int k = 0; k < 3; k++) {
        List<double[]> empty =
            all(n, LIMIT, r -> rings.get(r).allReduceSum(new double[0], "nothing", 10));
        empty.forEach(e -> assertEquals(0, e.length));
        List<double[]> flags =
            all(
                n,
                LIMIT,
                r -> rings.get(r).allReduceSum(new double[] {r == n - 1 ? 1 : 0}, "overflow", 10));
        flags.forEach(f -> assertEquals(1.0, f[0]));
      }
    } finally {
      closeAll(rings);
    }
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {2, 3, 4})
  void fp16WireSumsHalfRoundedContributionsAndHalvesTheBytes(int n) throws Exception {
    int len = 700_001;
    float[][] inputs = new float[n][len];
    Random rnd = new Random(42 + n);
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < len; i++) {
        inputs[r][i] = (float) (rnd.nextGaussian() * (i % 3 == 0 ? 0.01 : 2));
      }
    }
    int[] b = Ring.evenBounds(0, len, n);
    List<Ring> rings = form(n, TIMEOUT);
    try {
      List<float[]> fp32 =
          all(
              n,
              LIMIT,
              r -> {
                float[] d = inputs[r].clone();
                rings.get(r).allReduce(d, b, "gradients", 1);
                return d;
              });
      long[] sent32 = rings.stream().mapToLong(Ring::bytesSent).toArray();
      long[] recv32 = rings.stream().mapToLong(Ring::bytesReceived).toArray();
      rings.forEach(ring -> ring.setHalfPrecisionWire(true));
      List<float[]> fp16 =
          all(
              n,
              LIMIT,
              r -> {
                float[] d = inputs[r].clone();
                rings.get(r).allReduce(d, b, "gradients", 2);
                return d;
              });
      for (int r = 0; r < n; r++) {
        Ring ring = rings.get(r);
        assertEquals(
            sent32[r],
            2 * (ring.bytesSent() - sent32[r]),
            "rank " + r + ": fp16 payload is half of fp32's");
        assertEquals(
            recv32[r], 2 * (ring.bytesReceived() - recv32[r]), "rank " + r + ": received half");
        assertArrayEquals(
            fp16.get(0), fp16.get(r), "rank " + r + " differs from rank 0 with the fp16 wire");
      }
      double eps = Math.pow(2, -11); // half's unit roundoff
      int differ = 0;
      for (int i = 0; i < len; i++) {
        double expected = 0;
        double abs = 0;
        for (int q = 0; q < n; q++) {
          expected += HalfFloats.round(inputs[q][i]);
          abs += Math.abs(inputs[q][i]);
        }
        // a rounding of the partial sum at each of the n-1 hops and of the result, plus fp32 adds
        double tol = (n + 1) * eps * abs + 1e-7;
        float got = fp16.get(0)[i];
        if (Math.abs(got - expected) > tol) {
          throw new AssertionError("[" + i + "] = " + got + ", want " + expected + " +- " + tol);
        }
        assertEquals(got, HalfFloats.round(got), "results are fp16 values");
        if (got != fp32.get(0)[i]) {
          differ++;
        }
      }
      assertTrue(
          differ > len / 10, "the fp16 wire really rounds (" + differ + " of " + len + " differ)");
    } finally {
      closeAll(rings);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3, 4})
  void allGatherReportsEveryRangeOnceWithItsFinalValuesOwnChunkFirst(int n) throws Exception {
    int len = 600_011; // a piece is 262,144 floats: a chunk takes several pieces
    int[] shards = Ring.evenBounds(0, len, n);
    Random rnd = new Random(13 + n);
    float[][] inputs = new float[n][len];
    for (int r = 0; r < n; r++) {
      for (int i = 0; i < len; i++) {
        inputs[r][i] = (float) (rnd.nextGaussian() * 3);
      }
    }
    List<Ring> rings = form(n, TIMEOUT);
    try {
      for (boolean half : new boolean[] {false, true}) {
        rings.forEach(ring -> ring.setHalfPrecisionWire(half));
        List<float[]> plain =
            all(
                n,
                LIMIT,
                r -> {
                  DirectFloats d = DirectFloats.of(inputs[r]);
                  rings.get(r).allGather(d, shards, "parameters", 1);
                  return d.toArray();
                });
        // per rank: the reported ranges, and the values each range held when it was reported
        List<List<int[]>> reported = new ArrayList<>();
        List<List<float[]>> seen = new ArrayList<>();
        for (int r = 0; r < n; r++) {
          reported.add(new ArrayList<>());
          seen.add(new ArrayList<>());
        }
        List<float[]> tracked =
            all(
                n,
                LIMIT,
                r -> {
                  DirectFloats d = DirectFloats.of(inputs[r]);
                  rings
                      .get(r)
                      .allGather(
                          d,
                          shards,
                          "parameters",
                          2,
                          (from, to) -> {
                            reported.get(r).add(new int[] {from, to});
                            float[] v = new float[to - from];
                            d.get(from, v, 0, v.length);
                            seen.get(r).add(v);
                          });
                  return d.toArray();
                });
        String wire = half ? "fp16" : "fp32";
        for (int r = 0; r < n; r++) {
          assertArrayEquals(
              bits(plain.get(r)), bits(tracked.get(r)), wire + " rank " + r + ": same gather");
          List<int[]> ranges = reported.get(r);
          assertArrayEquals(
              new int[] {shards[r], shards[r + 1]},
              ranges.get(0),
              wire + " rank " + r + ": its own chunk is reported first");
          int[] times = new int[len];
          for (int k = 0; k < ranges.size(); k++) {
            int[] g = ranges.get(k);
            for (int i = g[0]; i < g[1]; i++) {
              times[i]++;
            }
            // a range is final when reported: it already held the gathered values
            float[] want = Arrays.copyOfRange(tracked.get(r), g[0], g[1]);
            assertArrayEquals(
                bits(want),
                bits(seen.get(r).get(k)),
                wire + " rank " + r + ": range [" + g[0] + ", " + g[1] + ") reported early");
          }
          for (int i = 0; i < len; i++) {
            assertEquals(1, times[i], wire + " rank " + r + ": element " + i + " reported");
          }
        }
      }
    } finally {
      closeAll(rings);
    }
  }

  private static int[] bits(float[] a) {
    int[] out = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = Float.floatToRawIntBits(a[i]);
    }
    return out;
  }

  @ParameterizedTest(name = "n = {0}")
  @ValueSource(ints = {2, 3, 4})
  void allReduceSendsTwoTimesNMinusOneOverNOfTheData(int n) throws Exception {
    int s = 1_000_000;
    int[] b = Ring.evenBounds(0, s, n);
    List<Ring> rings = form(n, TIMEOUT);
    try {
      all(
          n,
          LIMIT,
          r -> {
            float[] d = new float[s];
            rings.get(r).allReduce(d, b, "gradients", 1);
            return null;
          });
      double ideal = 2.0 * (n - 1) / n * s * 4;
      int framesPerStep = (int) Math.ceil((double) (s / n + 1) * 4 / Ring.PIECE_BYTES);
      for (Ring ring : rings) {
        assertEquals(
            ideal, ring.bytesSent(), ideal * 1e-5, "rank " + ring.rank() + " payload bytes sent");
        assertEquals(
            ideal,
            ring.bytesReceived(),
            ideal * 1e-5,
            "rank " + ring.rank() + " payload bytes received");
        long headers = ring.frameBytesSent() - ring.bytesSent();
        assertEquals(0, headers % Ring.HEADER);
        long frames = headers / Ring.HEADER;
        assertTrue(
            frames >= 2L * (n - 1) && frames <= 2L * (n - 1) * framesPerStep, frames + " frames");
        assertEquals(
            ideal,
            ring.frameBytesSent(),
            ideal * 1e-3,
            "rank " + ring.rank() + " bytes with headers");
      }
    } finally {
      closeAll(rings);
    }
  }

  @Test
  void oneRankNeedsNoSockets() throws Exception {
    try (RingEndpoint ep = RingEndpoint.open("127.0.0.1", 0, 0);
        Ring ring =
            ep.join(0, List.of(ep.address()), RingTestSupport.SECRET, Duration.ofSeconds(1))) {
      float[] d = {1, 2, 3};
      ring.allReduce(d, Ring.evenBounds(0, 3, 1), "gradients", 0);
      assertArrayEquals(new float[] {1, 2, 3}, d);
      assertArrayEquals(new double[] {4.5}, ring.allReduceSum(new double[] {4.5}, "loss", 0));
      assertEquals(0, ring.bytesSent());
      assertEquals(1, ring.size());
    }
  }

  @Test
  void openTakesTheFirstFreePortOfARange() throws Exception {
    try (RingEndpoint first = RingEndpoint.open("127.0.0.1", 0, 0)) {
      int taken = first.port();
      try (RingEndpoint second =
          RingEndpoint.open("127.0.0.1", taken, Math.min(65535, taken + 20))) {
        assertTrue(second.port() > taken && second.port() <= taken + 20, "port " + second.port());
        assertEquals("127.0.0.1:" + second.port(), second.address());
      }
      org.junit.jupiter.api.Assertions.assertThrows(
          java.net.BindException.class, () -> RingEndpoint.open("127.0.0.1", taken, taken));
    }
  }
}
