package io.sparkner.cli;

import io.sparkner.fault.FaultPlan;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.Redaction;
import io.sparkner.train.OutputConflict;
import io.sparkner.train.TrainJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Fine-tunes a Hugging Face checkpoint for token classification on a prepared corpus.",
      "Writes the fine-tuned checkpoint, checkpoints/ and metrics.jsonl under --output; resumes"
          + " from the newest complete checkpoint there",
      "when it belongs to this run (same model, labels, data and settings); otherwise stops (exit"
          + " 2): use --overwrite or --resume-from."
    })
final class TrainCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.PREPARED)
  @Option(names = "--data", required = true, description = "Output directory of prepare.")
  String data;

  @Accepts(Accepts.Kind.CHECKPOINT)
  @Option(
      names = "--model",
      required = true,
      description =
          "Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json).")
  String model;

  @Accepts(Accepts.Kind.OUTPUT)
  @Option(
      names = "--output",
      required = true,
      description = "Directory for the fine-tuned checkpoint.")
  String output;

  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--conf",
      description = "Training arguments (JSON or YAML), named like Hugging Face TrainingArguments.")
  String conf;

  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--deepspeed",
      description = "A DeepSpeed JSON config (e.g. conf/ds_config_zero2.json).")
  String deepspeed;

  @Accepts(Accepts.Kind.KEY_VALUE)
  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "Override a training argument, repeatable.")
  List<String> overrides = new ArrayList<>();

  @Accepts(value = Accepts.Kind.INT, min = 1, max = 1024)
  @Option(
      names = "--replicas",
      defaultValue = "1",
      description =
          "Data-parallel replicas; more than one runs a Spark barrier stage, one task (and GPU"
              + " where there are GPUs) each (default ${DEFAULT-VALUE}).")
  int replicas;

  @Accepts(Accepts.Kind.PORT_RANGE)
  @Option(
      names = "--port-range",
      defaultValue = "0-0",
      description = "Ports the replicas listen on, FROM-TO (0-0: any free port).")
  String portRange;

  @Accepts(value = Accepts.Kind.INT, min = 1, max = 86400)
  @Option(
      names = "--collective-timeout",
      defaultValue = "300",
      description =
          "Seconds any collective operation may block before the task fails (default"
              + " ${DEFAULT-VALUE}).")
  int collectiveTimeout;

  @Accepts(
      value = Accepts.Kind.ONE_OF,
      oneOf = {"auto", "cpu", "gpu"})
  @Option(
      names = "--device",
      defaultValue = "auto",
      description =
          "auto: the GPU Spark assigned each replica's task (spark.task.resource.gpu.amount), else"
              + " the CPU; a GPU assigned to an executor whose libtorch is the CPU build stops the"
              + " run (exit 2). cpu: the CPU on purpose, also with GPUs assigned. gpu: a GPU or an"
              + " error (default ${DEFAULT-VALUE}).")
  String device;

  @Accepts(Accepts.Kind.FLAG)
  @Option(
      names = "--overwrite",
      description =
          "Delete the checkpoints and results of an earlier run in --output and train afresh.")
  boolean overwrite;

  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--resume-from",
      paramLabel = "CHECKPOINT",
      description =
          "Continue from this checkpoint directory (e.g. OUTPUT/checkpoints/checkpoint-500), also"
              + " one of a run with other settings.")
  String resumeFrom;

  @Spec CommandSpec spec;

  @Accepts(value = Accepts.Kind.INT, min = -1)
  @Option(
      names = "--fail-at-step",
      hidden = true,
      defaultValue = "-1",
      description = "Fault injection for tests and demos: a task dies once after this global step.")
  long failAtStep;

  @Accepts(value = Accepts.Kind.INT, min = 0, max = 1023)
  @Option(
      names = "--fail-rank",
      hidden = true,
      defaultValue = "0",
      description = "The rank that --fail-at-step kills (default ${DEFAULT-VALUE}).")
  int failRank;

  @Override
  public Integer call() {
    int[] ports = OptionChecks.portRange(portRange);
    TrainJob.Distribution dist =
        new TrainJob.Distribution(null, ports[0], ports[1], collectiveTimeout, device);
    String master = replicas > 1 ? "local[" + replicas + "," + 4 + "]" : "local[*]";
    try (SparkSessions session = SparkSessions.start("train", master)) {
      TrainJob.Result r =
          TrainJob.run(
              session.spark(),
              TrainJob.Options.builder(data, model, output)
                  .conf(conf)
                  .deepspeed(deepspeed)
                  .overrides(overrides)
                  .replicas(replicas)
                  .distribution(dist)
                  .overwrite(overwrite)
                  .resumeFrom(resumeFrom)
                  .faults(FaultPlan.none().withRank(failRank).withFailAtStep(failAtStep))
                  .build(),
              System.out);
      System.out.printf("trained %d steps -> %s%n", r.steps(), r.output());
      return 0;
    } catch (RuntimeException e) {
      OutputConflict conflict = conflictIn(e);
      if (conflict == null) {
        throw e;
      }
      spec.commandLine()
          .getErr()
          .println("error: " + Redaction.text(conflict.getMessage(), HadoopConf.current()));
      return 2; // a usage error: the output or the checkpoint does not belong to this run
    }
  }

  /** The {@link OutputConflict} behind a failure, also when a replica raised it in a Spark task. */
  static OutputConflict conflictIn(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof OutputConflict c) {
        return c;
      }
    }
    return null;
  }
}
