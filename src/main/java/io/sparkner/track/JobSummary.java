package io.sparkner.track;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * What a batch job did: a JSON object written next to its output, and the same figures as a table
 * for the console (every job's table in the same two columns).
 */
public abstract class JobSummary {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The summary's fields; subclasses fill it when they are built. */
  protected final ObjectNode root = JSON.createObjectNode();

  public JsonNode json() {
    return root;
  }

  /** A numeric field (0 when absent). */
  public long get(String field) {
    return root.path(field).asLong();
  }

  /** The JSON document, pretty-printed, with a final newline. */
  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The console table. */
  public abstract String toTable();

  /** One line of the table: a name and a count. */
  protected static void row(StringBuilder sb, String name, long value) {
    sb.append(String.format(Locale.ROOT, "%-38s %10d%n", name, value));
  }
}
