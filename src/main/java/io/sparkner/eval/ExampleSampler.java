package io.sparkner.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.corpus.CodePoints;
import io.sparkner.eval.metrics.Chunker.Chunk;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Picks the report's example sentences with gold and predicted entities. The choice is
 * deterministic and independent of input order and partitioning: candidates are ranked by SHA-256
 * of {@code "<corpus>:<document id>"}, texts of at most {@value #SHORT} code points first. Half are
 * errors (gold and predicted entities differ), half correct (at least one entity, all found); a
 * short category is filled from the other, then from documents with no entity at all. Picks go
 * round-robin over (corpus, language) so every evaluation language shows up. Memory is bounded: at
 * most {@code count} candidates per corpus, language and category are kept.
 */
public final class ExampleSampler implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int DEFAULT_COUNT = 20;

  /** Texts longer than this are shown only when there is no shorter candidate. */
  static final int SHORT = 300;

  private static final ObjectMapper JSON = new ObjectMapper();

  enum Status {
    ERROR,
    CORRECT,
    EMPTY;

    String json() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private record Candidate(
      String rank, int corpus, String corpusName, Evaluator.Scored scored, Status status)
      implements Serializable {}

  private final int count;

  /** (corpus, language) → status → rank → candidate, each map cut to {@code count}. */
  private final TreeMap<String, EnumMap<Status, TreeMap<String, Candidate>>> groups =
      new TreeMap<>();

  public ExampleSampler(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("example count must be >= 0, got " + count);
    }
    this.count = count;
  }

  /**
   * Offers one scored document of corpus number {@code corpus} (its position in the evaluation).
   */
  public void offer(int corpus, String corpusName, Evaluator.Scored s) {
    if (count == 0) {
      return;
    }
    Status status = statusOf(s);
    String rank =
        (new CodePoints(s.document().text()).length() <= SHORT ? "0" : "1")
            + sha256(corpus + ":" + s.document().id());
    String group = String.format(java.util.Locale.ROOT, "%06d:%s", corpus, s.document().lang());
    keep(group, new Candidate(rank, corpus, corpusName, s, status));
  }

  private void keep(String group, Candidate c) {
    TreeMap<String, Candidate> kept =
        groups
            .computeIfAbsent(group, g -> new EnumMap<>(Status.class))
            .computeIfAbsent(c.status(), st -> new TreeMap<>());
    kept.put(c.rank(), c);
    if (kept.size() > count) {
      kept.pollLastEntry();
    }
  }

  /**
   * Adds the candidates of a sampler that was offered other documents (another partition's): the
   * result is the sampler that was offered the documents of both, whatever their order. Returns
   * this.
   */
  public ExampleSampler merge(ExampleSampler other) {
    if (other.count != count) {
      throw new IllegalArgumentException(
          "cannot merge samplers of " + count + " and " + other.count + " examples");
    }
    other.groups.forEach(
        (group, byStatus) ->
            byStatus.values().forEach(m -> m.values().forEach(c -> keep(group, c))));
    return this;
  }

  static Status statusOf(Evaluator.Scored s) {
    Set<Chunk> gold = new HashSet<>(s.gold());
    Set<Chunk> predicted = new HashSet<>(s.predicted());
    if (!gold.equals(predicted)) {
      return Status.ERROR;
    }
    return gold.isEmpty() ? Status.EMPTY : Status.CORRECT;
  }

  /** The chosen candidates, ordered by corpus, language, errors first, rank. */
  private List<Candidate> candidates() {
    int errors = count / 2;
    List<Candidate> out = new ArrayList<>(roundRobin(Status.ERROR, errors));
    out.addAll(roundRobin(Status.CORRECT, count - out.size()));
    if (out.size() < count) { // too few correct ones: more errors
      List<Candidate> more = roundRobin(Status.ERROR, count - out.size() + errors);
      out.addAll(more.subList(Math.min(errors, more.size()), more.size()));
    }
    if (out.size() < count) {
      out.addAll(roundRobin(Status.EMPTY, count - out.size()));
    }
    out.sort(
        java.util.Comparator.comparingInt(Candidate::corpus)
            .thenComparing(c -> c.scored().document().lang())
            .thenComparing(Candidate::status)
            .thenComparing(Candidate::rank));
    return out;
  }

  /** Up to {@code n} candidates of a status, taking the next best of each group in turn. */
  private List<Candidate> roundRobin(Status status, int n) {
    List<List<Candidate>> lists = new ArrayList<>();
    for (EnumMap<Status, TreeMap<String, Candidate>> g : groups.values()) {
      TreeMap<String, Candidate> c = g.get(status);
      if (c != null) {
        lists.add(new ArrayList<>(c.values()));
      }
    }
    List<Candidate> out = new ArrayList<>();
    for (int round = 0; out.size() < n; round++) {
      boolean any = false;
      for (List<Candidate> l : lists) {
        if (round < l.size() && out.size() < n) {
          out.add(l.get(round));
          any = true;
        }
      }
      if (!any) {
        break;
      }
    }
    return out;
  }

  /**
   * {@code [{"data", "id", "lang", "status", "text", "gold": [{start, end, type, text, found}],
   * "predicted": [{start, end, type, text, correct}], "dropped": [{start, end, type, text}]}]}:
   * offsets in code points, {@code text} the entity's text.
   */
  public ArrayNode toJson() {
    ArrayNode out = JSON.createArrayNode();
    for (Candidate c : candidates()) {
      Evaluator.Scored s = c.scored();
      CodePoints text = new CodePoints(s.document().text());
      ObjectNode o = out.addObject();
      o.put("data", c.corpusName());
      o.put("id", s.document().id());
      o.put("lang", s.document().lang());
      o.put("status", c.status().json());
      o.put("text", s.document().text());
      Set<Chunk> predicted = new HashSet<>(s.predicted());
      Set<Chunk> gold = new HashSet<>(s.gold());
      spans(o.putArray("gold"), s.gold(), text, "found", predicted);
      spans(o.putArray("predicted"), s.predicted(), text, "correct", gold);
      spans(o.putArray("dropped"), s.dropped(), text, null, null);
    }
    return out;
  }

  private static void spans(
      ArrayNode a, List<Chunk> chunks, CodePoints text, String matchField, Set<Chunk> other) {
    List<Chunk> sorted = new ArrayList<>(chunks);
    sorted.sort(java.util.Comparator.comparingInt(Chunk::start).thenComparingInt(Chunk::end));
    for (Chunk c : sorted) {
      if (c.end() > text.length()) {
        throw new IllegalStateException(
            "span " + c + " is outside the text (" + text.length() + " code points)");
      }
      ObjectNode o = a.addObject();
      o.put("start", c.start());
      o.put("end", c.end());
      o.put("type", c.type());
      o.put("text", text.substring(c.start(), c.end()));
      if (matchField != null) {
        o.put(matchField, other.contains(c));
      }
    }
  }

  static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
