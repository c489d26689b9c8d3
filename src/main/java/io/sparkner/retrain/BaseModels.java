package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.tokenizer.TokenizerBuilder;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.corpus.Document;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.ReadResult;
import io.sparkner.corpus.SourceFile;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * The base model of a retrain configuration with {@code base_model.init}: a tokenizer (given, or
 * built from the corpora as {@code sparkner tokenizer build} does) and a randomly initialised
 * checkpoint for the prepared labels (as {@code sparkner init} does). Made once, in the registry.
 */
final class BaseModels {
  private static final ObjectMapper JSON = new ObjectMapper();

  private BaseModels() {}

  /** Builds {@code <dir>/tokenizer.json} from the documents of the inputs. */
  static String buildTokenizer(List<CorpusInput> inputs, String kind, int vocabSize, String dir, Configuration conf) {
    List<String> texts = new ArrayList<>();
    for (SourceFile f : CorpusReaders.files(inputs, conf)) {
      Iterator<ReadResult> it = CorpusReaders.read(f, conf, ReadOptions.defaults());
      while (it.hasNext()) {
        if (it.next() instanceof Document d) {
          texts.add(d.text());
        }
      }
    }
    TokenizerBuilder.Options options = new TokenizerBuilder.Options();
    options.vocabSize = vocabSize;
    String json = TokenizerBuilder.build(TokenizerBuilder.Kind.valueOf(kind.toUpperCase(Locale.ROOT)), texts, options);
    String file = dir + "/" + Checkpoints.TOKENIZER;
    HadoopFiles.writeString(file, json, conf);
    return file;
  }

  /** Writes a randomly initialised checkpoint (config.json, model.safetensors, tokenizer.json) into {@code dir}. */
  static void init(String configPath, String tokenizerFile, List<String> labels, String dir, long seed, Configuration conf) {
    try {
      ObjectNode root = (ObjectNode) JSON.readTree(HadoopFiles.readString(configPath, conf));
      root.put("vocab_size", vocabularySize(JSON.readTree(HadoopFiles.readString(tokenizerFile, conf))));
      ModelConfig config = ModelConfig.parse(JSON.writeValueAsString(root), configPath).withLabels(labels);
      Checkpoints.write(config, Checkpoints.initialize(config, seed), name -> HadoopFiles.create(dir + "/" + name, conf));
      if (!tokenizerFile.equals(dir + "/" + Checkpoints.TOKENIZER)) {
        try (InputStream in = HadoopFiles.open(tokenizerFile, conf);
            OutputStream out = HadoopFiles.create(dir + "/" + Checkpoints.TOKENIZER, conf)) {
          in.transferTo(out);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot initialise a base model in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Highest token id + 1 over the model vocabulary and the added tokens (as {@code sparkner init}). */
  static int vocabularySize(JsonNode tokenizer) {
    int max = -1;
    JsonNode vocab = tokenizer.path("model").path("vocab");
    if (vocab.isArray()) {
      max = vocab.size() - 1;
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
