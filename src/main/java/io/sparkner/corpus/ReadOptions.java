package io.sparkner.corpus;

import java.io.Serializable;

/**
 * How records are read: the split seed, the label space, and whether a bad record stops the job
 * ({@code --fail-fast}) instead of going to quarantine.
 */
public record ReadOptions(String seed, TypeMap typeMap, boolean failFast) implements Serializable {

  public static ReadOptions defaults() {
    return new ReadOptions(Splits.DEFAULT_SEED, TypeMap.identity(), false);
  }
}
