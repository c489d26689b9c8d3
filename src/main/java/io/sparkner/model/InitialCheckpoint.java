package io.sparkner.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A randomly initialised Hugging Face checkpoint for a tokenizer and a label list: what {@code
 * sparkner init} writes, and what a retrain configuration's {@code base_model.init} makes.
 */
public final class InitialCheckpoint {
  private static final ObjectMapper JSON = new ObjectMapper();

  private InitialCheckpoint() {}

  /**
   * Writes {@code config.json} (the given config with {@code vocab_size} from the tokenizer and the
   * labels), {@code model.safetensors} and {@code tokenizer.json} into {@code dir}; all paths are
   * qualified Hadoop paths. Returns the model config.
   */
  public static ModelConfig write(
      String configFile,
      String tokenizerFile,
      List<String> labels,
      String dir,
      long seed,
      Configuration conf)
      throws IOException {
    ObjectNode root = (ObjectNode) JSON.readTree(HadoopFiles.readString(configFile, conf));
    root.put(
        "vocab_size", vocabularySize(JSON.readTree(HadoopFiles.readString(tokenizerFile, conf))));
    ModelConfig config =
        ModelConfig.parse(JSON.writeValueAsString(root), configFile).withLabels(labels);
    Checkpoints.write(
        config,
        Checkpoints.initialize(config, seed),
        name -> HadoopFiles.create(dir + "/" + name, conf));
    String copy = dir + "/" + Checkpoints.TOKENIZER;
    if (!tokenizerFile.equals(copy)) {
      try (InputStream in = HadoopFiles.open(tokenizerFile, conf);
          OutputStream out = HadoopFiles.create(copy, conf)) {
        in.transferTo(out);
      } catch (IOException e) {
        throw HadoopFiles.failure("cannot copy " + tokenizerFile + " to", copy, e, conf);
      }
    }
    return config;
  }

  /** Highest token id + 1 over the model vocabulary and the added tokens of a tokenizer.json. */
  public static int vocabularySize(JsonNode tokenizer) {
    int max = -1;
    JsonNode vocab = tokenizer.path("model").path("vocab");
    if (vocab.isArray()) {
      max = vocab.size() - 1; // Unigram: [piece, score] by id
    } else {
      for (var it = vocab.fields(); it.hasNext(); ) {
        max = Math.max(max, it.next().getValue().asInt());
      }
    }
    for (JsonNode t : tokenizer.path("added_tokens")) {
      max = Math.max(max, t.path("id").asInt());
    }
    return max + 1;
  }
}
