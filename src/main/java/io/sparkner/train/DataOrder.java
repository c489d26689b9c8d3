package io.sparkner.train;

import java.util.Arrays;
import java.util.Random;

/**
 * The order in which an epoch visits the training windows. Every rank computes the same order from
 * the same inputs, and each takes its share of each global batch, so the order depends on the
 * global batch but never on the number of replicas.
 */
public final class DataOrder {
  /**
   * Hugging Face's cap on the megabatch size, in batches (LengthGroupedSampler's mega_batch_mult).
   */
  static final int MEGABATCH_BATCHES = 50;

  private DataOrder() {}

  /**
   * A permutation of {@code 0..n-1} from (data seed, epoch): Fisher–Yates over java.util.Random.
   */
  public static int[] shuffled(int n, long dataSeed, int epoch) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    Random r = new Random(dataSeed * 1_000_003L + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * The positions in a global batch of {@code size} windows that rank {@code rank} of {@code n}
   * trains in accumulation step {@code a}, with micro batches of {@code micro}: accumulation step a
   * covers positions {@code [a·n·micro, (a+1)·n·micro)}, dealt out round-robin (rank r takes r,
   * r+n, r+2n, ...). Dealing rather than cutting keeps the ranks' shares alike when the batch is
   * sorted by length ({@link #lengthGrouped}): with cuts, rank 0 would always draw the longest
   * windows and the others would wait for it. The union over ranks is the global batch whatever n
   * is.
   */
  public static int[] share(int size, int n, int rank, int micro, int a) {
    int base = a * n * micro;
    int end = Math.min(size, base + n * micro);
    int count = Math.max(0, (end - base - rank + n - 1) / n);
    int[] out = new int[count];
    for (int k = 0; k < count; k++) {
      out[k] = base + rank + k * n;
    }
    return out;
  }

  /**
   * {@code group_by_length}, as Hugging Face's LengthGroupedSampler orders a dataset: the shuffled
   * order is cut into megabatches of {@code min(n / (4·globalBatch), 50)} global batches (at least
   * one), each megabatch is sorted longest first (ties keep the shuffled order), and the longest
   * window of all is swapped to the very front so a batch that does not fit shows up at step 1.
   * Consecutive windows then have similar lengths: a batch pads less, and the ranks' shares of one
   * global batch take about equally long, so no replica waits for another at the all-reduce.
   *
   * @param shuffled the epoch's permutation ({@link #shuffled})
   * @param lengths tokens per window, indexed like the dataset
   */
  public static int[] lengthGrouped(int[] shuffled, int[] lengths, int globalBatch) {
    if (globalBatch < 1) {
      throw new IllegalArgumentException("global batch must be at least 1, not " + globalBatch);
    }
    int n = shuffled.length;
    int mult = Math.max(1, Math.min(n / (4 * globalBatch), MEGABATCH_BATCHES));
    int mega = mult * globalBatch;
    Integer[] boxed = new Integer[n];
    for (int i = 0; i < n; i++) {
      boxed[i] = shuffled[i];
    }
    for (int from = 0; from < n; from += mega) {
      // a stable sort: equal lengths keep their shuffled order, so the result is deterministic
      Arrays.sort(
          boxed, from, Math.min(n, from + mega), (a, b) -> Integer.compare(lengths[b], lengths[a]));
    }
    int[] out = new int[n];
    int longest = 0;
    for (int i = 0; i < n; i++) {
      out[i] = boxed[i];
      if (lengths[out[i]] > lengths[out[longest]]) {
        longest = i;
      }
    }
    int t = out[0];
    out[0] = out[longest];
    out[longest] = t;
    return out;
  }
}
