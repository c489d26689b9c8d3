package io.sparkner.track;

import io.sparkner.storage.Redaction;
import java.util.List;
import java.util.Map;

/**
 * Keeps credentials out of what tracking prints: {@link Redaction}'s rules (user info in URIs,
 * sensitive assignments) plus the MLflow secrets of the environment wherever they appear.
 */
final class Secrets {
  private static final List<String> SECRET_VARIABLES =
      List.of("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "DATABRICKS_TOKEN");

  private Secrets() {}

  /** A URI as it may be shown: {@code https://user:pw@host/x} becomes {@code https://host/x}. */
  static String redactUri(String uri) {
    return Redaction.uri(uri);
  }

  /** A message with every secret of the environment masked, and {@link Redaction#text} applied. */
  static String redact(String message, Map<String, String> env) {
    if (message == null) {
      return null;
    }
    String out = message;
    for (String v : SECRET_VARIABLES) {
      String s = env.get(v);
      if (s != null && s.length() >= 4) {
        out = out.replace(s, Redaction.MASK);
      }
    }
    return Redaction.text(out);
  }
}
