package io.sparkner.cli;

import io.sparkner.pipeline.Bootstrap;
import io.sparkner.storage.HadoopConf;
import java.util.List;
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
    @Accepts(Accepts.Kind.CORPUS)
    @Option(
        names = "--corpus",
        required = true,
        paramLabel = "KIND[:LANG]:PATH",
        description = "Corpus to learn from, as prepare's --input; repeatable.")
    List<String> corpus;

    @Accepts(
        value = Accepts.Kind.ONE_OF,
        oneOf = {"unigram", "wordpiece"})
    @Option(
        names = "--kind",
        defaultValue = "unigram",
        description = "unigram (XLM-R-like) or wordpiece (BERT-like).")
    String kind;

    @Accepts(value = Accepts.Kind.INT, min = 1, max = 10000000)
    @Option(
        names = "--vocab-size",
        defaultValue = "8000",
        description = "Largest vocabulary (default ${DEFAULT-VALUE}).")
    int vocabSize;

    @Accepts(Accepts.Kind.NEW_OUTPUT)
    @Option(
        names = "--output",
        required = true,
        description = "Directory to write tokenizer.json into.")
    String output;

    @Accepts(Accepts.Kind.FLAG)
    @Option(
        names = "--overwrite",
        description =
            "Replace the tokenizer.json of an existing non-empty --output (other files there"
                + " stay).")
    boolean overwrite;

    @Override
    public Integer call() {
      build(corpus, kind, vocabSize, output);
      return 0;
    }

    /** Reads the corpora's documents and writes {@code <output>/tokenizer.json}. */
    static void build(List<String> corpus, String kind, int vocabSize, String output) {
      Configuration conf = HadoopConf.current();
      System.out.println(
          Bootstrap.buildTokenizer(Bootstrap.inputs(corpus, conf), kind, vocabSize, output, conf)
              .describe());
    }
  }
}
