package io.sparkner.eval.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.corpus.TypeMap;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Reads a model's predicted labels in an evaluation corpus' label space, for a model trained on
 * other types (a Stockmark model on PAN-X). For each type the model predicts:
 *
 * <ol>
 *   <li>a type the corpus has is kept (so {@code ORG-P=ORG} does not touch a corpus that has {@code
 *       ORG-P});
 *   <li>a type the corpus lacks goes through the user's type map ({@code --type-map
 *       ORG-P=ORG,ORG-O=ORG}) and is kept under its new name when the corpus has that;
 *   <li>anything else (or a type mapped to {@code O}) becomes {@code O}: dropped, and listed, so a
 *       zero-shot score never hides which predictions it ignored.
 * </ol>
 *
 * The tag prefix is kept ({@code B-ORG-P} → {@code B-ORG}), so model and corpus must use the same
 * scheme (IOB2 or IO); a difference is an error. Gold labels are never mapped: they come from the
 * corpus. The mapped ids make every downstream figure — entities, token confusion, accuracy — live
 * in the corpus' label space.
 */
public final class LabelMapping implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<String> modelLabels;
  private final int[] toCorpus;
  private final boolean identity;
  private final TreeSet<String> kept = new TreeSet<>();
  private final TreeMap<String, String> mapped = new TreeMap<>();
  private final TreeSet<String> dropped = new TreeSet<>();
  private final TreeSet<String> notPredicted = new TreeSet<>();
  private final TreeSet<String> unusedTypeMap = new TreeSet<>();

  private LabelMapping(List<String> modelLabels, int[] toCorpus, boolean identity) {
    this.modelLabels = List.copyOf(modelLabels);
    this.toCorpus = toCorpus;
    this.identity = identity;
  }

  /** The mapping of a model whose labels are the corpus' own. */
  public static LabelMapping identity(Labels labels) {
    int[] ids = new int[labels.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = i;
    }
    LabelMapping m = new LabelMapping(labels.labels(), ids, true);
    m.kept.addAll(labels.types());
    return m;
  }

  /**
   * @param modelLabels the model's {@code id2label}, in id order
   * @param corpus the evaluation corpus' labels
   * @param typeMap predicted type → corpus type (or {@code O}); every key must be a type of the
   *     model
   * @param corpusName names the corpus in errors
   */
  public static LabelMapping of(
      List<String> modelLabels, Labels corpus, Map<String, String> typeMap, String corpusName) {
    Set<String> modelTypes = typesOf(modelLabels);
    checkTypeMap(typeMap, modelTypes);
    boolean modelIob2 = modelLabels.stream().anyMatch(l -> l.startsWith("B-"));
    boolean corpusIob2 = corpus.scheme() == LabelScheme.IOB2;
    if (!modelTypes.isEmpty() && !corpus.types().isEmpty() && modelIob2 != corpusIob2) {
      throw new IllegalArgumentException(
          "the model labels in "
              + (modelIob2 ? "IOB2" : "IO")
              + " ("
              + modelLabels
              + ") but "
              + corpusName
              + " in "
              + corpus.scheme()
              + "; prepare the evaluation corpus with --scheme "
              + (modelIob2 ? "IOB2" : "IO"));
    }
    if (modelLabels.equals(corpus.labels())) {
      LabelMapping m = identity(corpus);
      m.unusedTypeMap.addAll(typeMap.keySet());
      return m;
    }
    Map<String, Integer> corpusIds = new HashMap<>();
    for (int i = 0; i < corpus.labels().size(); i++) {
      corpusIds.put(corpus.labels().get(i), i);
    }
    Set<String> corpusTypes = new TreeSet<>(corpus.types());
    int[] ids = new int[modelLabels.size()];
    LabelMapping m = new LabelMapping(modelLabels, ids, false);
    for (int i = 0; i < ids.length; i++) {
      String tag = modelLabels.get(i);
      String type = Chunker.typeOf(tag);
      if (type.equals(TypeMap.OUTSIDE)) {
        ids[i] = corpus.outside();
        continue;
      }
      String target =
          corpusTypes.contains(type) ? type : typeMap.getOrDefault(type, TypeMap.OUTSIDE);
      if (!corpusTypes.contains(target)) {
        ids[i] = corpus.outside();
        m.dropped.add(type);
        continue;
      }
      String label = tag.charAt(0) + "-" + target;
      Integer id = corpusIds.get(label);
      if (id == null) {
        throw new IllegalArgumentException(
            "the model's label "
                + tag
                + " has no counterpart "
                + label
                + " in "
                + corpusName
                + " (labels "
                + corpus.labels()
                + ", scheme "
                + corpus.scheme()
                + "): prepare the evaluation corpus with the model's --scheme");
      }
      ids[i] = id;
      if (target.equals(type)) {
        m.kept.add(type);
      } else {
        m.mapped.put(type, target);
      }
    }
    for (String t : corpusTypes) {
      if (!m.kept.contains(t) && !m.mapped.containsValue(t)) {
        m.notPredicted.add(t);
      }
    }
    for (String from : typeMap.keySet()) {
      if (!m.mapped.containsKey(from) && !m.dropped.contains(from)) {
        m.unusedTypeMap.add(from);
      }
    }
    return m;
  }

  /**
   * Refuses a type map naming types the model cannot predict (a typo would silently do nothing).
   */
  static void checkTypeMap(Map<String, String> typeMap, Set<String> modelTypes) {
    for (Map.Entry<String, String> e : typeMap.entrySet()) {
      if (!modelTypes.contains(e.getKey())) {
        throw new IllegalArgumentException(
            "--type-map "
                + e.getKey()
                + "="
                + e.getValue()
                + ": the model predicts no type "
                + e.getKey()
                + " (its types: "
                + new TreeSet<>(modelTypes)
                + ")");
      }
    }
  }

  /** The entity types of a label list ({@code B-X}, {@code I-X} → X), in label order. */
  public static Set<String> typesOf(List<String> labels) {
    Set<String> out = new LinkedHashSet<>();
    for (String l : labels) {
      String t = Chunker.typeOf(l);
      if (!t.equals(TypeMap.OUTSIDE)) {
        out.add(t);
      }
    }
    return out;
  }

  /** The corpus label id of a model label id; {@link Labels#IGNORE} stays. */
  public int apply(int modelId) {
    if (modelId == Labels.IGNORE) {
      return Labels.IGNORE;
    }
    if (modelId < 0 || modelId >= toCorpus.length) {
      throw new IllegalArgumentException(
          "label id " + modelId + " is not one of the model's " + toCorpus.length + " labels");
    }
    return toCorpus[modelId];
  }

  /** Whether model and corpus share the label list (nothing is mapped or dropped). */
  public boolean isIdentity() {
    return identity;
  }

  public List<String> modelLabels() {
    return modelLabels;
  }

  /** Predicted types read as {@code O}. */
  public Set<String> dropped() {
    return Collections.unmodifiableSet(dropped);
  }

  /** Predicted type → corpus type, where they differ. */
  public Map<String, String> mapped() {
    return Collections.unmodifiableMap(mapped);
  }

  /** Corpus types the model cannot predict (their recall is 0 by construction). */
  public Set<String> notPredicted() {
    return Collections.unmodifiableSet(notPredicted);
  }

  /**
   * {@code {"identity", "kept": [...], "mapped": {FROM: TO}, "dropped": [...], "not_predicted":
   * [...], "type_map_unused": [...]}}.
   */
  public ObjectNode toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("identity", identity);
    array(o.putArray("kept"), kept);
    ObjectNode m = o.putObject("mapped");
    mapped.forEach(m::put);
    array(o.putArray("dropped"), dropped);
    array(o.putArray("not_predicted"), notPredicted);
    array(o.putArray("type_map_unused"), unusedTypeMap);
    return o;
  }

  private static void array(ArrayNode a, Set<String> values) {
    new ArrayList<>(values).forEach(a::add);
  }
}
