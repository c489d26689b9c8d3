package io.sparkner.cli;

import io.sparkner.score.ScoreJob;
import io.sparkner.score.ScoreSummary;
import io.sparkner.score.TableFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "score",
    mixinStandardHelpOptions = true,
    description = {
      "Tags the text column of any table with a fine-tuned NER checkpoint and writes the same table"
          + " plus entities array<struct<text,type,start,end,score>> (code-point offsets into the"
          + " original text).",
      "Null/empty texts get an empty array; texts that cannot be scored get null, counted by reason"
          + " in the summary (printed, and written to OUTPUT/_summary.json)."
    })
final class ScoreCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.CHECKPOINT)
  @Option(
      names = "--model",
      required = true,
      description = "Fine-tuned Hugging Face checkpoint directory (any Hadoop path).")
  String model;

  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--input",
      required = true,
      description = "Table to score: a file, directory or glob on any Hadoop path.")
  String input;

  @Accepts(
      value = Accepts.Kind.ONE_OF,
      oneOf = {"parquet", "delta", "csv", "json", "text"})
  @Option(
      names = "--format",
      defaultValue = "parquet",
      description =
          "Input format: parquet, delta, csv (header line), json (JSON lines) or text (one row per"
              + " line) (default ${DEFAULT-VALUE}).")
  String format;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--text-col",
      defaultValue = "text",
      description =
          "The text column (default ${DEFAULT-VALUE}); for --format text, the name given to the"
              + " lines.")
  String textCol;

  @Accepts(Accepts.Kind.NEW_OUTPUT)
  @Option(names = "--output", required = true, description = "Output directory (any Hadoop path).")
  String output;

  @Accepts(
      value = Accepts.Kind.ONE_OF,
      oneOf = {"parquet", "delta", "json", "csv"})
  @Option(
      names = "--output-format",
      defaultValue = "parquet",
      description =
          "parquet, delta, json or csv (default ${DEFAULT-VALUE}); csv writes the entities (and any"
              + " other array/struct/map column) as JSON strings.")
  String outputFormat;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--output-col",
      defaultValue = "entities",
      description = "Name of the entities column (default ${DEFAULT-VALUE}).")
  String outputCol;

  @Accepts(value = Accepts.Kind.INT, min = 1, max = 65536)
  @Option(
      names = "--batch-size",
      defaultValue = "32",
      description = "Windows per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Accepts(value = Accepts.Kind.INT, min = 3, max = 65536)
  @Option(
      names = "--max-length",
      defaultValue = "256",
      description =
          "Tokens per model input incl. special tokens; longer texts are scored in overlapping"
              + " windows (default ${DEFAULT-VALUE}).")
  int maxLength;

  @Accepts(value = Accepts.Kind.INT, min = 0, max = 65535)
  @Option(
      names = "--stride",
      defaultValue = "64",
      description = "Tokens shared by consecutive windows (default ${DEFAULT-VALUE}).")
  int stride;

  @Accepts(value = Accepts.Kind.INT, min = 1)
  @Option(
      names = "--max-chars",
      defaultValue = "1000000",
      description =
          "Texts with more code points are not scored: null entities, counted (default"
              + " ${DEFAULT-VALUE}).")
  int maxChars;

  @Accepts(
      value = Accepts.Kind.ONE_OF,
      oneOf = {"auto", "cpu", "gpu"})
  @Option(
      names = "--device",
      defaultValue = "auto",
      description =
          "auto: the GPU Spark assigned the task (spark.task.resource.gpu.amount), else the CPU; a"
              + " GPU assigned to an executor whose libtorch is the CPU build stops the job (exit"
              + " 2). cpu: the CPU on purpose, also with GPUs assigned. gpu: a GPU or an error"
              + " (default ${DEFAULT-VALUE}).")
  String device;

  @Accepts(value = Accepts.Kind.INT, min = 0, max = 1000000)
  @Option(
      names = "--partitions",
      defaultValue = "0",
      description =
          "Tasks to score with; 0 = at least Spark's default parallelism (default"
              + " ${DEFAULT-VALUE}).")
  int partitions;

  @Accepts(Accepts.Kind.FLAG)
  @Option(
      names = "--sort-by-length",
      defaultValue = "true",
      negatable = true,
      fallbackValue = "true",
      description =
          "Batch windows of similar length together to pad less (default); --no-sort-by-length"
              + " batches them in arrival order.")
  boolean sortByLength;

  @Accepts(Accepts.Kind.FLAG)
  @Option(names = "--overwrite", description = "Replace an existing output.")
  boolean overwrite;

  @Override
  public Integer call() {
    ScoreJob.Options o =
        new ScoreJob.Options(
            model,
            input,
            TableFormat.parse(format),
            textCol,
            output,
            TableFormat.parse(outputFormat),
            outputCol,
            batchSize,
            maxLength,
            stride,
            maxChars,
            device,
            partitions,
            sortByLength,
            overwrite);
    try (SparkSessions session = SparkSessions.start("score", "local[*]")) {
      ScoreSummary s = ScoreJob.run(session.spark(), o, System.out);
      System.out.print(s.toTable());
      System.out.println(
          "output: "
              + s.json().path("output").asText()
              + " (summary: "
              + ScoreSummary.FILE
              + " inside it)");
      return 0;
    }
  }
}
