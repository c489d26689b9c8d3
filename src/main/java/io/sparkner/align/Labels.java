package io.sparkner.align;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The ordered label list of a prepared corpus ({@code labels.json}): {@code O} first, then per
 * entity type in alphabetical order {@code B-X, I-X} (IOB2) or {@code I-X} (IO). The index of a
 * label is its id in {@code features.labels} and in the model's {@code id2label}.
 */
public final class Labels implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The label of tokens that take no part in the loss (special tokens, padding, bare ▁). */
  public static final int IGNORE = -100;

  private final LabelScheme scheme;
  private final List<String> types;
  private final List<String> labels;
  private final Map<String, Integer> ids = new HashMap<>();

  public Labels(LabelScheme scheme, Collection<String> types) {
    this.scheme = scheme;
    this.types = List.copyOf(new TreeSet<>(types));
    List<String> l = new ArrayList<>();
    l.add("O");
    for (String t : this.types) {
      if (scheme == LabelScheme.IOB2) {
        l.add("B-" + t);
      }
      l.add("I-" + t);
    }
    this.labels = Collections.unmodifiableList(l);
    for (int i = 0; i < l.size(); i++) {
      ids.put(l.get(i), i);
    }
  }

  public LabelScheme scheme() {
    return scheme;
  }

  public List<String> types() {
    return types;
  }

  public List<String> labels() {
    return labels;
  }

  public int size() {
    return labels.size();
  }

  public int outside() {
    return 0;
  }

  /** The id of the label for a token of an entity of {@code type}. */
  public int id(String type, boolean first) {
    String name = (first && scheme == LabelScheme.IOB2 ? "B-" : "I-") + type;
    Integer id = ids.get(name);
    if (id == null) {
      throw new IllegalArgumentException("type " + type + " is not in the label list " + types);
    }
    return id;
  }

  public String name(int id) {
    return labels.get(id);
  }

  /** {@code {"scheme": "IOB2", "types": [...], "labels": ["O", "B-LOC", ...]}} */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("scheme", scheme.name());
    ArrayNode t = root.putArray("types");
    types.forEach(t::add);
    ArrayNode l = root.putArray("labels");
    labels.forEach(l::add);
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Labels fromJson(String json) {
    try {
      JsonNode root = JSON.readTree(json);
      LabelScheme scheme = LabelScheme.valueOf(root.path("scheme").asText("IOB2"));
      List<String> types = new ArrayList<>();
      root.path("types").forEach(n -> types.add(n.asText()));
      Labels labels = new Labels(scheme, types);
      List<String> stored = new ArrayList<>();
      root.path("labels").forEach(n -> stored.add(n.asText()));
      if (!stored.isEmpty() && !stored.equals(labels.labels)) {
        throw new IllegalArgumentException(
            "labels.json: labels "
                + stored
                + " do not follow from scheme and types "
                + labels.labels);
      }
      return labels;
    } catch (IOException e) {
      throw new UncheckedIOException("labels.json is not valid JSON: " + e.getMessage(), e);
    }
  }
}
