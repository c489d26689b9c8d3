package io.sparkner.train;

import java.util.Arrays;

/**
 * The rows of one matrix parameter that a rank's batch touched: the only rows of its local gradient
 * that may be nonzero. For the word embeddings these are the input ids of the rank's micro-batches
 * (padding included), known before backward; every other row of the embedding gradient is exactly
 * zero, because the table is only ever looked up.
 *
 * @param offset where the matrix starts in the flat parameter space
 * @param rows the matrix's rows
 * @param width its row length (the hidden size)
 * @param ids the touched rows, strictly increasing, each in {@code [0, rows)}
 */
public record TouchedRows(long offset, int rows, int width, int[] ids) {
  public TouchedRows {
    if (offset < 0 || rows < 0 || width < 1) {
      throw new IllegalArgumentException(
          "touched rows of a " + rows + " x " + width + " matrix at " + offset);
    }
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= rows || (i > 0 && ids[i] <= ids[i - 1])) {
        throw new IllegalArgumentException(
            "touched row ids must be increasing and in [0, " + rows + "): " + ids[i] + " at " + i);
      }
    }
  }

  /** End (exclusive) of the matrix in the flat space. */
  public long end() {
    return offset + (long) rows * width;
  }

  /** Whether flat element {@code index} lies in row {@code id}'s range for a touched id. */
  public boolean covers(long index) {
    if (index < offset || index >= end()) {
      return false;
    }
    return Arrays.binarySearch(ids, (int) ((index - offset) / width)) >= 0;
  }

  /**
   * These rows, plus the row that holds flat element {@code index} when it lies in the matrix (for
   * a wrapper that writes into the local gradient before the exchange).
   */
  public TouchedRows including(long index) {
    if (index < offset || index >= end() || covers(index)) {
      return this;
    }
    int id = (int) ((index - offset) / width);
    int at = -Arrays.binarySearch(ids, id) - 1;
    int[] more = new int[ids.length + 1];
    System.arraycopy(ids, 0, more, 0, at);
    more[at] = id;
    System.arraycopy(ids, at, more, at + 1, ids.length - at);
    return new TouchedRows(offset, rows, width, more);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TouchedRows t
        && t.offset == offset
        && t.rows == rows
        && t.width == width
        && Arrays.equals(t.ids, ids);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(offset) * 31 + Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    return "TouchedRows[" + ids.length + " of " + rows + " x " + width + " at " + offset + "]";
  }
}
