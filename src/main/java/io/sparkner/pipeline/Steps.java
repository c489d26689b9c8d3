package io.sparkner.pipeline;

import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.prepare.PrepareSummary;
import io.sparkner.train.TrainJob;
import java.io.PrintStream;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/**
 * The prepare and train steps as the end-to-end jobs run them: what {@code sparkner prepare} and
 * {@code sparkner train} do, with the options a job sets the same way every time (a job's prepared
 * directory is its own: overwritten; training without fault injection, on the default
 * distribution).
 */
public final class Steps {
  private Steps() {}

  /**
   * Prepares {@code inputs} with {@code tokenizer} into {@code output} (replacing what an earlier
   * run prepared there).
   */
  public static PrepareSummary prepare(
      SparkSession spark,
      List<CorpusInput> inputs,
      String tokenizer,
      String output,
      ReadOptions read,
      LabelScheme scheme,
      AlignOptions align) {
    return PrepareJob.run(
        spark, new PrepareOptions(inputs, tokenizer, output, read, scheme, align, true));
  }

  /**
   * Trains {@code model} on the prepared {@code data} into {@code output}; resumes from the newest
   * complete checkpoint there.
   */
  public static TrainJob.Result train(
      SparkSession spark,
      String data,
      String model,
      String output,
      String conf,
      String deepspeed,
      List<String> overrides,
      int replicas,
      PrintStream console) {
    return TrainJob.run(
        spark,
        TrainJob.Options.builder(data, model, output)
            .conf(conf)
            .deepspeed(deepspeed)
            .overrides(overrides)
            .replicas(replicas)
            .build(),
        console);
  }
}
