package io.sparkner.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Reader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Reads the Stockmark Wikipedia NER corpus ({@code ner.json}: an array of {@code {curid, text,
 * entities[{name, span, type}]}}). {@code curid} is the Wikipedia article, not the sentence, so the
 * document id is {@code <curid>-<k>} with k the 0-based occurrence of that curid in the file, and
 * the split hashes the curid: all sentences of one article land in one split.
 */
public final class StockmarkReader {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final DocumentValidator validator;
  private final String seed;

  public StockmarkReader(DocumentValidator validator, String seed) {
    this.validator = validator;
    this.seed = seed;
  }

  public Iterator<ReadResult> read(Reader in, SourceFile file) {
    JsonArrayScanner scanner = new JsonArrayScanner(in);
    Map<String, Integer> occurrences = new HashMap<>();
    String lang = file.lang() == null ? "ja" : file.lang();
    return new Iterator<>() {
      private String nextRaw = scanner.next();
      private int index;

      @Override
      public boolean hasNext() {
        return nextRaw != null;
      }

      @Override
      public ReadResult next() {
        if (nextRaw == null) {
          throw new NoSuchElementException();
        }
        String raw = nextRaw;
        ReadResult r = parse(scanner, raw, index++, file, lang, occurrences);
        nextRaw = scanner.next();
        return r;
      }
    };
  }

  /**
   * A record with bytes that are not UTF-8. Its id is still {@code <curid>-<k>} when the record
   * parses with the bytes replaced, so the records after it keep the ids they have once the file is
   * fixed.
   */
  private static Quarantined invalidUtf8(
      JsonArrayScanner scanner,
      String raw,
      String fallbackId,
      int index,
      SourceFile file,
      Map<String, Integer> occurrences) {
    int line = scanner.elementLine();
    String visible = Utf8.visible(raw);
    String id = fallbackId;
    try {
      JsonNode node = JSON.readTree(visible);
      JsonNode curid = node == null ? null : node.get("curid");
      if (curid != null && (curid.isTextual() || curid.isIntegralNumber())) {
        id = curid.asText() + "-" + (occurrences.merge(curid.asText(), 1, Integer::sum) - 1);
      }
    } catch (JsonProcessingException e) {
      String broken = scanner.resync(raw);
      visible = Utf8.visible(broken);
      raw = broken;
    }
    return Quarantined.of(
        id,
        file.label(),
        visible,
        Reason.INVALID_UTF8,
        Utf8.describe(raw, file.name() + " record " + index + " (line " + line + ")"));
  }

  private ReadResult parse(
      JsonArrayScanner scanner,
      String raw,
      int index,
      SourceFile file,
      String lang,
      Map<String, Integer> occurrences) {
    String fallbackId = file.name() + "#" + index;
    if (Utf8.firstInvalid(raw) >= 0) {
      return invalidUtf8(scanner, raw, fallbackId, index, file, occurrences);
    }
    JsonNode node;
    try {
      node = JSON.readTree(raw);
    } catch (JsonProcessingException e) {
      String broken = scanner.resync(raw);
      return Quarantined.of(
          fallbackId, file.label(), broken, Reason.MALFORMED_JSON, e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      return Quarantined.of(
          fallbackId, file.label(), raw, Reason.MALFORMED_JSON, "record is not a JSON object");
    }
    JsonNode curidNode = node.get("curid");
    if (curidNode == null || !(curidNode.isTextual() || curidNode.isIntegralNumber())) {
      return Quarantined.of(
          fallbackId, file.label(), raw, Reason.MISSING_FIELD, "curid (string) is missing");
    }
    String curid = curidNode.asText();
    int k = occurrences.merge(curid, 1, Integer::sum) - 1;
    String id = curid + "-" + k;
    JsonNode text = node.get("text");
    if (text == null || !text.isTextual()) {
      return Quarantined.of(
          id, file.label(), raw, Reason.MISSING_FIELD, "text (string) is missing");
    }
    JsonNode ents = node.get("entities");
    if (ents == null || !ents.isArray()) {
      return Quarantined.of(
          id, file.label(), raw, Reason.MISSING_FIELD, "entities (array) is missing");
    }
    List<RawEntity> raws = new ArrayList<>();
    for (int i = 0; i < ents.size(); i++) {
      JsonNode e = ents.get(i);
      JsonNode span = e.get("span");
      JsonNode type = e.get("type");
      JsonNode name = e.get("name");
      if (span == null
          || !span.isArray()
          || span.size() != 2
          || !span.get(0).isIntegralNumber()
          || !span.get(1).isIntegralNumber()) {
        return Quarantined.of(
            id,
            file.label(),
            raw,
            Reason.MISSING_FIELD,
            "entities[" + i + "].span must be [start, end]");
      }
      if (type == null || !type.isTextual()) {
        return Quarantined.of(
            id, file.label(), raw, Reason.MISSING_FIELD, "entities[" + i + "].type is missing");
      }
      if (name == null || !name.isTextual()) {
        return Quarantined.of(
            id, file.label(), raw, Reason.MISSING_FIELD, "entities[" + i + "].name is missing");
      }
      raws.add(
          new RawEntity(span.get(0).asInt(), span.get(1).asInt(), type.asText(), name.asText()));
    }
    return validator.validate(
        id, lang, file, Splits.of(seed, curid), text.asText(), raws, TypeMap.STOCKMARK, raw, 0);
  }
}
