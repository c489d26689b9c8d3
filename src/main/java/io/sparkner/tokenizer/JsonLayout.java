package io.sparkner.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes JSON so that a tokenizer.json fixture is small and diffs well: a container whose compact
 * form fits on a line is written inline (e.g. a vocab entry {@code ["▁the", -5.1]}), larger ones
 * one member per line. Jackson escapes the strings; the layout is fixed, so output is
 * deterministic.
 */
final class JsonLayout {
  private static final int INLINE_WIDTH = 100;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonLayout() {}

  static String write(JsonNode node) {
    StringBuilder out = new StringBuilder();
    write(node, 0, out);
    return out.append('\n').toString();
  }

  private static void write(JsonNode node, int indent, StringBuilder out) {
    String compact = compact(node);
    if (!node.isContainerNode() || node.isEmpty() || compact.length() <= INLINE_WIDTH) {
      out.append(compact);
      return;
    }
    String pad = "  ".repeat(indent + 1);
    out.append(node.isObject() ? '{' : '[').append('\n');
    if (node.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> f = fields.next();
        out.append(pad).append(compact(MAPPER.getNodeFactory().textNode(f.getKey()))).append(": ");
        write(f.getValue(), indent + 1, out);
        out.append(fields.hasNext() ? ",\n" : "\n");
      }
    } else {
      for (int i = 0; i < node.size(); i++) {
        out.append(pad);
        write(node.get(i), indent + 1, out);
        out.append(i + 1 < node.size() ? ",\n" : "\n");
      }
    }
    out.append("  ".repeat(indent)).append(node.isObject() ? '}' : ']');
  }

  private static String compact(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
