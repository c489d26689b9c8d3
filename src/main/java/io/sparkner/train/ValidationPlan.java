package io.sparkner.train;

import java.io.Serializable;
import java.util.List;

/**
 * How the ranks share the validation split, decided on the driver from a histogram of window
 * lengths. The windows are put in the order one replica predicts them in, by (length, id, window),
 * and cut into batches of {@code batchSize}: exactly the batches one replica forms, so every window
 * is predicted with the same padding and gives the same logits. Batch k is predicted by rank {@code
 * k mod N}; each prediction lands at the window's place in a vector of all validation tokens (its
 * {@link #offset}), which the ranks sum over the ring. A document is scored by its {@link #owner},
 * which receives the document and its windows, reads their predictions from that vector, and adds
 * its counts to the sum over the ring.
 *
 * @param windowsShorterThan windows of fewer than L tokens, for L = 0..max length + 1
 * @param tokensShorterThan tokens of the windows of fewer than L tokens
 * @param languages the validation documents' languages, sorted
 */
record ValidationPlan(
    int batchSize,
    int replicas,
    long[] windowsShorterThan,
    long[] tokensShorterThan,
    List<String> languages)
    implements Serializable {

  /** From the number of validation windows of each length ({@code counts[L]}). */
  static ValidationPlan of(int batchSize, int replicas, long[] counts, List<String> languages) {
    long[] windows = new long[counts.length + 1];
    long[] tokens = new long[counts.length + 1];
    for (int l = 0; l < counts.length; l++) {
      windows[l + 1] = windows[l] + counts[l];
      tokens[l + 1] = tokens[l] + counts[l] * l;
    }
    return new ValidationPlan(batchSize, replicas, windows, tokens, List.copyOf(languages));
  }

  /** All validation windows. */
  long windows() {
    return windowsShorterThan[windowsShorterThan.length - 1];
  }

  /** All validation tokens: the length of the prediction vector. */
  long tokens() {
    return tokensShorterThan[tokensShorterThan.length - 1];
  }

  /** The rank that predicts the window at {@code index} of the (length, id, window) order. */
  int predictor(long index) {
    return (int) (index / batchSize % replicas);
  }

  /** The rank that scores document {@code id}. */
  static int owner(String id, int replicas) {
    return Math.floorMod(id.hashCode(), replicas);
  }

  /** Where the predictions of the window at {@code index}, of {@code length} tokens, start. */
  long offset(long index, int length) {
    return tokensShorterThan[length] + (index - windowsShorterThan[length]) * length;
  }
}
