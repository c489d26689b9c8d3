package io.sparkner.eval.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.eval.metrics.Chunker.Chunk;
import java.io.Serializable;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Entity-level precision, recall, F1 and support with the semantics of seqeval's {@code
 * classification_report} / {@code precision_recall_fscore_support} (seqeval 1.x, {@code
 * zero_division=0}).
 *
 * <p>An entity is {@code (type, start, end)} within one item (a sentence or document); a predicted
 * entity is correct only if an entity of the same item has the same type, start and end. Within an
 * item, gold and predicted entities are sets (duplicates count once, as seqeval builds sets).
 * Offsets may be token indices or character offsets, as long as gold and prediction use the same.
 *
 * <ul>
 *   <li>The types reported are the union of gold and predicted types, sorted; a type that is only
 *       predicted has support 0, precision 0, recall 0, F1 0, and takes part in the macro average.
 *   <li>Any 0/0 is 0.0; F1 = 2PR/(P+R), 0 when P+R = 0.
 *   <li>micro: from the summed counts; macro: the unweighted mean of the per-type values (macro F1
 *       is the mean of F1s, not the F1 of the macro P and R); weighted: the mean weighted by
 *       support, all 0 when the total support is 0. With no types at all every average is 0.
 * </ul>
 *
 * <p>Only counts are kept (plus the ids of the items seen, to refuse counting an item twice), so it
 * is cheap to serialize and {@link #merge} across Spark partitions.
 */
public final class EntityScores implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Precision, recall, F1 and support (number of gold entities). */
  public record Scores(double precision, double recall, double f1, long support)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public static Scores of(long correct, long predicted, long gold) {
      double p = ratio(correct, predicted);
      double r = ratio(correct, gold);
      return new Scores(p, r, harmonic(p, r), gold);
    }
  }

  /** Per type: [correct, predicted, gold]. */
  private final TreeMap<String, long[]> counts = new TreeMap<>();

  private final HashSet<String> items = new HashSet<>();

  /** Items counted whose ids were let go ({@link #forgetItemIds}). */
  private long forgottenItems;

  /**
   * Adds the gold and predicted entities of one item. Entities of different items never match;
   * adding the same item id twice is an error (it would count its entities twice).
   */
  public EntityScores add(String itemId, Collection<Chunk> gold, Collection<Chunk> predicted) {
    if (itemId == null) {
      throw new IllegalArgumentException("item id is null");
    }
    if (!items.add(itemId)) {
      throw new IllegalArgumentException("item " + itemId + " was already added");
    }
    HashSet<Chunk> g = new HashSet<>(gold);
    HashSet<Chunk> p = new HashSet<>(predicted);
    for (Chunk c : g) {
      long[] n = countsOf(c.type());
      n[2]++;
      if (p.contains(c)) {
        n[0]++;
      }
    }
    for (Chunk c : p) {
      countsOf(c.type())[1]++;
    }
    return this;
  }

  /** Adds one tagged sequence: its gold and predicted tags chunked in {@code mode}. */
  public EntityScores add(
      String itemId, List<String> goldTags, List<String> predictedTags, Chunker.Mode mode) {
    if (goldTags.size() != predictedTags.size()) {
      throw new IllegalArgumentException(
          "item "
              + itemId
              + ": "
              + goldTags.size()
              + " gold tags, "
              + predictedTags.size()
              + " predicted");
    }
    return add(itemId, Chunker.chunks(goldTags, mode), Chunker.chunks(predictedTags, mode));
  }

  /** Adds the counts of {@code other} (from other items) to this; returns this. */
  public EntityScores merge(EntityScores other) {
    for (String id : other.items) {
      if (items.contains(id)) {
        throw new IllegalArgumentException("item " + id + " was counted in both scores");
      }
    }
    items.addAll(other.items);
    forgottenItems += other.forgottenItems;
    other.counts.forEach(
        (type, n) -> {
          long[] m = countsOf(type);
          for (int i = 0; i < 3; i++) {
            m[i] += n[i];
          }
        });
    return this;
  }

  private long[] countsOf(String type) {
    return counts.computeIfAbsent(type, t -> new long[3]);
  }

  public long items() {
    return items.size() + forgottenItems;
  }

  /**
   * Keeps the number of items but lets their ids go, so that the scores are as small as their
   * counts (scores of a partition sent to the driver). A later {@link #add} or {@link #merge} can
   * then no longer refuse an item counted twice: use it only where each item is counted once by
   * construction. Returns this.
   */
  public EntityScores forgetItemIds() {
    forgottenItems += items.size();
    items.clear();
    return this;
  }

  /** The gold and predicted types, sorted. */
  public List<String> types() {
    return List.copyOf(counts.keySet());
  }

  public long correct() {
    return sum(0);
  }

  public long predicted() {
    return sum(1);
  }

  public long gold() {
    return sum(2);
  }

  private long sum(int k) {
    long s = 0;
    for (long[] n : counts.values()) {
      s += n[k];
    }
    return s;
  }

  /** The counts of one type: correct, predicted and gold entities; all 0 for a type never seen. */
  public long[] counts(String type) {
    return counts.getOrDefault(type, new long[3]).clone();
  }

  /** Scores per type, in type order. */
  public Map<String, Scores> perType() {
    Map<String, Scores> out = new LinkedHashMap<>();
    counts.forEach((t, n) -> out.put(t, Scores.of(n[0], n[1], n[2])));
    return Collections.unmodifiableMap(out);
  }

  /** The scores of one type; all 0 for a type never seen. */
  public Scores scores(String type) {
    long[] n = counts.getOrDefault(type, new long[3]);
    return Scores.of(n[0], n[1], n[2]);
  }

  public Scores micro() {
    return Scores.of(correct(), predicted(), gold());
  }

  public Scores macro() {
    Collection<Scores> all = perType().values();
    if (all.isEmpty()) {
      return new Scores(0, 0, 0, 0);
    }
    double p = 0;
    double r = 0;
    double f = 0;
    for (Scores s : all) {
      p += s.precision();
      r += s.recall();
      f += s.f1();
    }
    int k = all.size();
    return new Scores(p / k, r / k, f / k, gold());
  }

  public Scores weighted() {
    long total = gold();
    if (total == 0) {
      return new Scores(0, 0, 0, 0);
    }
    double p = 0;
    double r = 0;
    double f = 0;
    for (Scores s : perType().values()) {
      p += s.precision() * s.support();
      r += s.recall() * s.support();
      f += s.f1() * s.support();
    }
    return new Scores(p / total, r / total, f / total, total);
  }

  /**
   * {@code {"items", "micro": {precision, recall, f1, support, predicted, correct}, "macro": {...},
   * "weighted": {...}, "per_type": {TYPE: {precision, recall, f1, support, predicted, correct}}}}
   */
  public ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("items", items());
    ObjectNode micro = put(root.putObject("micro"), micro());
    micro.put("predicted", predicted());
    micro.put("correct", correct());
    put(root.putObject("macro"), macro());
    put(root.putObject("weighted"), weighted());
    ObjectNode perType = root.putObject("per_type");
    counts.forEach(
        (t, n) -> {
          ObjectNode o = put(perType.putObject(t), Scores.of(n[0], n[1], n[2]));
          o.put("predicted", n[1]);
          o.put("correct", n[0]);
        });
    return root;
  }

  private static ObjectNode put(ObjectNode o, Scores s) {
    o.put("precision", s.precision());
    o.put("recall", s.recall());
    o.put("f1", s.f1());
    o.put("support", s.support());
    return o;
  }

  static double ratio(long num, long den) {
    return den == 0 ? 0.0 : (double) num / den;
  }

  static double harmonic(double p, double r) {
    return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
  }

  @Override
  public String toString() {
    return toJson().toString();
  }
}
