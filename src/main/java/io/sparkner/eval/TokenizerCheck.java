package io.sparkner.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Checkpoints;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import io.sparkner.tokenizer.TokenizerFingerprint;
import org.apache.hadoop.conf.Configuration;

/**
 * Whether an evaluation corpus was prepared with the model's own tokenizer: the token ids of its
 * windows index the model's embeddings, so another vocabulary gives noise, not a score. Compares
 * the {@link TokenizerFingerprint} of the model's {@code tokenizer.json} with the one {@code
 * prepare} recorded in {@code summary.json} (for a corpus prepared before the fingerprint was
 * recorded: of the file {@code summary.json} names, if it is still there). A mismatch is an error;
 * when a side cannot be read the result is {@code unverified}, with the reason.
 */
final class TokenizerCheck {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenizerCheck() {}

  /** The fingerprint of a checkpoint's tokenizer.json, or null when it has none. */
  static String modelFingerprint(String modelDir, Configuration conf) {
    String file = modelDir + "/" + Checkpoints.TOKENIZER;
    return HadoopFiles.exists(file, conf)
        ? TokenizerFingerprint.of(HadoopFiles.readString(file, conf), file)
        : null;
  }

  /**
   * {@code {"status": "match"|"unverified", "model_fingerprint", "data_fingerprint", "detail"}};
   * throws when the fingerprints differ.
   */
  static ObjectNode check(
      String modelDir, String modelFingerprint, PreparedData data, Configuration conf) {
    ObjectNode o = JSON.createObjectNode();
    JsonNode summary = data.summary();
    String tokenizerPath = summary == null ? null : summary.path("tokenizer").asText(null);
    String dataFingerprint =
        summary == null ? null : summary.path("tokenizer_fingerprint").asText(null);
    if (dataFingerprint == null
        && tokenizerPath != null
        && HadoopFiles.exists(tokenizerPath, conf)) {
      dataFingerprint =
          TokenizerFingerprint.of(HadoopFiles.readString(tokenizerPath, conf), tokenizerPath);
    }
    o.put("tokenizer", Redaction.uri(tokenizerPath));
    o.put("model_fingerprint", modelFingerprint);
    o.put("data_fingerprint", dataFingerprint);
    if (modelFingerprint == null) {
      o.put("status", "unverified");
      o.put(
          "detail",
          Redaction.text(
              modelDir
                  + " has no "
                  + Checkpoints.TOKENIZER
                  + "; cannot check that "
                  + data.dir()
                  + " was prepared with the model's tokenizer"));
    } else if (dataFingerprint == null) {
      o.put("status", "unverified");
      o.put(
          "detail",
          Redaction.text(
              data.dir()
                  + "/summary.json records no tokenizer fingerprint and its tokenizer "
                  + tokenizerPath
                  + " is not readable; cannot check that the corpus was prepared with the model's"
                  + " tokenizer"));
    } else if (!modelFingerprint.equals(dataFingerprint)) {
      throw new IllegalArgumentException(
          data.dir()
              + " was prepared with tokenizer "
              + tokenizerPath
              + " (fingerprint "
              + dataFingerprint.substring(0, 12)
              + "), not with the model's "
              + modelDir
              + "/"
              + Checkpoints.TOKENIZER
              + " ("
              + modelFingerprint.substring(0, 12)
              + "): its token ids would index another vocabulary. Prepare the evaluation corpus"
              + " again with --tokenizer "
              + modelDir);
    } else {
      o.put("status", "match");
      o.put("detail", "prepared with the model's tokenizer");
    }
    return o;
  }
}
