package io.sparkner.retrain;

import io.sparkner.tokenizer.TokenizerBuilder;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.InitialCheckpoint;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * The base model of a retrain configuration with {@code base_model.init}: a tokenizer (given, or
 * built from the corpora as {@code sparkner tokenizer build} does) and a randomly initialised
 * checkpoint for the prepared labels (as {@code sparkner init} does). Made once, in the registry.
 */
final class BaseModels {
  private BaseModels() {}

  /** Builds {@code <dir>/tokenizer.json} from the documents of the inputs. */
  static String buildTokenizer(List<CorpusInput> inputs, String kind, int vocabSize, String dir, Configuration conf) {
    TokenizerBuilder.Options options = new TokenizerBuilder.Options();
    options.vocabSize = vocabSize;
    String json =
        TokenizerBuilder.build(
            TokenizerBuilder.Kind.valueOf(kind.toUpperCase(Locale.ROOT)), CorpusReaders.texts(inputs, conf).texts(), options);
    String file = dir + "/" + Checkpoints.TOKENIZER;
    HadoopFiles.writeString(file, json, conf);
    return file;
  }

  /** Writes a randomly initialised checkpoint (config.json, model.safetensors, tokenizer.json) into {@code dir}. */
  static void init(String configPath, String tokenizerFile, List<String> labels, String dir, long seed, Configuration conf) {
    try {
      InitialCheckpoint.write(configPath, tokenizerFile, labels, dir, seed, conf);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot initialise a base model in " + dir + ": " + e.getMessage(), e);
    }
  }
}
