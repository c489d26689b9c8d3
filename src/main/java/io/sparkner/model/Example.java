package io.sparkner.model;

import java.io.Serializable;

/**
 * One model input window of the {@code features} table: token ids, labels (-100 = no loss) and each
 * token's code-point span in the document ({@code -1} for special tokens).
 */
public record Example(String id, int window, int[] inputIds, int[] labels, int[] starts, int[] ends)
    implements Serializable {

  /** Tokens that take part in the loss. */
  public int labelled() {
    int n = 0;
    for (int l : labels) {
      if (l >= 0) {
        n++;
      }
    }
    return n;
  }
}
