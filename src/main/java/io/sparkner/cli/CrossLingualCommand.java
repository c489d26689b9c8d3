package io.sparkner.cli;

import io.sparkner.crosslingual.CrossLingualConfig;
import io.sparkner.crosslingual.CrossLingualJob;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "crosslingual",
    mixinStandardHelpOptions = true,
    description = {
      "The cross-lingual experiment of a configuration (conf/crosslingual-*.json) end to end:",
      "prepare the training corpus and the evaluation sets -> train -> evaluate in-language and"
          + " zero-shot with the type map -> report.json and report.html with the cross-lingual"
          + " matrix."
    })
final class CrossLingualCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--conf",
      required = true,
      description =
          "The experiment, JSON or YAML by extension, e.g. conf/crosslingual-stockmark.json"
              + " (relative paths in it are relative to the working directory).")
  String conf;

  @Accepts(Accepts.Kind.OUTPUT)
  @Option(
      names = "--output",
      required = true,
      description =
          "Directory for the prepared data, the model and the report; rerunning with it resumes"
              + " training.")
  String output;

  @Accepts(Accepts.Kind.KEY_VALUE)
  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description =
          "Override a training argument (after the configuration's train.set), repeatable.")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() throws IOException {
    CrossLingualConfig c =
        CrossLingualConfig.parse(HadoopFiles.readString(conf, new Configuration()), conf);
    int replicas = c.train().replicas();
    String master = replicas > 1 ? "local[" + replicas + ",4]" : "local[*]";
    try (SparkSessions session = SparkSessions.start("crosslingual", master)) {
      CrossLingualJob.run(
          session.spark(),
          c,
          HadoopFiles.qualify(output, session.spark().sparkContext().hadoopConfiguration()),
          overrides,
          System.out);
      return 0;
    }
  }
}
