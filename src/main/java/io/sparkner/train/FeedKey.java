package io.sparkner.train;

import java.io.Serializable;

/**
 * The key of one record of the training feed ({@link TrainingFeed}): the rank it goes to, and where
 * that rank reads it. A rank's records are sorted by (kind, seq): the validation documents and
 * windows first, then the training windows in the order the rank trains them, {@code seq = epoch ·
 * windows + position in the epoch's order}. {@code index} is the window's place in the plan, to
 * check against the order the rank computes.
 */
record FeedKey(int rank, int kind, long seq, int index)
    implements Comparable<FeedKey>, Serializable {
  /** A gold document of the validation split. */
  static final int GOLD = 0;

  /** A window of the validation split. */
  static final int VALIDATION = 1;

  /** A training window, due at {@code seq}. */
  static final int TRAIN = 2;

  @Override
  public int compareTo(FeedKey o) {
    int c = Integer.compare(kind, o.kind);
    return c != 0 ? c : Long.compare(seq, o.seq);
  }
}
