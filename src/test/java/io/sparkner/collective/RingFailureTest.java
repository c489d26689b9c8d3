package io.sparkner.collective;

import static io.sparkner.collective.RingTestSupport.all;
import static io.sparkner.collective.RingTestSupport.closeAll;
import static io.sparkner.collective.RingTestSupport.form;
import static io.sparkner.collective.RingTestSupport.outcomes;
import static io.sparkner.collective.RingTestSupport.work;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Peers that stall, die or fall out of step: an error naming who and where, within the timeout. */
class RingFailureTest {

  @Test
  void aPeerThatStopsSendingMidCollectiveFailsWithinTheTimeout() throws Exception {
    Duration timeout = Duration.ofSeconds(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            // rank 2 sends two pieces of its first chunk, then stops for 6 s (its process hangs,
            // its sockets stay open): long after the others gave up
            rings.get(2).simulate(new SendStall(2, Duration.ofSeconds(6)));
            int len = 4_000_000; // chunks of 1.33 M floats: 6 pieces each
            int[] b = Ring.evenBounds(0, len, 3);
            // rank 2 is the hung process: it runs on its own and is not waited for
            CompletableFuture<Void> hung =
                CompletableFuture.runAsync(
                    () -> rings.get(2).allReduce(new float[len], b, "gradients", 41));
            long t0 = System.nanoTime();
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(20),
                    r -> {
                      rings.get(r).allReduce(new float[len], b, "gradients", 41);
                      return null;
                    });
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < timeout.toMillis() + 3000, "failed after " + ms + " ms");
            for (int r = 0; r < 2; r++) {
              assertInstanceOf(CollectiveException.class, results.get(r).error(), "rank " + r);
            }
            ExecutionException hungError =
                assertThrows(ExecutionException.class, () -> hung.get(10, TimeUnit.SECONDS));
            assertInstanceOf(
                CollectiveException.class, hungError.getCause(), "rank 2, once it resumes");
            // rank 0 receives from rank 2: it got two pieces and then nothing
            CollectiveException e = (CollectiveException) results.get(0).error();
            String m = e.getMessage();
            assertTrue(
                m.startsWith(
                    "rank 0 of 3 ("
                        + rings.get(0).addresses().get(0)
                        + "): reduce-scatter of gradients, training step 41: timed out after 2000"
                        + " ms receiving from rank 2 ("
                        + rings.get(0).addresses().get(2)
                        + ") at ring step 0 of 2 (chunk 1, elements"),
                m);
            assertTrue(m.matches(".*elements \\d+\\.\\.\\d+; 0 of \\d+ bytes received\\)$"), m);
            assertEquals(0, e.rank());
            assertEquals(2, e.peerRank());
            assertEquals(0, e.ringStep());
            assertEquals(41, e.trainingStep());
            assertEquals("reduce-scatter of gradients", e.operation());
            assertTrue(
                results.get(0).millis() >= timeout.toMillis() - 100,
                "rank 0 waited " + results.get(0).millis());
            // the ring is closed after a failure; later calls say so at once
            CollectiveException later =
                assertThrows(
                    CollectiveException.class,
                    () -> rings.get(0).allReduceSum(new double[] {1}, "loss", 42));
            assertTrue(later.getMessage().contains("failed earlier"), later.getMessage());
          } finally {
            closeAll(rings);
          }
        });
  }

  @Test
  void aPeerThatNeverArrivesFailsTheOthersWithinTheTimeout() throws Exception {
    Duration timeout = Duration.ofMillis(1500);
    assertTimeoutPreemptively(
        Duration.ofSeconds(20),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            long t0 = System.nanoTime();
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(15),
                    r -> rings.get(r).allReduceSum(new double[] {1, 2}, "loss", 7));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < timeout.toMillis() + 2500, ms + " ms");
            CollectiveException e0 =
                assertInstanceOf(CollectiveException.class, results.get(0).error());
            assertTrue(
                e0.getMessage()
                    .contains(
                        "all-reduce-sum of loss, training step 7: timed out after 1500 ms receiving"
                            + " from rank 2"),
                e0.getMessage());
            CollectiveException e1 =
                assertInstanceOf(CollectiveException.class, results.get(1).error());
            assertEquals(1, e1.rank());
            assertEquals(0, e1.peerRank(), e1.getMessage()); // rank 0 gave up and closed its side
          } finally {
            closeAll(rings);
          }
        });
  }

  @Test
  void aPeerThatDiesFailsTheOthersAtOnce() throws Exception {
    Duration timeout = Duration.ofSeconds(20);
    assertTimeoutPreemptively(
        Duration.ofSeconds(20),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            rings.get(2).close(); // its process died: the kernel closes its sockets
            long t0 = System.nanoTime();
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(15),
                    r -> {
                      rings
                          .get(r)
                          .reduceScatter(
                              new float[1_000_000],
                              Ring.evenBounds(0, 1_000_000, 3),
                              "gradients",
                              3);
                      return null;
                    });
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5000, "took " + ms + " ms with a 20 s timeout");
            CollectiveException e0 =
                assertInstanceOf(CollectiveException.class, results.get(0).error());
            assertTrue(
                e0.getMessage()
                    .contains("connection closed by the peer while receiving from rank 2 ("),
                e0.getMessage());
            assertTrue(e0.getMessage().contains("rank 2 ("), e0.getMessage());
            assertInstanceOf(CollectiveException.class, results.get(1).error());
          } finally {
            closeAll(rings);
          }
        });
  }

  @Test
  void desynchronisedRanksFailInsteadOfCorruptingData() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(20),
        () -> {
          // different bounds
          List<Ring> rings = form(2, Duration.ofSeconds(3));
          try {
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(15),
                    r -> {
                      rings
                          .get(r)
                          .allReduce(
                              new float[100],
                              Ring.evenBounds(0, r == 0 ? 100 : 90, 2),
                              "gradients",
                              5);
                      return null;
                    });
            assertDesync(results);
          } finally {
            closeAll(rings);
          }
          // different collectives
          List<Ring> rings2 = form(2, Duration.ofSeconds(3));
          try {
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(15),
                    r -> {
                      if (r == 0) {
                        rings2
                            .get(r)
                            .allGather(new float[10], Ring.evenBounds(0, 10, 2), "parameters", 5);
                      } else {
                        rings2
                            .get(r)
                            .reduceScatter(
                                new float[10], Ring.evenBounds(0, 10, 2), "gradients", 5);
                      }
                      return null;
                    });
            assertDesync(results);
          } finally {
            closeAll(rings2);
          }
          // different training steps, and one rank on the fp16 wire
          List<Ring> rings3 = form(2, Duration.ofSeconds(3));
          try {
            rings3.get(1).setHalfPrecisionWire(true);
            var results =
                outcomes(
                    2,
                    Duration.ofSeconds(15),
                    r -> {
                      rings3
                          .get(r)
                          .allReduce(new float[10], Ring.evenBounds(0, 10, 2), "gradients", 5 + r);
                      return null;
                    });
            assertDesync(results);
          } finally {
            closeAll(rings3);
          }
        });
  }

  @Test
  void aLongPhaseOfOneRankDoesNotCountAgainstTheOthersTimeout() throws Exception {
    Duration timeout = Duration.ofSeconds(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            // "validation": rank 0 works 5 s alone; rank 1 receives from rank 0, rank 2 only
            // through rank 1
            long t0 = System.nanoTime();
            all(
                    3,
                    Duration.ofSeconds(30),
                    r -> {
                      rings
                          .get(r)
                          .longPhase(
                              "validation",
                              20,
                              () -> {
                                if (r == 0) {
                                  work(5000);
                                }
                              });
                      return rings.get(r).allReduceSum(new double[] {r}, "after validation", 20);
                    })
                .forEach(v -> assertArrayEquals(new double[] {3}, v, 0.0));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 5000, ms + " ms");
            for (int r = 1; r < 3; r++) {
              assertTrue(
                  rings.get(r).heartbeatsReceived() >= 4,
                  "rank " + r + " got " + rings.get(r).heartbeatsReceived() + " heartbeats");
            }
            // "checkpoint save": every rank writes its shard (rank 2 for 3 s), a collective, then
            // rank 0 writes the model for 3 s
            all(
                3,
                Duration.ofSeconds(30),
                r -> {
                  rings
                      .get(r)
                      .longPhase(
                          "checkpoint save",
                          25,
                          () -> {
                            if (r == 2) {
                              work(3000);
                            }
                            rings.get(r).allReduceSum(new double[] {1}, "shards written", 25);
                            if (r == 0) {
                              work(3000);
                            }
                          });
                  return null;
                });
            // the ring is in step afterwards: a stray heartbeat is skipped by the next collective
            float[][] data = new float[3][];
            all(
                3,
                Duration.ofSeconds(10),
                r -> {
                  float[] d = {r, 1};
                  rings.get(r).allReduce(d, Ring.evenBounds(0, 2, 3), "gradients", 26);
                  data[r] = d;
                  return null;
                });
            for (float[] d : data) {
              assertArrayEquals(new float[] {3, 3}, d);
            }
          } finally {
            closeAll(rings);
          }
        });
  }

  @Test
  void withoutALongPhaseTheSameWaitTimesOut() throws Exception {
    Duration timeout = Duration.ofSeconds(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            var results =
                outcomes(
                    3,
                    Duration.ofSeconds(20),
                    r -> {
                      if (r == 0) {
                        work(5000);
                      }
                      return rings.get(r).allReduceSum(new double[] {r}, "after validation", 20);
                    });
            CollectiveException e1 =
                assertInstanceOf(CollectiveException.class, results.get(1).error());
            assertTrue(
                e1.getMessage().contains("timed out after 2000 ms receiving from rank 0"),
                e1.getMessage());
            assertTrue(results.get(1).millis() < 4500, results.get(1).millis() + " ms");
            assertInstanceOf(CollectiveException.class, results.get(2).error());
            assertInstanceOf(CollectiveException.class, results.get(0).error());
          } finally {
            closeAll(rings);
          }
        });
  }

  @Test
  void aLongPhaseWhoseWorkFailsStopsItsHeartbeats() throws Exception {
    Duration timeout = Duration.ofSeconds(2);
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          List<Ring> rings = form(3, timeout);
          try {
            var results =
                outcomes(
                    3,
                    Duration.ofSeconds(20),
                    r -> {
                      rings
                          .get(r)
                          .longPhase(
                              "validation",
                              30,
                              () -> {
                                if (r == 0) {
                                  work(1000);
                                  throw new IllegalStateException("validation failed");
                                }
                              });
                      return null;
                    });
            assertEquals("validation failed", results.get(0).error().getMessage());
            for (int r = 1; r < 3; r++) {
              assertInstanceOf(CollectiveException.class, results.get(r).error(), "rank " + r);
              assertTrue(
                  results.get(r).millis() < 1000 + timeout.toMillis() + 2500,
                  "rank " + r + " failed after " + results.get(r).millis() + " ms");
            }
            CollectiveException e1 = (CollectiveException) results.get(1).error();
            assertTrue(
                e1.getMessage()
                    .contains(
                        "all-reduce-sum of end of validation, training step 30: timed out after"
                            + " 2000 ms receiving from rank 0"),
                e1.getMessage());
          } finally {
            closeAll(rings);
          }
        });
  }

  private static void assertDesync(List<RingTestSupport.Outcome<Object>> results) {
    boolean named = false;
    for (var o : results) {
      assertInstanceOf(CollectiveException.class, o.error());
      named |= o.error().getMessage().contains("desynchronised frame");
    }
    assertTrue(
        named, results.get(0).error().getMessage() + "\n" + results.get(1).error().getMessage());
  }

  @Test
  void collectivesCheckTheirBounds() throws Exception {
    List<Ring> rings = form(2, Duration.ofSeconds(5));
    try {
      Ring ring = rings.get(0);
      assertThrows(
          IllegalArgumentException.class,
          () -> ring.allReduce(new float[4], new int[] {0, 4}, "g", 0));
      assertThrows(
          IllegalArgumentException.class,
          () -> ring.allReduce(new float[4], new int[] {0, 3, 2}, "g", 0));
      assertThrows(
          IllegalArgumentException.class,
          () -> ring.allReduce(new float[4], new int[] {0, 2, 5}, "g", 0));
      // the ring is still usable: argument errors send nothing
      all(2, Duration.ofSeconds(10), r -> rings.get(r).allReduceSum(new double[] {r}, "x", 0));
    } finally {
      closeAll(rings);
    }
  }
}
