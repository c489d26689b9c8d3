package io.sparkner.cli;

import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.prepare.PrepareSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "prepare",
    mixinStandardHelpOptions = true,
    description = {
      "Reads corpora into documents, aligns them with a tokenizer into features, and quarantines"
          + " bad records.",
      "Writes documents/, features/, quarantine/ (Parquet), labels.json and summary.json under"
          + " --output."
    })
final class PrepareCommand implements Callable<Integer> {

  @Accepts(Accepts.Kind.CORPUS)
  @Option(
      names = "--input",
      required = true,
      paramLabel = "KIND[:LANG]:PATH",
      description =
          "Corpus to read, repeatable. KIND: stockmark (ner.json), panx (PAN-X/WikiANN"
              + " token<TAB>TAG, a file or a directory of train/dev/test), conll (token TAG, any"
              + " types), jsonl ({id,text,entities[{start,end,type}]} per line). PATH: any Hadoop"
              + " path.")
  List<String> inputs;

  @Accepts(Accepts.Kind.TOKENIZER)
  @Option(
      names = "--tokenizer",
      required = true,
      description = "tokenizer.json, or a checkpoint directory holding one.")
  String tokenizer;

  @Accepts(Accepts.Kind.NEW_OUTPUT)
  @Option(names = "--output", required = true, description = "Output directory (any Hadoop path).")
  String output;

  @Accepts(Accepts.Kind.TYPE_MAP)
  @Option(
      names = "--type-map",
      description =
          "Remap types, e.g. ORG-P=ORG,ORG-O=ORG; TYPE=O drops a type (counted in the summary).")
  String typeMap;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--types",
      split = ",",
      description = "The only entity types allowed after remapping; others go to quarantine.")
  List<String> types = new ArrayList<>();

  @Accepts(Accepts.Kind.ENUM)
  @Option(names = "--scheme", defaultValue = "IOB2", description = "IOB2 (default) or IO.")
  LabelScheme scheme;

  @Accepts(value = Accepts.Kind.INT, min = 3, max = 65536)
  @Option(
      names = "--max-length",
      defaultValue = "256",
      description = "Model input length incl. special tokens (default ${DEFAULT-VALUE}).")
  int maxLength;

  @Accepts(value = Accepts.Kind.INT, min = 0, max = 65535)
  @Option(
      names = "--stride",
      defaultValue = "64",
      description =
          "Tokens shared by consecutive windows of a long text (default ${DEFAULT-VALUE}).")
  int stride;

  @Accepts(Accepts.Kind.FLAG)
  @Option(
      names = "--label-all-subwords",
      defaultValue = "true",
      negatable = true,
      fallbackValue = "true",
      description =
          "Label every subword (default), or with --no-label-all-subwords only the first of each"
              + " word.")
  boolean labelAllSubwords;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--seed",
      defaultValue = Splits.DEFAULT_SEED,
      description = "Split seed (default ${DEFAULT-VALUE}).")
  String seed;

  @Accepts(Accepts.Kind.FLAG)
  @Option(
      names = "--fail-fast",
      description = "Stop at the first bad record instead of quarantining it.")
  boolean failFast;

  @Accepts(Accepts.Kind.FLAG)
  @Option(names = "--overwrite", description = "Replace an existing output directory.")
  boolean overwrite;

  @Override
  public Integer call() {
    PrepareOptions options = options();
    try (SparkSessions session = SparkSessions.start("prepare", "local[*]")) {
      PrepareSummary summary = PrepareJob.run(session.spark(), options);
      System.out.print(summary.toTable());
      System.out.println("prepared: " + summary.json().path("output").asText());
      return 0;
    }
  }

  PrepareOptions options() {
    List<CorpusInput> parsed = new ArrayList<>();
    for (String s : inputs) {
      parsed.add(CorpusInput.parse(s));
    }
    return new PrepareOptions(
        parsed,
        tokenizer,
        output,
        new ReadOptions(seed, TypeMap.parse(typeMap, types), failFast),
        scheme,
        new AlignOptions(maxLength, stride, labelAllSubwords),
        overwrite);
  }
}
