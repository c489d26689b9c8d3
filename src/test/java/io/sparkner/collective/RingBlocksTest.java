package io.sparkner.collective;

import static io.sparkner.collective.RingTestSupport.all;
import static io.sparkner.collective.RingTestSupport.closeAll;
import static io.sparkner.collective.RingTestSupport.form;
import static io.sparkner.collective.RingTestSupport.outcomes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Ring#allGatherBlocks}: variable-length blocks reach every rank bit for bit (ints, NaN
 * payloads, on the fp16 wire too, across several frames, empty blocks), with the bytes a ring
 * all-gather sends; a rank that expects another length, or never arrives, fails the collective.
 */
class RingBlocksTest {
  /** Rank r's block: a length per rank (0 for rank 1), ints and floats with odd bit patterns. */
  static int lengthOf(int r) {
    return r == 1 ? 0 : r == 0 ? 300_001 : 17 + r;
  }

  static int word(int r, int i) {
    return i % 3 == 0
        ? r * 1_000_003 + i
        : i % 3 == 1 ? 0x7FA00001 + i : Float.floatToRawIntBits(i * 0.1f);
  }

  @Test
  void everyRanksBlockReachesEveryRankBitForBit() throws Exception {
    for (int n : new int[] {2, 3, 4}) {
      List<Ring> rings = form(n, Duration.ofSeconds(10));
      try {
        rings.forEach(r -> r.setHalfPrecisionWire(true)); // blocks are raw words all the same
        List<long[]> got =
            all(
                n,
                Duration.ofSeconds(30),
                r -> {
                  DirectFloats[] blocks = new DirectFloats[n];
                  for (int k = 0; k < n; k++) {
                    blocks[k] = DirectFloats.allocate(lengthOf(k));
                  }
                  for (int i = 0; i < lengthOf(r); i++) {
                    blocks[r].putInt(i, word(r, i));
                  }
                  Ring ring = rings.get(r);
                  long b0 = ring.bytesSent();
                  ring.allGatherBlocks(blocks, "rows", 7);
                  long mismatches = 0;
                  for (int k = 0; k < n; k++) {
                    for (int i = 0; i < lengthOf(k); i++) {
                      mismatches += blocks[k].getInt(i) == word(k, i) ? 0 : 1;
                    }
                  }
                  return new long[] {mismatches, ring.bytesSent() - b0};
                });
        for (int r = 0; r < n; r++) {
          assertEquals(0, got.get(r)[0], "N=" + n + ": words rank " + r + " got wrong");
          // every block but the next rank's, 4 bytes a word
          long expected = 0;
          for (int k = 0; k < n; k++) {
            expected += k == (r + 1) % n ? 0 : 4L * lengthOf(k);
          }
          assertEquals(expected, got.get(r)[1], "N=" + n + ": bytes rank " + r + " sent");
        }
      } finally {
        closeAll(rings);
      }
    }
  }

  @Test
  void aRankThatExpectsAnotherLengthFailsAsDesynchronised() throws Exception {
    List<Ring> rings = form(2, Duration.ofSeconds(3));
    try {
      var results =
          outcomes(
              2,
              Duration.ofSeconds(15),
              r -> {
                // rank 0 thinks rank 1 has 5 words, rank 1 sends 6
                DirectFloats[] blocks = {
                  DirectFloats.allocate(4), DirectFloats.allocate(r == 0 ? 5 : 6)
                };
                rings.get(r).allGatherBlocks(blocks, "word-embedding gradient rows", 3);
                return null;
              });
      CollectiveException e = assertInstanceOf(CollectiveException.class, results.get(0).error());
      assertTrue(
          e.getMessage()
              .contains("all-gather of blocks of word-embedding gradient rows, training step 3:"),
          e.getMessage());
      assertTrue(e.getMessage().contains("desynchronised frame"), e.getMessage());
    } finally {
      closeAll(rings);
    }
  }

  @Test
  void aRankThatNeverArrivesFailsTheOthersWithinTheTimeout() throws Exception {
    List<Ring> rings = form(3, Duration.ofSeconds(2));
    try {
      var results =
          outcomes(
              3,
              Duration.ofSeconds(20),
              r -> {
                if (r != 2) {
                  DirectFloats[] blocks = {
                    DirectFloats.allocate(3), DirectFloats.allocate(3), DirectFloats.allocate(3)
                  };
                  rings.get(r).allGatherBlocks(blocks, "rows", 9);
                }
                return null;
              });
      CollectiveException e = assertInstanceOf(CollectiveException.class, results.get(0).error());
      assertTrue(
          e.getMessage().contains("timed out after 2000 ms receiving from rank 2"), e.getMessage());
      assertTrue(results.get(0).millis() < 10_000, results.get(0).millis() + " ms");
    } finally {
      closeAll(rings);
    }
  }
}
