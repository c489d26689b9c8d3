package io.sparkner.collective;

import static io.sparkner.collective.RingTestSupport.all;
import static io.sparkner.collective.RingTestSupport.closeAll;
import static io.sparkner.collective.RingTestSupport.form;
import static io.sparkner.collective.RingTestSupport.work;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The all-reduce runs as one pipeline of ring steps, its sender forwarding each piece as soon as it
 * has arrived: while the sender waits for a piece, it keeps sending a long phase's heartbeats.
 */
class RingPipelineTest {

  @Test
  void aSenderWaitingInsideALongPhaseKeepsTheNextRankAlive() throws Exception {
    Duration timeout = Duration.ofSeconds(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            // rank 0 works 5 s alone, then all three all-reduce inside the long phase: ranks 1 and
            // 2 start at once. Rank 1 receives from rank 0 (its scheduled heartbeats); its sender
            // sends its first chunk and then waits for the pieces it forwards, which come from
            // rank 0: rank 2 hears from rank 1 only through the heartbeats of that wait.
            int len = 3_000_001;
            int[] b = Ring.evenBounds(0, len, 3);
            long t0 = System.nanoTime();
            List<float[]> out =
                all(
                    3,
                    Duration.ofSeconds(40),
                    r -> {
                      float[] d = new float[len];
                      for (int i = 0; i < len; i++) {
                        d[i] = r + 1 + (i % 5);
                      }
                      rings
                          .get(r)
                          .longPhase(
                              "checkpoint save",
                              12,
                              () -> {
                                if (r == 0) {
                                  work(5000);
                                }
                                rings.get(r).allReduce(d, b, "parameters", 12);
                              });
                      return d;
                    });
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 5000, ms + " ms");
            for (int r = 0; r < 3; r++) {
              float[] d = out.get(r);
              for (int i = 0; i < len; i++) {
                if (d[i] != 6 + 3 * (i % 5)) {
                  assertEquals(6 + 3 * (i % 5), d[i], "rank " + r + " element " + i);
                }
              }
            }
            assertTrue(
                rings.get(2).heartbeatsReceived() >= 2,
                "rank 2 got " + rings.get(2).heartbeatsReceived() + " heartbeats from rank 1");
          } finally {
            closeAll(rings);
          }
        });
  }
}
