package io.sparkner.eval;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/** {@code sparkner evaluate}: one model on one split of a prepared corpus → {@code report.json}. */
public final class EvaluateJob {
  private static final ObjectMapper JSON = new ObjectMapper();

  private EvaluateJob() {}

  public record Options(String model, String data, String split, String report, int batchSize) {}

  public static ObjectNode run(SparkSession spark, Options o) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    PreparedData data = new PreparedData(spark, o.data());
    Labels labels = data.labels();
    Checkpoints.Weights weights = Checkpoints.read(TrainJob.localCopy(HadoopFiles.qualify(o.model(), conf), conf), null, 0);
    if (!weights.config().labels.equals(labels.labels())) {
      throw new IllegalArgumentException(
          "the model's labels " + weights.config().labels + " differ from the corpus' labels.json " + labels.labels()
              + "; prepare the evaluation data with the same --type-map/--types as the training data");
    }
    Map<String, PreparedData.GoldDocument> gold = data.gold(o.split());
    if (gold.isEmpty()) {
      throw new IllegalArgumentException(o.data() + " has no documents in split '" + o.split() + "'");
    }
    Evaluator.Result r;
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(weights, manager, DataType.FLOAT32);
      r = Evaluator.evaluate(model, data.examples(o.split()), gold, labels, o.batchSize());
    }
    ObjectNode report = JSON.createObjectNode();
    report.put("model", o.model());
    report.put("data", o.data());
    report.put("split", o.split());
    report.put("documents", gold.size());
    report.setAll(r.toJson());
    try {
      HadoopFiles.writeString(HadoopFiles.qualify(o.report(), conf) + "/report.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n", conf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return report;
  }

  /** Per-type precision/recall/F1 as a console table, like seqeval's classification_report. */
  public static String table(ObjectNode report) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-14s %9s %9s %9s %9s%n", "", "precision", "recall", "f1", "support"));
    var def = report.path("seqeval_default");
    def.path("per_type").fields().forEachRemaining(e -> row(sb, e.getKey(), e.getValue()));
    sb.append('\n');
    for (String avg : List.of("micro", "macro", "weighted")) {
      row(sb, avg + " avg", def.path(avg));
    }
    row(sb, "strict micro", report.path("seqeval_strict").path("micro"));
    sb.append(String.format(Locale.ROOT, "token accuracy %.4f%n", report.path("tokens").path("accuracy").asDouble()));
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, com.fasterxml.jackson.databind.JsonNode s) {
    sb.append(
        String.format(
            Locale.ROOT,
            "%-14s %9.4f %9.4f %9.4f %9d%n",
            name,
            s.path("precision").asDouble(),
            s.path("recall").asDouble(),
            s.path("f1").asDouble(),
            s.path("support").asLong()));
  }
}
