package io.sparkner.corpus;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The checks every reader's records go through, in one place: empty text, spans out of range or
 * reversed, surface form not equal to the text at the span, unknown type, overlapping entities. A
 * record that passes becomes a {@link Document} with remapped types; one that fails becomes a
 * {@link Quarantined} record with the reason and a detail naming the entity.
 */
public final class DocumentValidator implements Serializable {
  private static final long serialVersionUID = 1L;

  private final TypeMap typeMap;

  public DocumentValidator(TypeMap typeMap) {
    this.typeMap = typeMap;
  }

  /**
   * @param file where the record came from: documents name its kind as their source, quarantined
   *     records the file
   * @param corpusTypes the corpus' own type names and the label-space type each one stands for, or
   *     null when the corpus format allows any type name as it is
   * @param iobRepairs carried into the document for the summary
   */
  public ReadResult validate(
      String id,
      String lang,
      SourceFile file,
      String split,
      String text,
      List<RawEntity> raw,
      Map<String, String> corpusTypes,
      String rawRecord,
      int iobRepairs) {
    String source = file.label();
    if (text.isBlank()) {
      return Quarantined.of(id, source, rawRecord, Reason.EMPTY_TEXT, "text is empty or blank");
    }
    CodePoints cps = new CodePoints(text);
    for (RawEntity e : raw) {
      String what = "entity " + describe(e);
      if (e.end() <= e.start()) {
        return Quarantined.of(
            id, source, rawRecord, Reason.SPAN_REVERSED, what + ": end must be after start");
      }
      if (e.start() < 0 || e.end() > cps.length()) {
        return Quarantined.of(
            id,
            source,
            rawRecord,
            Reason.SPAN_OUT_OF_RANGE,
            what + ": text has " + cps.length() + " code points");
      }
      if (e.name() != null) {
        String actual = cps.substring(e.start(), e.end());
        if (!actual.equals(e.name())) {
          return Quarantined.of(
              id,
              source,
              rawRecord,
              Reason.NAME_MISMATCH,
              what + ": text at span is '" + actual + "'");
        }
      }
      if (e.type() == null || e.type().isBlank() || !validTypeName(e.type())) {
        return Quarantined.of(
            id, source, rawRecord, Reason.UNKNOWN_TYPE, what + ": not a valid type name");
      }
      if (corpusTypes != null && !corpusTypes.containsKey(e.type())) {
        return Quarantined.of(
            id,
            source,
            rawRecord,
            Reason.UNKNOWN_TYPE,
            what + ": type '" + e.type() + "' is not one of " + corpusTypes.keySet());
      }
    }
    List<RawEntity> sorted = new ArrayList<>(raw);
    sorted.sort(Comparator.comparingInt(RawEntity::start).thenComparingInt(RawEntity::end));
    for (int i = 1; i < sorted.size(); i++) {
      RawEntity prev = sorted.get(i - 1);
      RawEntity cur = sorted.get(i);
      if (cur.start() < prev.end()) {
        return Quarantined.of(
            id,
            source,
            rawRecord,
            Reason.OVERLAPPING_ENTITIES,
            "entity " + describe(cur) + " overlaps " + describe(prev));
      }
    }
    List<Entity> entities = new ArrayList<>(sorted.size());
    int dropped = 0;
    for (RawEntity e : sorted) {
      String canonical = corpusTypes == null ? e.type() : corpusTypes.get(e.type());
      String mapped = typeMap.map(canonical);
      if (TypeMap.OUTSIDE.equals(mapped)) {
        dropped++;
        continue;
      }
      if (!typeMap.allows(mapped)) {
        return Quarantined.of(
            id,
            source,
            rawRecord,
            Reason.UNKNOWN_TYPE,
            "entity "
                + describe(e)
                + ": type '"
                + mapped
                + "' is not in --types "
                + typeMap.allowedTypes());
      }
      entities.add(new Entity(e.start(), e.end(), mapped));
    }
    return new Document(id, lang, file.kind(), split, text, entities, dropped, iobRepairs);
  }

  private static boolean validTypeName(String type) {
    for (int i = 0; i < type.length(); i++) {
      if (Character.isWhitespace(type.charAt(i)) || Character.isISOControl(type.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static String describe(RawEntity e) {
    return "[" + e.start() + "," + e.end() + ") " + e.type();
  }
}
