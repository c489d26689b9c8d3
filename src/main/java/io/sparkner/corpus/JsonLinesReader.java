package io.sparkner.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Reads the generic JSON-lines form: one {@code {"id", "text", "entities": [{"start", "end",
 * "type"}], "lang"?, "split"?}} per line, code-point spans. Without a {@code split} field the
 * record's split hashes its id (DESIGN §2).
 */
public final class JsonLinesReader {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final DocumentValidator validator;
  private final String seed;

  public JsonLinesReader(DocumentValidator validator, String seed) {
    this.validator = validator;
    this.seed = seed;
  }

  public Iterator<ReadResult> read(Reader in, SourceFile file) {
    BufferedReader lines = in instanceof BufferedReader b ? b : new BufferedReader(in, 1 << 16);
    return new Iterator<>() {
      private int lineNo;
      private String next = advance();

      private String advance() {
        try {
          for (String l = lines.readLine(); l != null; l = lines.readLine()) {
            lineNo++;
            if (!l.isBlank()) {
              return l;
            }
          }
          return null;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ReadResult next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        ReadResult r = parse(next, lineNo, file);
        next = advance();
        return r;
      }
    };
  }

  private ReadResult parse(String raw, int lineNo, SourceFile file) {
    String fallbackId = file.name() + ":" + lineNo;
    if (Utf8.firstInvalid(raw) >= 0) {
      // the id where the line still parses with the bytes replaced, else file:line
      String visible = Utf8.visible(raw);
      String id = fallbackId;
      try {
        JsonNode n = JSON.readTree(visible);
        JsonNode idNode = n == null ? null : n.get("id");
        if (idNode != null && (idNode.isTextual() || idNode.isIntegralNumber())) {
          id = idNode.asText();
        }
      } catch (JsonProcessingException e) {
        // not JSON either: the file:line id names it
      }
      return Quarantined.of(
          id,
          file.label(),
          visible,
          Reason.INVALID_UTF8,
          Utf8.describe(raw, file.name() + " line " + lineNo));
    }
    JsonNode node;
    try {
      node = JSON.readTree(raw);
    } catch (JsonProcessingException e) {
      return Quarantined.of(
          fallbackId, file.label(), raw, Reason.MALFORMED_JSON, e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      return Quarantined.of(
          fallbackId, file.label(), raw, Reason.MALFORMED_JSON, "line is not a JSON object");
    }
    JsonNode idNode = node.get("id");
    if (idNode == null || !(idNode.isTextual() || idNode.isIntegralNumber())) {
      return Quarantined.of(fallbackId, file.label(), raw, Reason.MISSING_FIELD, "id is missing");
    }
    String id = idNode.asText();
    JsonNode text = node.get("text");
    if (text == null || !text.isTextual()) {
      return Quarantined.of(
          id, file.label(), raw, Reason.MISSING_FIELD, "text (string) is missing");
    }
    JsonNode ents = node.get("entities");
    List<RawEntity> raws = new ArrayList<>();
    if (ents != null && !ents.isNull()) {
      if (!ents.isArray()) {
        return Quarantined.of(
            id, file.label(), raw, Reason.MISSING_FIELD, "entities must be an array");
      }
      for (int i = 0; i < ents.size(); i++) {
        JsonNode e = ents.get(i);
        JsonNode start = e.get("start");
        JsonNode end = e.get("end");
        JsonNode type = e.get("type");
        if (start == null || !start.isIntegralNumber() || end == null || !end.isIntegralNumber()) {
          return Quarantined.of(
              id,
              file.label(),
              raw,
              Reason.MISSING_FIELD,
              "entities[" + i + "] needs integer start and end");
        }
        if (type == null || !type.isTextual()) {
          return Quarantined.of(
              id, file.label(), raw, Reason.MISSING_FIELD, "entities[" + i + "].type is missing");
        }
        JsonNode name = e.has("name") ? e.get("name") : e.get("text");
        raws.add(
            new RawEntity(
                start.asInt(),
                end.asInt(),
                type.asText(),
                name != null && name.isTextual() ? name.asText() : null));
      }
    }
    String lang =
        node.hasNonNull("lang")
            ? node.get("lang").asText()
            : file.lang() == null ? "und" : file.lang();
    String split = Splits.of(seed, id);
    if (node.hasNonNull("split")) {
      split = Splits.fromFileName(node.get("split").asText());
      if (split == null) {
        return Quarantined.of(
            id,
            file.label(),
            raw,
            Reason.MISSING_FIELD,
            "split '" + node.get("split").asText() + "' is not train, validation/dev or test");
      }
    }
    return validator.validate(id, lang, file, split, text.asText(), raws, null, raw, 0);
  }
}
