package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DataOrderTest {
  /** Window lengths shaped like a sentence corpus: mostly short, a long tail up to 256. */
  private static int[] lengths(int n, long seed) {
    Random r = new Random(seed);
    int[] l = new int[n];
    for (int i = 0; i < n; i++) {
      l[i] = Math.min(256, 5 + (int) Math.round(-40 * Math.log(1 - r.nextDouble())));
    }
    return l;
  }

  private static void assertPermutation(int[] p, int n) {
    int[] sorted = p.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < n; i++) {
      assertEquals(i, sorted[i]);
    }
  }

  /** Padded positions of the order cut into batches: Σ (batch size × longest − Σ lengths). */
  private static long padding(int[] order, int[] lengths, int batch) {
    long pad = 0;
    for (int from = 0; from < order.length; from += batch) {
      int to = Math.min(order.length, from + batch);
      int max = 0;
      long sum = 0;
      for (int i = from; i < to; i++) {
        max = Math.max(max, lengths[order[i]]);
        sum += lengths[order[i]];
      }
      pad += (long) (to - from) * max - sum;
    }
    return pad;
  }

  /** Σ over global batches of |longest window of the first half − longest of the second half|. */
  private static long imbalance(int[] order, int[] lengths, int global) {
    long sum = 0;
    for (int from = 0; from + global <= order.length; from += global) {
      int a = 0;
      int b = 0;
      for (int i = 0; i < global / 2; i++) {
        a = Math.max(a, lengths[order[from + i]]);
        b = Math.max(b, lengths[order[from + global / 2 + i]]);
      }
      sum += Math.abs(a - b);
    }
    return sum;
  }

  @Test
  void shuffledIsAPermutationFixedBySeedAndEpoch() {
    int[] a = DataOrder.shuffled(1000, 42, 0);
    assertPermutation(a, 1000);
    assertArrayEquals(a, DataOrder.shuffled(1000, 42, 0));
    assertNotEquals(Arrays.toString(a), Arrays.toString(DataOrder.shuffled(1000, 42, 1)));
    assertNotEquals(Arrays.toString(a), Arrays.toString(DataOrder.shuffled(1000, 7, 0)));
  }

  @Test
  void lengthGroupedSortsEachMegabatchLongestFirstWithTheLongestWindowAtStepOne() {
    int n = 10_000;
    int global = 16;
    int[] lengths = lengths(n, 1);
    int[] shuffled = DataOrder.shuffled(n, 42, 0);
    int[] grouped = DataOrder.lengthGrouped(shuffled, lengths, global);
    assertPermutation(grouped, n);
    int max = Arrays.stream(lengths).max().orElseThrow();
    assertEquals(max, lengths[grouped[0]]);
    int mega = 50 * global; // min(10000 / 64, 50) = 50 global batches
    for (int from = 0; from < n; from += mega) {
      int to = Math.min(n, from + mega);
      // the same windows as the shuffled megabatch, in non-increasing length (bar the swapped
      // front)
      int[] a = Arrays.copyOfRange(shuffled, from, to);
      int[] b = Arrays.copyOfRange(grouped, from, to);
      if (from == 0) {
        continue; // the first megabatch gave its first window for the longest one
      }
      Arrays.sort(a);
      int[] bs = b.clone();
      Arrays.sort(bs);
      assertArrayEquals(a, bs, "megabatch at " + from);
      for (int i = from + 1; i < to; i++) {
        assertTrue(lengths[grouped[i - 1]] >= lengths[grouped[i]], "not sorted at " + i);
      }
    }
    // the point of it: batches of similar lengths pad far less than shuffled ones
    long shuffledPad = padding(shuffled, lengths, global);
    long groupedPad = padding(grouped, lengths, global);
    assertTrue(groupedPad * 5 < shuffledPad, "padding " + groupedPad + " vs " + shuffledPad);
    // and the two halves of a global batch (the ranks' shares with 2 replicas) are about as long
    long shuffledImbalance = imbalance(shuffled, lengths, global);
    long groupedImbalance = imbalance(grouped, lengths, global);
    assertTrue(
        groupedImbalance * 5 < shuffledImbalance,
        "imbalance " + groupedImbalance + " vs " + shuffledImbalance);
  }

  @Test
  void sharesDealEachGlobalBatchRoundRobinAndCoverItExactlyOnce() {
    assertArrayEquals(new int[] {0, 2, 4, 6}, DataOrder.share(8, 2, 0, 4, 0));
    assertArrayEquals(new int[] {1, 3, 5, 7}, DataOrder.share(8, 2, 1, 4, 0));
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, DataOrder.share(8, 1, 0, 8, 0));
    // accumulation step 1 of a global batch of 2 ranks × micro 2 × 2 steps
    assertArrayEquals(new int[] {5, 7}, DataOrder.share(8, 2, 1, 2, 1));
    for (int n = 1; n <= 3; n++) {
      for (int micro = 1; micro <= 4; micro++) {
        for (int accumulation = 1; accumulation <= 3; accumulation++) {
          int full = n * micro * accumulation;
          for (int size = 1; size <= full; size++) { // a short last batch too
            int[] seen = new int[size];
            for (int rank = 0; rank < n; rank++) {
              for (int a = 0; a < accumulation; a++) {
                int[] mine = DataOrder.share(size, n, rank, micro, a);
                assertTrue(mine.length <= micro);
                for (int i : mine) {
                  seen[i]++;
                }
              }
            }
            for (int i = 0; i < size; i++) {
              assertEquals(
                  1,
                  seen[i],
                  "n="
                      + n
                      + " micro="
                      + micro
                      + " accumulation="
                      + accumulation
                      + " size="
                      + size
                      + " position "
                      + i);
            }
          }
        }
      }
    }
  }

  @Test
  void tiesKeepTheShuffledOrderAndSmallDataIsOneMegabatch() {
    int[] lengths = {3, 3, 3, 3, 3, 9, 3};
    int[] shuffled = {6, 5, 4, 3, 2, 1, 0};
    // 7 windows, global batch 4: min(7 / 16, 50) = 0 -> one global batch per megabatch
    assertArrayEquals(
        new int[] {5, 6, 4, 3, 2, 1, 0}, DataOrder.lengthGrouped(shuffled, lengths, 4));
    assertThrows(
        IllegalArgumentException.class, () -> DataOrder.lengthGrouped(shuffled, lengths, 0));
  }
}
