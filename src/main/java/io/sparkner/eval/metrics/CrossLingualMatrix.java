package io.sparkner.eval.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The cross-lingual matrix of the report, as in the Hugging Face cross-lingual NER example: rows
 * are what a model was trained on, columns the evaluation languages, cells micro F1 (seqeval
 * default; strict F1 and gold support alongside). One evaluated model is one row, named by its
 * training languages joined with {@code +} ({@code ja}, {@code ja+ko}), or {@code unknown} when the
 * checkpoint does not record them. A cell whose language the model was trained on is marked {@code
 * in_language}; the others are zero-shot.
 */
public final class CrossLingualMatrix {
  public static final String UNKNOWN = "unknown";
  private static final ObjectMapper JSON = new ObjectMapper();

  private CrossLingualMatrix() {}

  /**
   * {@code {"metric", "rows": [{"name", "model", "train_languages"}], "columns": [...], "f1":
   * [[...]], "strict_f1": [[...]], "support": [[...]], "in_language": [[...]]}}.
   *
   * @param trainLanguages the model's training languages, or null when unknown
   */
  public static ObjectNode of(
      String model,
      List<String> trainLanguages,
      Map<String, EntityScores> byLang,
      Map<String, EntityScores> byLangStrict) {
    ObjectNode o = JSON.createObjectNode();
    o.put("metric", "micro F1, seqeval default mode");
    ObjectNode row = o.putArray("rows").addObject();
    row.put(
        "name",
        trainLanguages == null || trainLanguages.isEmpty()
            ? UNKNOWN
            : String.join("+", trainLanguages));
    row.put("model", model);
    if (trainLanguages == null) {
      row.putNull("train_languages");
    } else {
      trainLanguages.forEach(row.putArray("train_languages")::add);
    }
    ArrayNode cols = o.putArray("columns");
    byLang.keySet().forEach(cols::add);
    ArrayNode f1 = o.putArray("f1").addArray();
    ArrayNode strict = o.putArray("strict_f1").addArray();
    ArrayNode support = o.putArray("support").addArray();
    ArrayNode inLanguage = o.putArray("in_language").addArray();
    byLang.forEach(
        (lang, s) -> {
          f1.add(s.micro().f1());
          strict.add(byLangStrict.get(lang).micro().f1());
          support.add(s.gold());
          inLanguage.add(trainLanguages != null && trainLanguages.contains(lang));
        });
    return o;
  }
}
