package io.sparkner.pipeline;

import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.model.InitialCheckpoint;
import io.sparkner.model.ModelConfig;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.tokenizer.TokenizerBuilder;
import io.sparkner.tokenizer.TokenizerCache;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * What a run needs before it can prepare or train when it has no pretrained checkpoint: a tokenizer
 * built from corpora and a randomly initialised checkpoint. The one implementation behind {@code
 * sparkner tokenizer build}, {@code sparkner init}, the {@code crosslingual} job and {@code
 * retrain}'s {@code base_model.init}.
 */
public final class Bootstrap {
  private Bootstrap() {}

  /** A tokenizer that was built: its file and what it learned from. */
  public record Tokenizer(String file, int texts, long rejected) {
    /** The console line of {@code tokenizer build}. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "tokenizer build: %d texts (%d bad records skipped, see prepare's quarantine) -> %s",
          texts,
          rejected,
          file);
    }
  }

  /** A checkpoint that was initialised: its configuration and where it is. */
  public record Model(ModelConfig config, int labels, String dir) {
    /** The console line of {@code init}. */
    public String describe() {
      return String.format(
          "init: %s %d layers, hidden %d, vocab %d, %d labels -> %s",
          config.modelType,
          config.numHiddenLayers,
          config.hiddenSize,
          config.vocabSize,
          labels,
          dir);
    }
  }

  /** Corpus specs ({@code KIND[:LANG]:PATH}) with their paths qualified. */
  public static List<CorpusInput> inputs(List<String> specs, Configuration conf) {
    List<CorpusInput> inputs = new ArrayList<>();
    for (String spec : specs) {
      CorpusInput parsed = CorpusInput.parse(spec);
      inputs.add(
          new CorpusInput(parsed.kind(), parsed.lang(), HadoopFiles.qualify(parsed.path(), conf)));
    }
    return inputs;
  }

  /**
   * Reads the documents of {@code inputs} and writes {@code <dir>/tokenizer.json}, unigram or
   * wordpiece.
   */
  public static Tokenizer buildTokenizer(
      List<CorpusInput> inputs, String kind, int vocabSize, String dir, Configuration conf) {
    CorpusReaders.Texts read = CorpusReaders.texts(inputs, conf);
    TokenizerBuilder.Kind k;
    try {
      k = TokenizerBuilder.Kind.valueOf(kind.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "tokenizer kind '" + kind + "' is not unigram or wordpiece", e);
    }
    TokenizerBuilder.Options options = new TokenizerBuilder.Options();
    options.vocabSize = vocabSize;
    String json = TokenizerBuilder.build(k, read.texts(), options);
    String file = HadoopFiles.qualify(dir, conf) + "/tokenizer.json";
    HadoopFiles.writeString(file, json, conf);
    return new Tokenizer(file, read.texts().size(), read.rejected());
  }

  /**
   * Writes a randomly initialised checkpoint (config.json, model.safetensors, tokenizer.json) for
   * {@code labels} into {@code dir}.
   *
   * @param config a Hugging Face config.json; vocab_size follows the tokenizer
   * @param tokenizer a tokenizer.json, or a directory holding one
   */
  public static Model initModel(
      String config,
      String tokenizer,
      List<String> labels,
      String dir,
      long seed,
      Configuration conf)
      throws IOException {
    String configFile = HadoopFiles.qualify(config, conf);
    String tokenizerFile = TokenizerCache.tokenizerFile(HadoopFiles.qualify(tokenizer, conf), conf);
    String out = HadoopFiles.qualify(dir, conf);
    return new Model(
        InitialCheckpoint.write(configFile, tokenizerFile, labels, out, seed, conf),
        labels.size(),
        out);
  }
}
