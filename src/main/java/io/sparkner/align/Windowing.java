package io.sparkner.align;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a token sequence longer than a model's input into overlapping windows, as Hugging Face does
 * with {@code return_overflowing_tokens} and {@code stride}: each window holds up to {@code
 * capacity} tokens and shares {@code stride} tokens with the one before it.
 */
public final class Windowing {
  private Windowing() {}

  /**
   * {@code [start, end)} token ranges covering {@code [0, n)}; one (possibly empty) range if n
   * fits.
   */
  public static List<int[]> ranges(int n, int capacity, int stride) {
    if (capacity <= 0) {
      throw new IllegalArgumentException("window capacity must be positive, was " + capacity);
    }
    if (stride < 0 || stride >= capacity) {
      throw new IllegalArgumentException(
          "stride must be in [0, "
              + capacity
              + ") for windows of "
              + capacity
              + " tokens, was "
              + stride);
    }
    List<int[]> out = new ArrayList<>();
    int step = capacity - stride;
    int start = 0;
    while (true) {
      int end = Math.min(n, start + capacity);
      out.add(new int[] {start, end});
      if (end >= n) {
        return out;
      }
      start += step;
    }
  }
}
