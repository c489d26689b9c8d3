package io.sparkner.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.align.TokenizerCache;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "init",
    mixinStandardHelpOptions = true,
    description = "Writes a randomly initialised Hugging Face token-classification checkpoint (e.g. the demo's tiny model).")
final class InitCommand implements Callable<Integer> {
  @Option(names = "--config", required = true, description = "A Hugging Face config.json (bert, roberta, xlm-roberta); vocab_size follows the tokenizer.")
  String config;

  @Option(names = "--tokenizer", required = true, description = "tokenizer.json (or its directory), copied into the checkpoint.")
  String tokenizer;

  @Option(names = "--labels", required = true, description = "labels.json of prepare, or a comma-separated label list.")
  String labels;

  @Option(names = "--output", required = true, description = "Checkpoint directory to write.")
  String output;

  @Option(names = "--seed", defaultValue = "42", description = "Initialisation seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws IOException {
    init(config, tokenizer, labels, output, seed);
    return 0;
  }

  static void init(String configPath, String tokenizerPath, String labelsSpec, String output, long seed) throws IOException {
    Configuration conf = HadoopConf.current();
    ObjectMapper json = new ObjectMapper();
    String configFile = HadoopFiles.qualify(configPath, conf);
    ObjectNode root = (ObjectNode) json.readTree(HadoopFiles.readString(configFile, conf));
    String tokFile = TokenizerCache.tokenizerFile(HadoopFiles.qualify(tokenizerPath, conf), conf);
    int vocab = vocabularySize(json.readTree(HadoopFiles.readString(tokFile, conf)));
    root.put("vocab_size", vocab);
    List<String> labelList =
        labelsSpec.endsWith(".json")
            ? Labels.fromJson(HadoopFiles.readString(HadoopFiles.qualify(labelsSpec, conf), conf)).labels()
            : Arrays.asList(labelsSpec.split(","));
    ModelConfig config = ModelConfig.parse(json.writeValueAsString(root), configFile).withLabels(labelList);
    String out = HadoopFiles.qualify(output, conf);
    Checkpoints.write(config, Checkpoints.initialize(config, seed), name -> HadoopFiles.create(out + "/" + name, conf));
    try (InputStream in = HadoopFiles.open(tokFile, conf);
        OutputStream copy = HadoopFiles.create(out + "/" + Checkpoints.TOKENIZER, conf)) {
      in.transferTo(copy);
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot copy " + tokFile + " to", out + "/" + Checkpoints.TOKENIZER, e, conf);
    }
    System.out.printf(
        "init: %s %d layers, hidden %d, vocab %d, %d labels -> %s%n",
        config.modelType, config.numHiddenLayers, config.hiddenSize, vocab, labelList.size(), out);
  }

  /** Highest token id + 1 over the model vocabulary and the added tokens of a tokenizer.json. */
  static int vocabularySize(JsonNode tokenizer) {
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
