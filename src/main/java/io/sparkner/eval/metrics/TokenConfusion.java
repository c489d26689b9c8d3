package io.sparkner.eval.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Token-level counts: a confusion matrix of gold entity type against predicted entity type of each
 * scored token (the type of {@code B-X}/{@code I-X} is X, of {@code O} it is {@code O}, see {@link
 * Chunker#typeOf}), and token accuracy, the share of scored tokens whose predicted label equals the
 * gold label exactly (so {@code B-PER} against {@code I-PER} is a type match but not a correct
 * label). Positions whose gold tag is {@code null} or whose gold id is {@link Labels#IGNORE} are
 * not scored. Serializable and mergeable across Spark partitions.
 */
public final class TokenConfusion implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** gold type → predicted type → tokens. */
  private final HashMap<String, HashMap<String, Long>> matrix = new HashMap<>();

  private long tokens;
  private long correct;

  /** Adds one sequence of tags; a {@code null} gold tag marks a position that is not scored. */
  public TokenConfusion add(List<String> goldTags, List<String> predictedTags) {
    if (goldTags.size() != predictedTags.size()) {
      throw new IllegalArgumentException(
          goldTags.size() + " gold tags, " + predictedTags.size() + " predicted");
    }
    for (int i = 0; i < goldTags.size(); i++) {
      String g = goldTags.get(i);
      if (g == null) {
        continue;
      }
      String p = predictedTags.get(i);
      if (p == null) {
        throw new IllegalArgumentException("no predicted tag at scored position " + i);
      }
      tally(g, p);
    }
    return this;
  }

  /** Adds one sequence of label ids; positions with gold id {@link Labels#IGNORE} are skipped. */
  public TokenConfusion add(int[] goldIds, int[] predictedIds, List<String> labelNames) {
    if (goldIds.length != predictedIds.length) {
      throw new IllegalArgumentException(
          goldIds.length + " gold labels, " + predictedIds.length + " predicted");
    }
    for (int i = 0; i < goldIds.length; i++) {
      if (goldIds[i] == Labels.IGNORE) {
        continue;
      }
      tally(name(goldIds[i], labelNames, i), name(predictedIds[i], labelNames, i));
    }
    return this;
  }

  private static String name(int id, List<String> labelNames, int position) {
    if (id < 0 || id >= labelNames.size()) {
      throw new IllegalArgumentException(
          "label id " + id + " at scored position " + position + " is not in " + labelNames);
    }
    return labelNames.get(id);
  }

  private void tally(String gold, String predicted) {
    tokens++;
    if (gold.equals(predicted)) {
      correct++;
    }
    matrix
        .computeIfAbsent(Chunker.typeOf(gold), t -> new HashMap<>())
        .merge(Chunker.typeOf(predicted), 1L, Long::sum);
  }

  /** Adds the counts of {@code other} to this; returns this. */
  public TokenConfusion merge(TokenConfusion other) {
    tokens += other.tokens;
    correct += other.correct;
    other.matrix.forEach(
        (g, row) -> {
          HashMap<String, Long> mine = matrix.computeIfAbsent(g, t -> new HashMap<>());
          row.forEach((p, n) -> mine.merge(p, n, Long::sum));
        });
    return this;
  }

  public long tokens() {
    return tokens;
  }

  public long correct() {
    return correct;
  }

  /** correct / tokens, 0 when no token was scored. */
  public double accuracy() {
    return tokens == 0 ? 0.0 : (double) correct / tokens;
  }

  /** Tokens of gold type {@code gold} predicted as type {@code predicted}. */
  public long count(String gold, String predicted) {
    Map<String, Long> row = matrix.get(gold);
    return row == null ? 0 : row.getOrDefault(predicted, 0L);
  }

  /** Every type seen as gold or predicted: entity types sorted, then {@code O}. */
  public List<String> types() {
    TreeSet<String> all = new TreeSet<>(matrix.keySet());
    matrix.values().forEach(row -> all.addAll(row.keySet()));
    boolean outside = all.remove("O");
    List<String> out = new ArrayList<>(all);
    if (outside) {
      out.add("O");
    }
    return out;
  }

  /**
   * {@code {"tokens", "correct", "accuracy", "types": [...], "matrix": [[...]]}}: {@code
   * matrix[i][j]} is the number of tokens of gold type {@code types[i]} predicted as {@code
   * types[j]}.
   */
  public ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("tokens", tokens);
    root.put("correct", correct);
    root.put("accuracy", accuracy());
    List<String> types = types();
    ArrayNode t = root.putArray("types");
    types.forEach(t::add);
    ArrayNode m = root.putArray("matrix");
    for (String g : types) {
      ArrayNode row = m.addArray();
      for (String p : types) {
        row.add(count(g, p));
      }
    }
    return root;
  }

  @Override
  public String toString() {
    return toJson().toString();
  }
}
