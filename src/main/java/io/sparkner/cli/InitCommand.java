package io.sparkner.cli;

import io.sparkner.align.Labels;
import io.sparkner.pipeline.Bootstrap;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "init",
    mixinStandardHelpOptions = true,
    description =
        "Writes a randomly initialised Hugging Face token-classification checkpoint (e.g. the"
            + " demo's tiny model).")
final class InitCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--config",
      required = true,
      description =
          "A Hugging Face config.json (bert, roberta, xlm-roberta); vocab_size follows the"
              + " tokenizer.")
  String config;

  @Accepts(Accepts.Kind.TOKENIZER)
  @Option(
      names = "--tokenizer",
      required = true,
      description = "tokenizer.json (or its directory), copied into the checkpoint.")
  String tokenizer;

  @Accepts(Accepts.Kind.LABELS)
  @Option(
      names = "--labels",
      required = true,
      description = "labels.json of prepare, or a comma-separated label list.")
  String labels;

  @Accepts(Accepts.Kind.NEW_OUTPUT)
  @Option(names = "--output", required = true, description = "Checkpoint directory to write.")
  String output;

  @Accepts(Accepts.Kind.INT)
  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Initialisation seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Accepts(Accepts.Kind.FLAG)
  @Option(
      names = "--overwrite",
      description = "Replace an existing non-empty --output: its contents are deleted first.")
  boolean overwrite;

  @Override
  public Integer call() throws IOException {
    if (overwrite) {
      // a replaced checkpoint keeps nothing of the old one (checkpoints/, metrics.jsonl of a
      // fine-tuned model)
      Configuration conf = HadoopConf.current();
      HadoopFiles.delete(HadoopFiles.qualify(output, conf), conf);
    }
    init(config, tokenizer, labels, output, seed);
    return 0;
  }

  static void init(
      String configPath, String tokenizerPath, String labelsSpec, String output, long seed)
      throws IOException {
    Configuration conf = HadoopConf.current();
    List<String> labelList =
        labelsSpec.endsWith(".json")
            ? Labels.fromJson(HadoopFiles.readString(HadoopFiles.qualify(labelsSpec, conf), conf))
                .labels()
            : Arrays.asList(labelsSpec.split(","));
    System.out.println(
        Bootstrap.initModel(configPath, tokenizerPath, labelList, output, seed, conf).describe());
  }
}
