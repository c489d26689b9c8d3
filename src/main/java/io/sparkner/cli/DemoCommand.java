package io.sparkner.cli;

import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.prepare.PrepareSummary;
import io.sparkner.train.TrainJob;
import java.io.File;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the pipeline end to end on the bundled sample data, on embedded local[2] Spark:",
      "build a tokenizer -> prepare (Stockmark + PAN-X ja) -> init a tiny XLM-R-shaped model"
          + " -> train -> evaluate on the test split (report.html) -> score the documents"
    })
final class DemoCommand implements Callable<Integer> {

  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--data",
      description = "The bundled sample data (default: data/ of the sparkner checkout).")
  File data;

  @Accepts(Accepts.Kind.OUTPUT)
  @Option(
      names = "--output",
      defaultValue = "out/demo",
      description = "Where the demo writes (default ${DEFAULT-VALUE}); replaced on each run.")
  File output;

  @Override
  public Integer call() throws java.io.IOException {
    File dataDir = data != null ? data : new File(System.getProperty("sparkner.home", "."), "data");
    if (!new File(dataDir, "stockmark/ner.json").isFile()) {
      throw new IllegalArgumentException(
          "bundled sample data not found under " + dataDir + " (pass --data DIR)");
    }
    String out = output.getAbsolutePath();
    String stockmark = "stockmark:" + new File(dataDir, "stockmark/ner.json").getAbsolutePath();
    String panxJa = "panx:ja:" + new File(dataDir, "panx/ja").getAbsolutePath();

    step("1/6 tokenizer: build an XLM-R-shaped unigram tokenizer from the sample");
    TokenizerCommand.Build.build(List.of(stockmark, panxJa), "unigram", 4000, out + "/tokenizer");

    try (SparkSessions session = SparkSessions.start("demo", "local[2,4]")) {
      SparkSession spark = session.spark();
      step("2/6 prepare: Stockmark + PAN-X ja -> documents, features, quarantine");
      PrepareSummary summary =
          PrepareJob.run(
              spark,
              new PrepareOptions(
                  List.of(CorpusInput.parse(stockmark), CorpusInput.parse(panxJa)),
                  out + "/tokenizer",
                  out + "/prepared",
                  new ReadOptions(Splits.DEFAULT_SEED, TypeMap.identity(), false),
                  LabelScheme.IOB2,
                  new AlignOptions(128, 32, true),
                  true));
      System.out.print(summary.toTable());

      step("3/6 init: a randomly initialised tiny XLM-R-shaped checkpoint");
      InitCommand.init(
          confFile("tiny-xlmr-config.json"),
          out + "/tokenizer",
          out + "/prepared/labels.json",
          out + "/tiny-model",
          42);

      step(
          "4/6 train: 2 replicas in a Spark barrier stage (ring all-reduce, ZeRO 2), validation"
              + " each epoch");
      io.sparkner.storage.HadoopFiles.delete(
          out + "/trained", spark.sparkContext().hadoopConfiguration());
      TrainJob.Result trained =
          TrainJob.run(
              spark,
              TrainJob.Options.builder(out + "/prepared", out + "/tiny-model", out + "/trained")
                  .conf(confFile("train-demo.json"))
                  .deepspeed(confFile("ds_config_zero2.json"))
                  .replicas(2)
                  .build(),
              System.out);

      step("5/6 evaluate: the test split");
      var report =
          EvaluateJob.run(
              spark,
              new EvaluateJob.Options(
                  trained.output(), out + "/prepared", "test", out + "/report", 32));
      System.out.print(EvaluateJob.table(report));
      step(
          "6/6 score: tag the prepared documents with NerTagger, keeping every column (entities ->"
              + " predicted)");
      var scored =
          io.sparkner.score.ScoreJob.run(
              spark,
              new io.sparkner.score.ScoreJob.Options(
                  trained.output(),
                  out + "/prepared/documents",
                  io.sparkner.score.TableFormat.PARQUET,
                  "text",
                  out + "/scored",
                  io.sparkner.score.TableFormat.PARQUET,
                  "predicted",
                  32,
                  128,
                  32,
                  1_000_000,
                  "auto",
                  0,
                  true,
                  true),
              System.out);
      System.out.print(scored.toTable());
      step(
          "done: "
              + out
              + " (model: trained/, report: report/report.html and report.json, metrics:"
              + " trained/metrics.jsonl, scored table: scored/)");
      return 0;
    }
  }

  /** A file of the checkout's conf/ directory. */
  private static String confFile(String name) {
    File f = new File(System.getProperty("sparkner.home", "."), "conf/" + name);
    if (!f.isFile()) {
      throw new IllegalArgumentException(
          "missing " + f + " (run the demo from a sparkner checkout)");
    }
    return f.getAbsolutePath();
  }

  private static void step(String what) {
    System.out.println();
    System.out.println("== " + what);
  }
}
