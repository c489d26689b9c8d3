package io.sparkner.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.eval.EvaluateJob;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = "Entity-level precision/recall/F1 (seqeval default and strict), token accuracy and type confusion of a model on a prepared split.")
final class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, description = "Fine-tuned checkpoint directory.")
  String model;

  @Option(names = "--data", required = true, description = "Output directory of prepare (same labels as the model).")
  String data;

  @Option(names = "--split", defaultValue = "test", description = "train, validation or test (default ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--report", required = true, description = "Directory for report.json.")
  String report;

  @Option(names = "--batch-size", defaultValue = "32", description = "Windows per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Override
  public Integer call() {
    try (SparkSessions session = SparkSessions.start("evaluate", "local[*]")) {
      ObjectNode r = EvaluateJob.run(session.spark(), new EvaluateJob.Options(model, data, split, report, batchSize));
      System.out.print(EvaluateJob.table(r));
      System.out.println("report: " + report + "/report.json");
      return 0;
    }
  }
}
