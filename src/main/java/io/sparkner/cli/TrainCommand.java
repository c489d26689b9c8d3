package io.sparkner.cli;

import io.sparkner.train.TrainJob;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Fine-tunes a Hugging Face checkpoint for token classification on a prepared corpus.",
      "Writes the fine-tuned checkpoint, checkpoints/ and metrics.jsonl under --output; resumes from the newest complete checkpoint there."
    })
final class TrainCommand implements Callable<Integer> {
  @Option(names = "--data", required = true, description = "Output directory of prepare.")
  String data;

  @Option(names = "--model", required = true, description = "Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json).")
  String model;

  @Option(names = "--output", required = true, description = "Directory for the fine-tuned checkpoint.")
  String output;

  @Option(names = "--conf", description = "Training arguments (JSON or YAML), named like Hugging Face TrainingArguments.")
  String conf;

  @Option(names = "--deepspeed", description = "A DeepSpeed JSON config (e.g. conf/ds_config_zero2.json).")
  String deepspeed;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a training argument, repeatable.")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() {
    try (SparkSessions session = SparkSessions.start("train", "local[*]")) {
      TrainJob.Result r =
          TrainJob.run(session.spark(), new TrainJob.Options(data, model, output, conf, deepspeed, overrides), System.out);
      System.out.printf("trained %d steps -> %s%n", r.steps(), r.output());
      return 0;
    }
  }
}
