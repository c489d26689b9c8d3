package io.sparkner.cli;

import io.sparkner.align.tokenizer.TokenizerBuilder;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "tokenizer",
    mixinStandardHelpOptions = true,
    description = "Tokenizer tools.",
    subcommands = {TokenizerCommand.Build.class})
final class TokenizerCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(
      name = "build",
      mixinStandardHelpOptions = true,
      description = {
        "Builds a Hugging Face tokenizer.json from corpora: unigram shaped like XLM-RoBERTa's,"
            + " or wordpiece shaped like BERT's.",
        "For tests and demos where no pretrained tokenizer is at hand; real checkpoints bring"
            + " their own tokenizer.json."
      })
  static final class Build implements Callable<Integer> {
    @Option(names = "--corpus", required = true, paramLabel = "KIND[:LANG]:PATH", description = "Corpus to learn from, as prepare's --input; repeatable.")
    List<String> corpus;

    @Option(names = "--kind", defaultValue = "unigram", description = "unigram (XLM-R-like) or wordpiece (BERT-like).")
    String kind;

    @Option(names = "--vocab-size", defaultValue = "8000", description = "Largest vocabulary (default ${DEFAULT-VALUE}).")
    int vocabSize;

    @Option(names = "--output", required = true, description = "Directory to write tokenizer.json into.")
    String output;

    @Override
    public Integer call() {
      build(corpus, kind, vocabSize, output);
      return 0;
    }

    /** Reads the corpora's documents and writes {@code <output>/tokenizer.json}. */
    static void build(List<String> corpus, String kind, int vocabSize, String output) {
      Configuration conf = HadoopConf.current();
      List<CorpusInput> inputs = new ArrayList<>();
      for (String spec : corpus) {
        CorpusInput parsed = CorpusInput.parse(spec);
        inputs.add(new CorpusInput(parsed.kind(), parsed.lang(), HadoopFiles.qualify(parsed.path(), conf)));
      }
      CorpusReaders.Texts read = CorpusReaders.texts(inputs, conf);
      TokenizerBuilder.Kind k = TokenizerBuilder.Kind.valueOf(kind.toUpperCase(Locale.ROOT));
      TokenizerBuilder.Options options = new TokenizerBuilder.Options();
      options.vocabSize = vocabSize;
      String json = TokenizerBuilder.build(k, read.texts(), options);
      String file = HadoopFiles.qualify(output, conf) + "/tokenizer.json";
      HadoopFiles.writeString(file, json, conf);
      System.out.printf(
          Locale.ROOT,
          "tokenizer build: %d texts (%d bad records skipped, see prepare's quarantine) -> %s%n",
          read.texts().size(),
          read.rejected(),
          file);
    }
  }
}
