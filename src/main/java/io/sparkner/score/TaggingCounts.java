package io.sparkner.score;

import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkContext;
import org.apache.spark.util.AccumulatorV2;

/**
 * What a tagging pass did, counted on the executors: rows, rows scored, empty rows (null, empty or
 * no token), unscorable rows by {@link Unscorable} reason, windows, tokens and entities. Spark
 * applies a result task's accumulator updates once, so the counts are exact when the tagged rows
 * are consumed by one action (e.g. the write of {@code sparkner score}); every further action over
 * the same un-cached DataFrame tags, and counts, again.
 */
public final class TaggingCounts extends AccumulatorV2<Map<String, Long>, Map<String, Long>> {
  private static final long serialVersionUID = 1L;

  public static final String ROWS = "rows";
  public static final String SCORED = "scored";
  public static final String EMPTY = "empty";
  public static final String WINDOWS = "windows";
  public static final String TOKENS = "tokens";
  public static final String ENTITIES = "entities";

  /** Prefix of the per-reason keys: {@code unscorable.text_longer_than_max_chars}. */
  public static final String UNSCORABLE = "unscorable.";

  /** Prefix of the per-type entity counts: {@code entities_by_type.PER}. */
  public static final String ENTITY_TYPE = "entities_by_type.";

  private final TreeMap<String, Long> counts = new TreeMap<>();

  /** A new accumulator registered with the context under {@code name} (shown in the Spark UI). */
  public static TaggingCounts register(SparkContext sc, String name) {
    TaggingCounts c = new TaggingCounts();
    sc.register(c, name);
    return c;
  }

  public long get(String key) {
    return counts.getOrDefault(key, 0L);
  }

  /** Unscorable rows by reason key. */
  public Map<String, Long> unscorable() {
    return withPrefix(UNSCORABLE);
  }

  /** Entities by type. */
  public Map<String, Long> entitiesByType() {
    return withPrefix(ENTITY_TYPE);
  }

  private Map<String, Long> withPrefix(String prefix) {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    return out;
  }

  public long unscorableTotal() {
    return unscorable().values().stream().mapToLong(Long::longValue).sum();
  }

  @Override
  public boolean isZero() {
    return counts.isEmpty();
  }

  @Override
  public TaggingCounts copy() {
    TaggingCounts c = new TaggingCounts();
    c.counts.putAll(counts);
    return c;
  }

  @Override
  public void reset() {
    counts.clear();
  }

  @Override
  public void add(Map<String, Long> v) {
    v.forEach((k, n) -> counts.merge(k, n, Long::sum));
  }

  @Override
  public void merge(AccumulatorV2<Map<String, Long>, Map<String, Long>> other) {
    add(other.value());
  }

  @Override
  public Map<String, Long> value() {
    return new TreeMap<>(counts);
  }
}
