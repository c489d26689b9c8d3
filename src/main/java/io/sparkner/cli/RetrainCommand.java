package io.sparkner.cli;

import io.sparkner.fault.FaultPlan;
import io.sparkner.retrain.Registry;
import io.sparkner.retrain.RetrainConfig;
import io.sparkner.retrain.RetrainJob;
import io.sparkner.storage.HadoopFiles;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "retrain",
    mixinStandardHelpOptions = true,
    description = {
      "Prepares the configured corpora, trains a challenger (from the champion or the base),"
          + " evaluates champion and challenger on the same held-out split, and promotes the"
          + " challenger when it beats the champion by the configured margin without any language"
          + " dropping by more than the tolerance.",
      "Every run is recorded in <registry>/runs/<run-id>/run.json with its model;"
          + " <registry>/champion names the champion. A failed run never moves the champion."
    })
final class RetrainCommand implements Callable<Integer> {
  @Accepts(Accepts.Kind.INPUT)
  @Option(
      names = "--conf",
      required = true,
      description =
          "The retrain configuration (JSON or YAML), e.g. conf/retrain.json; any Hadoop path.")
  String conf;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--run-id",
      description =
          "The run's id (default: UTC time and a random suffix), e.g. the scheduler's run id.")
  String runId;

  @Accepts(Accepts.Kind.TEXT)
  @Option(
      names = "--promote",
      paramLabel = "RUN_ID",
      description = "Promote (or roll back to) a succeeded run by hand, instead of running.")
  String promote;

  @Accepts(Accepts.Kind.ENUM)
  @Option(
      names = "--fail-after",
      hidden = true,
      description =
          "Fault injection for tests and demos: fail after PREPARE, TRAIN, EVALUATE or DECIDE.")
  RetrainJob.Stage failAfter;

  @Override
  public Integer call() {
    boolean embedded = !new org.apache.spark.SparkConf().contains("spark.master");
    // embedded Spark: the configuration is read first, to give each replica a slot (local[N,4] also
    // retries failed tasks)
    String master = "local[*]";
    if (embedded) {
      RetrainConfig early = read(new org.apache.hadoop.conf.Configuration());
      if (early.train().replicas() > 1) {
        master = "local[" + early.train().replicas() + ",4]";
      }
    }
    try (SparkSessions session = SparkSessions.start("retrain", master)) {
      RetrainConfig cfg = read(session.spark().sparkContext().hadoopConfiguration());
      if (promote != null) {
        RetrainJob.promote(
            new Registry(cfg.registry(), session.spark().sparkContext().hadoopConfiguration()),
            promote,
            System.out);
        return 0;
      }
      RetrainJob.Outcome o =
          RetrainJob.run(
              session.spark(),
              cfg,
              new RetrainJob.Options(runId, FaultPlan.none().withFailAfter(failAfter)),
              System.out);
      System.out.println("run record: " + o.runDir() + "/run.json");
      return 0;
    }
  }

  private RetrainConfig read(org.apache.hadoop.conf.Configuration hc) {
    String file = HadoopFiles.qualify(conf, hc);
    if (!HadoopFiles.exists(file, hc)) {
      throw new IllegalArgumentException("--conf " + conf + " does not exist");
    }
    return RetrainConfig.parse(HadoopFiles.readString(file, hc), conf);
  }
}
