package io.sparkner.crosslingual;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.TypeMap;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.prepare.PrepareSummary;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner crosslingual}: the cross-lingual experiment of the Hugging Face example as one
 * job — prepare the training corpus and each evaluation set with the model's tokenizer, train,
 * then evaluate the model on the training corpus' test split (in-language) and on every set
 * (zero-shot), with the type map, into one report. Only chains {@link PrepareJob}, {@link
 * TrainJob} and {@link EvaluateJob}.
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
   * The two steps that live with the command line ({@code tokenizer build} and {@code init}),
   * handed in so this job does not depend on the CLI.
   */
  public interface Bootstrap {
    void buildTokenizer(List<String> corpus, String kind, int vocabSize, String output);

    void initModel(String config, String tokenizer, String labelsJson, String output, long seed) throws IOException;
  }

  /**
   * @param overrides extra {@code key=value} training arguments, after the config's {@code set}
   * @return report.json's content
   */
  public static ObjectNode run(SparkSession spark, CrossLingualConfig c, String output, List<String> overrides, Bootstrap bootstrap, PrintStream console)
      throws IOException {
    checkPaths(c, spark.sparkContext().hadoopConfiguration());
    int steps = 4 + (c.tokenizer().path() == null ? 1 : 0) + (c.model().path() == null ? 1 : 0);
    int step = 0;
    String tokenizer = c.tokenizer().path();
    if (tokenizer == null) {
      say(console, ++step, steps, "tokenizer: build a " + c.tokenizer().kind() + " tokenizer from " + c.tokenizer().buildCorpus().size() + " corpora");
      tokenizer = output + "/tokenizer";
      bootstrap.buildTokenizer(c.tokenizer().buildCorpus(), c.tokenizer().kind(), c.tokenizer().vocabSize(), tokenizer);
    }

    say(console, ++step, steps, "prepare: the training corpus " + specs(c.train().inputs()));
    String trainData = output + "/prepared-train";
    prepare(spark, c, c.train().inputs(), TypeMap.parse(c.train().typeMap(), null), tokenizer, trainData, console);
    List<String> evalData = new ArrayList<>();
    if (c.evaluate().trainingCorpus()) {
      evalData.add(trainData);
    }
    say(console, ++step, steps, "prepare: the evaluation sets " + c.evaluate().sets().keySet());
    for (Map.Entry<String, List<CorpusInput>> set : c.evaluate().sets().entrySet()) {
      String dir = output + "/prepared-" + set.getKey();
      console.println(set.getKey() + ": " + specs(set.getValue()));
      prepare(spark, c, set.getValue(), TypeMap.identity(), tokenizer, dir, console);
      evalData.add(dir);
    }

    String model = c.model().path();
    if (model == null) {
      say(console, ++step, steps, "init: a randomly initialised model from " + c.model().initConfig());
      model = output + "/base-model";
      bootstrap.initModel(c.model().initConfig(), tokenizer, trainData + "/labels.json", model, c.model().seed());
    }

    say(console, ++step, steps, "train: " + c.train().replicas() + " replica(s)");
    List<String> set = new ArrayList<>(c.train().set());
    set.addAll(overrides);
    TrainJob.Result trained =
        TrainJob.run(
            spark,
            TrainJob.Options.builder(trainData, model, output + "/model")
                .conf(c.train().conf())
                .deepspeed(c.train().deepspeed())
                .overrides(set)
                .replicas(c.train().replicas())
                .build(),
            console);

    say(console, ++step, steps, "evaluate: split " + c.evaluate().split() + " of " + evalData.size() + " corpora, type map " + c.evaluate().typeMap());
    ObjectNode report =
        EvaluateJob.run(
            spark,
            new EvaluateJob.Options(
                trained.output(), evalData, c.evaluate().split(), output + "/report", c.evaluate().batchSize(), c.evaluate().typeMap(), c.evaluate().examples()));
    console.print(EvaluateJob.table(report));
    console.println("report: " + output + "/report/report.html");
    return report;
  }

  private static void prepare(
      SparkSession spark, CrossLingualConfig c, List<CorpusInput> inputs, TypeMap typeMap, String tokenizer, String out, PrintStream console) {
    PrepareSummary summary =
        PrepareJob.run(
            spark,
            new PrepareOptions(inputs, tokenizer, out, new ReadOptions(c.prepare().seed(), typeMap, false), c.prepare().scheme(), c.prepare().align(), true));
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

  /** Refuses to start when a path of the config is missing, before anything runs (globs are left to the readers). */
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
            "the crosslingual configuration names " + p + ", which does not exist (relative paths are relative to the working directory, "
                + System.getProperty("user.dir") + ")");
      }
    }
  }
}
