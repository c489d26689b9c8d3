package io.sparkner.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code training_data.json} in a fine-tuned checkpoint: what the model was trained on — the
 * prepared corpus, the languages of its train split with their document counts, the label types and
 * the tokenizer fingerprint of prepare. {@code evaluate} reads the languages for the rows of the
 * cross-lingual matrix. {@code transformers} ignores the file, as it ignores {@code
 * training_config.json}; it is written by the driver before training starts, so it is there for an
 * interrupted or resumed run as well.
 */
public record TrainingData(
    String data,
    Map<String, Long> languages,
    List<String> types,
    String scheme,
    String tokenizerFingerprint) {
  public static final String FILE = "training_data.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The record of training on the train split of {@code data}. */
  public static TrainingData of(PreparedData data) {
    JsonNode summary = data.summary();
    String fingerprint =
        summary == null ? null : summary.path("tokenizer_fingerprint").asText(null);
    return new TrainingData(
        data.dir(),
        data.languages("train"),
        data.labels().types(),
        data.labels().scheme().name(),
        fingerprint);
  }

  /** The training languages, sorted. */
  public List<String> languageList() {
    return List.copyOf(languages.keySet());
  }

  public String toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("data", Redaction.uri(data));
    o.put("split", "train");
    ObjectNode langs = o.putObject("languages");
    languages.forEach(langs::put);
    ArrayNode t = o.putArray("types");
    types.forEach(t::add);
    o.put("scheme", scheme);
    o.put("tokenizer_fingerprint", tokenizerFingerprint);
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public void write(String modelDir, Configuration conf) {
    HadoopFiles.writeString(modelDir + "/" + FILE, toJson(), conf);
  }

  /**
   * The record of a checkpoint directory; empty when it has none (a base model, or trained
   * elsewhere).
   */
  public static Optional<TrainingData> read(String modelDir, Configuration conf) {
    String file = modelDir + "/" + FILE;
    if (!HadoopFiles.exists(file, conf)) {
      return Optional.empty();
    }
    try {
      JsonNode o = JSON.readTree(HadoopFiles.readString(file, conf));
      JsonNode langs = o.path("languages");
      if (!langs.isObject()) {
        throw new IllegalArgumentException(
            file + ": \"languages\" must be an object of language -> documents");
      }
      Map<String, Long> languages = new TreeMap<>();
      langs.fields().forEachRemaining(e -> languages.put(e.getKey(), e.getValue().asLong()));
      List<String> types = new ArrayList<>();
      o.path("types").forEach(t -> types.add(t.asText()));
      return Optional.of(
          new TrainingData(
              o.path("data").asText(null),
              languages,
              types,
              o.path("scheme").asText(null),
              o.path("tokenizer_fingerprint").asText(null)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file + ": " + e.getMessage(), e);
    }
  }
}
