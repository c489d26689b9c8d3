package io.sparkner.corpus;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The label space: how each corpus' type names become entity types, and the user's remapping for
 * cross-lingual training ({@code --type-map ORG-P=ORG,ORG-O=ORG}; mapping a type to {@code O} drops
 * its entities, and the summary counts them).
 */
public final class TypeMap implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The drop target: an entity mapped to {@code O} is not an entity. */
  public static final String OUTSIDE = "O";

  /** Stockmark's Japanese type names (DESIGN §2). */
  public static final Map<String, String> STOCKMARK;

  /** The types of PAN-X / WikiANN. */
  public static final Map<String, String> PANX = Map.of("PER", "PER", "ORG", "ORG", "LOC", "LOC");

  static {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("人名", "PER");
    m.put("法人名", "ORG");
    m.put("政治的組織名", "ORG-P");
    m.put("その他の組織名", "ORG-O");
    m.put("地名", "LOC");
    m.put("施設名", "INS");
    m.put("製品名", "PRD");
    m.put("イベント名", "EVT");
    STOCKMARK = Collections.unmodifiableMap(m);
  }

  private final Map<String, String> remap;
  private final Set<String> allowed;

  private TypeMap(Map<String, String> remap, Set<String> allowed) {
    this.remap = remap;
    this.allowed = allowed;
  }

  public static TypeMap identity() {
    return new TypeMap(Map.of(), null);
  }

  /**
   * @param spec {@code FROM=TO,FROM=TO}, or null/empty for none
   * @param allowedTypes when not empty, the only types (after remapping) a document may have; any
   *     other sends the record to quarantine as {@code unknown_type}
   */
  public static TypeMap parse(String spec, List<String> allowedTypes) {
    Map<String, String> m = new LinkedHashMap<>();
    if (spec != null && !spec.isBlank()) {
      for (String pair : spec.split(",")) {
        String[] kv = pair.split("=", -1);
        if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
          throw new IllegalArgumentException(
              "--type-map: '" + pair.trim() + "' is not FROM=TO (e.g. ORG-P=ORG,INS=O)");
        }
        m.put(kv[0].trim(), kv[1].trim());
      }
    }
    Set<String> allowed =
        allowedTypes == null || allowedTypes.isEmpty() ? null : new LinkedHashSet<>(allowedTypes);
    return new TypeMap(Collections.unmodifiableMap(m), allowed);
  }

  /** The type after remapping; {@link #OUTSIDE} when the entity is to be dropped. */
  public String map(String type) {
    return remap.getOrDefault(type, type);
  }

  /** Whether a remapped type belongs to the label space. */
  public boolean allows(String mappedType) {
    return allowed == null || allowed.contains(mappedType);
  }

  /** The label-space types that the given source types lead to (for a stable label list). */
  public Set<String> mapAll(Iterable<String> sourceTypes) {
    Set<String> out = new TreeSet<>();
    for (String t : sourceTypes) {
      String m = map(t);
      if (!OUTSIDE.equals(m) && allows(m)) {
        out.add(m);
      }
    }
    return out;
  }

  /** The user's explicit type list, or null when any type is accepted. */
  public Set<String> allowedTypes() {
    return allowed;
  }

  public Map<String, String> remapping() {
    return remap;
  }
}
