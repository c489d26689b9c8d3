package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the promotion rule compares: entity-level micro F1 (seqeval default mode) overall and per
 * language, with the number of gold entities behind each, read from an {@code evaluate} report.
 */
public record Scores(double microF1, long support, Map<String, Language> byLang) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One language's micro F1 and gold entity count. */
  public record Language(double f1, long support) {}

  public Scores {
    byLang = Map.copyOf(byLang);
  }

  /** From {@code report.json} of {@code sparkner evaluate}. */
  public static Scores of(JsonNode report) {
    JsonNode micro = report.path("seqeval_default").path("micro");
    if (!micro.has("f1")) {
      throw new IllegalArgumentException(
          "an evaluate report without seqeval_default.micro.f1: "
              + report.path("model").asText("?"));
    }
    Map<String, Language> langs = new TreeMap<>();
    report
        .path("by_lang")
        .fields()
        .forEachRemaining(
            e -> {
              JsonNode m = e.getValue().path("micro");
              langs.put(
                  e.getKey(), new Language(m.path("f1").asDouble(), m.path("support").asLong()));
            });
    return new Scores(micro.path("f1").asDouble(), micro.path("support").asLong(), langs);
  }

  public ObjectNode toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("micro_f1", microF1);
    o.put("support", support);
    ObjectNode l = o.putObject("by_lang");
    new TreeMap<>(byLang)
        .forEach((k, v) -> l.putObject(k).put("f1", v.f1()).put("support", v.support()));
    return o;
  }
}
