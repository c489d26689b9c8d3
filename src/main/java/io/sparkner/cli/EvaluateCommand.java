package io.sparkner.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.corpus.TypeMap;
import io.sparkner.eval.EvaluateJob;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Entity-level precision/recall/F1 (seqeval default and strict) per type, language and corpus,"
          + " token accuracy and type confusion of a model on one split of one or more prepared"
          + " corpora.",
      "Writes report.json and a self-contained report.html (tables, cross-lingual matrix, confusion"
          + " heat-map, training curves, example sentences) into --report."
    })
final class EvaluateCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.CHECKPOINT)
  @Option(names = "--model", required = true, description = "Fine-tuned checkpoint directory.")
  String model;

  @Accepts(Accepts.Kind.PREPARED)
  @Option(
      names = "--data",
      required = true,
      paramLabel = "DIR",
      description =
          "Output directory of prepare, prepared with the model's tokenizer; repeatable. Languages"
              + " come from the documents' lang.")
  List<String> data;

  @Accepts(
      value = Accepts.Kind.ONE_OF,
      oneOf = {"train", "validation", "test"})
  @Option(
      names = "--split",
      defaultValue = "test",
      description = "train, validation or test (default ${DEFAULT-VALUE}).")
  String split;

  @Accepts(Accepts.Kind.OUTPUT)
  @Option(
      names = "--report",
      required = true,
      description = "Directory for report.json and report.html.")
  String report;

  @Accepts(Accepts.Kind.TYPE_MAP)
  @Option(
      names = "--type-map",
      paramLabel = "FROM=TO,...",
      description =
          "Read predicted types a corpus lacks as its types, e.g. ORG-P=ORG,ORG-O=ORG for a"
              + " Stockmark model on PAN-X; predicted types the corpus still lacks count as O"
              + " (listed in the report).")
  String typeMap;

  @Accepts(value = Accepts.Kind.INT, min = 0, max = 10000)
  @Option(
      names = "--examples",
      defaultValue = "20",
      description = "Example sentences in the report (default ${DEFAULT-VALUE}).")
  int examples;

  @Accepts(value = Accepts.Kind.INT, min = 1, max = 65536)
  @Option(
      names = "--batch-size",
      defaultValue = "32",
      description = "Windows per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Override
  public Integer call() {
    try (SparkSessions session = SparkSessions.start("evaluate", "local[*]")) {
      ObjectNode r =
          EvaluateJob.run(
              session.spark(),
              new EvaluateJob.Options(
                  model,
                  data,
                  split,
                  report,
                  batchSize,
                  TypeMap.parse(typeMap, null).remapping(),
                  examples));
      System.out.print(EvaluateJob.table(r));
      System.out.println("report: " + report + "/report.json, " + report + "/report.html");
      return 0;
    }
  }
}
