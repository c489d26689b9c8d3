package io.sparkner.crosslingual;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.TypeMap;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.pipeline.Bootstrap;
import io.sparkner.pipeline.Pipeline;
import io.sparkner.pipeline.Steps;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareSummary;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.train.TrainJob;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner crosslingual}: the cross-lingual experiment of the Hugging Face example as one
 * job — prepare the training corpus and each evaluation set with the model's tokenizer, train, then
 * evaluate the model on the training corpus' test split (in-language) and on every set (zero-shot),
 * with the type map, into one report: the steps of a {@link Pipeline}, each printed as "== k/N
 * what"; only chains {@link Bootstrap}, {@link PrepareJob}, {@link TrainJob} and {@link
 * EvaluateJob}.
 *
 * <p>Output: {@code tokenizer/} and {@code base-model/} when the config builds them, {@code
 * prepared-train/}, {@code prepared-<set>/}, {@code model/} (the fine-tuned checkpoint with
 * metrics.jsonl and training_data.json), {@code report/} (report.json, report.html). Running again
 * with the same output prepares again (the same windows: splits are deterministic) and resumes
 * training from the newest complete checkpoint in {@code model/}: use a new output for a changed
 * configuration.
 */
public final class CrossLingualJob {
  private CrossLingualJob() {}

  /**
   * @param overrides extra {@code key=value} training arguments, after the config's {@code set}
   * @return report.json's content
   */
  public static ObjectNode run(
      SparkSession spark,
      CrossLingualConfig c,
      String output,
      List<String> overrides,
      PrintStream console) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    checkPaths(c, conf);
    String trainData = output + "/prepared-train";
    List<String> evalData = new ArrayList<>();
    if (c.evaluate().trainingCorpus()) {
      evalData.add(trainData);
    }
    c.evaluate().sets().keySet().forEach(set -> evalData.add(output + "/prepared-" + set));
    boolean buildTokenizer = c.tokenizer().path() == null;
    String tokenizer = buildTokenizer ? output + "/tokenizer" : c.tokenizer().path();
    boolean initModel = c.model().path() == null;
    String model = initModel ? output + "/base-model" : c.model().path();
    TrainJob.Result[] trained = new TrainJob.Result[1];
    ObjectNode[] report = new ObjectNode[1];
    new Pipeline<String>()
        .thenIf(
            buildTokenizer,
            "tokenizer",
            "tokenizer: build a "
                + c.tokenizer().kind()
                + " tokenizer from "
                + c.tokenizer().buildCorpus().size()
                + " corpora",
            () -> {
              Bootstrap.Tokenizer built =
                  Bootstrap.buildTokenizer(
                      Bootstrap.inputs(c.tokenizer().buildCorpus(), conf),
                      c.tokenizer().kind(),
                      c.tokenizer().vocabSize(),
                      tokenizer,
                      conf);
              console.println(built.describe());
            })
        .then(
            "prepare",
            "prepare: the training corpus " + specs(c.train().inputs()),
            () ->
                prepare(
                    spark,
                    c,
                    c.train().inputs(),
                    TypeMap.parse(c.train().typeMap(), null),
                    tokenizer,
                    trainData,
                    console))
        .then(
            "prepare",
            "prepare: the evaluation sets " + c.evaluate().sets().keySet(),
            () -> {
              for (Map.Entry<String, List<CorpusInput>> set : c.evaluate().sets().entrySet()) {
                console.println(set.getKey() + ": " + specs(set.getValue()));
                prepare(
                    spark,
                    c,
                    set.getValue(),
                    TypeMap.identity(),
                    tokenizer,
                    output + "/prepared-" + set.getKey(),
                    console);
              }
            })
        .thenIf(
            initModel,
            "init",
            "init: a randomly initialised model from " + c.model().initConfig(),
            () -> {
              List<String> labels =
                  Labels.fromJson(
                          HadoopFiles.readString(
                              HadoopFiles.qualify(trainData + "/labels.json", conf), conf))
                      .labels();
              console.println(
                  Bootstrap.initModel(
                          c.model().initConfig(), tokenizer, labels, model, c.model().seed(), conf)
                      .describe());
            })
        .then(
            "train",
            "train: " + c.train().replicas() + " replica(s)",
            () -> {
              List<String> set = new ArrayList<>(c.train().set());
              set.addAll(overrides);
              trained[0] =
                  Steps.train(
                      spark,
                      trainData,
                      model,
                      output + "/model",
                      c.train().conf(),
                      c.train().deepspeed(),
                      set,
                      c.train().replicas(),
                      console);
            })
        .then(
            "evaluate",
            "evaluate: split "
                + c.evaluate().split()
                + " of "
                + evalData.size()
                + " corpora, type map "
                + c.evaluate().typeMap(),
            () -> {
              report[0] =
                  EvaluateJob.run(
                      spark,
                      new EvaluateJob.Options(
                          trained[0].output(),
                          evalData,
                          c.evaluate().split(),
                          output + "/report",
                          c.evaluate().batchSize(),
                          c.evaluate().typeMap(),
                          c.evaluate().examples()));
              console.print(EvaluateJob.table(report[0]));
              console.println("report: " + output + "/report/report.html");
            })
        .run((step, index, total, what) -> say(console, index, total, what));
    return report[0];
  }

  private static void prepare(
      SparkSession spark,
      CrossLingualConfig c,
      List<CorpusInput> inputs,
      TypeMap typeMap,
      String tokenizer,
      String out,
      PrintStream console) {
    PrepareSummary summary =
        Steps.prepare(
            spark,
            inputs,
            tokenizer,
            out,
            new ReadOptions(c.prepare().seed(), typeMap, false),
            c.prepare().scheme(),
            c.prepare().align());
    console.print(summary.toTable());
    long quarantined = summary.get("quarantined_total");
    if (quarantined > 0) {
      console.println("note: " + quarantined + " records quarantined, see " + out + "/quarantine");
    }
  }

  private static List<String> specs(List<CorpusInput> inputs) {
    List<String> out = new ArrayList<>();
    for (CorpusInput in : inputs) {
      out.add(in.kind() + (in.lang() == null ? "" : ":" + in.lang()) + ":" + in.path());
    }
    return out;
  }

  private static void say(PrintStream console, int step, int steps, String what) {
    console.println();
    console.println("== " + step + "/" + steps + " " + what);
  }

  /**
   * Refuses to start when a path of the config is missing, before anything runs (globs are left to
   * the readers).
   */
  static void checkPaths(CrossLingualConfig c, org.apache.hadoop.conf.Configuration conf) {
    List<String> paths = new ArrayList<>();
    if (c.tokenizer().path() != null) {
      paths.add(c.tokenizer().path());
    }
    c.tokenizer().buildCorpus().forEach(spec -> paths.add(CorpusInput.parse(spec).path()));
    paths.add(c.model().path() != null ? c.model().path() : c.model().initConfig());
    if (c.train().conf() != null) {
      paths.add(c.train().conf());
    }
    if (c.train().deepspeed() != null) {
      paths.add(c.train().deepspeed());
    }
    c.train().inputs().forEach(i -> paths.add(i.path()));
    c.evaluate().sets().values().forEach(l -> l.forEach(i -> paths.add(i.path())));
    for (String p : paths) {
      if (!p.matches(".*[*?\\[{].*") && !HadoopFiles.exists(p, conf)) {
        throw new IllegalArgumentException(
            "the crosslingual configuration names "
                + p
                + ", which does not exist (relative paths are relative to the working directory, "
                + System.getProperty("user.dir")
                + ")");
      }
    }
  }
}
