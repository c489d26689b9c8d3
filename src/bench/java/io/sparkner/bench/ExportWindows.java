package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.corpus.Entity;
import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Exports a prepared corpus (the output of {@code sparkner prepare}) to JSON lines, for the
 * plain-PyTorch reference ({@code tools/reference/ner_reference.py train}), which has no Parquet
 * reader here. Reads through {@link PreparedData}, exactly what {@code sparkner train} and {@code
 * evaluate} read, so both sides train and score on the same windows and gold documents.
 *
 * <p>{@code ExportWindows PREPARED_DIR OUT_DIR [SPLIT...]} (splits default: train validation test)
 * writes into OUT_DIR:
 *
 * <ul>
 *   <li>{@code labels.json}: a copy of the corpus' label list;
 *   <li>{@code windows-SPLIT.jsonl}: one {@code {"id", "window", "input_ids", "labels", "starts",
 *       "ends"}} per window, in (id, window) order (starts/ends: code points, -1 for special
 *       tokens);
 *   <li>{@code gold-SPLIT.jsonl}: one {@code {"id", "lang", "text", "entities": [{"start", "end",
 *       "type"}]}} per document, in id order.
 * </ul>
 */
public final class ExportWindows {
  private ExportWindows() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: ExportWindows PREPARED_DIR OUT_DIR [SPLIT...]");
      System.exit(2);
    }
    String prepared = args[0];
    Path out = Path.of(args[1]);
    List<String> splits =
        args.length > 2
            ? List.of(args).subList(2, args.length)
            : List.of("train", "validation", "test");
    Files.createDirectories(out);
    SparkSession spark =
        SparkSession.builder()
            .appName("sparkner export-windows")
            .master("local[2]")
            .config("spark.sql.shuffle.partitions", 4)
            .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    try {
      export(spark, prepared, out, splits);
    } finally {
      spark.stop();
    }
  }

  /** Writes labels.json and the windows and gold documents of {@code splits} into {@code out}. */
  static void export(SparkSession spark, String prepared, Path out, List<String> splits)
      throws IOException {
    Files.createDirectories(out);
    PreparedData data = new PreparedData(spark, prepared);
    ObjectNode labels = BenchEnv.JSON.createObjectNode();
    labels.put("scheme", data.labels().scheme().name());
    ArrayNode l = labels.putArray("labels");
    data.labels().labels().forEach(l::add);
    Files.writeString(out.resolve("labels.json"), labels + "\n", StandardCharsets.UTF_8);
    for (String split : splits) {
      List<Example> examples = data.examples(split);
      try (BufferedWriter w =
          Files.newBufferedWriter(
              out.resolve("windows-" + split + ".jsonl"), StandardCharsets.UTF_8)) {
        for (Example e : examples) {
          ObjectNode n = BenchEnv.JSON.createObjectNode();
          n.put("id", e.id());
          n.put("window", e.window());
          ints(n.putArray("input_ids"), e.inputIds());
          ints(n.putArray("labels"), e.labels());
          ints(n.putArray("starts"), e.starts());
          ints(n.putArray("ends"), e.ends());
          w.write(n.toString());
          w.write('\n');
        }
      }
      Map<String, PreparedData.GoldDocument> gold = data.gold(split);
      long entities = 0;
      try (BufferedWriter w =
          Files.newBufferedWriter(
              out.resolve("gold-" + split + ".jsonl"), StandardCharsets.UTF_8)) {
        for (PreparedData.GoldDocument d : gold.values()) {
          ObjectNode n = BenchEnv.JSON.createObjectNode();
          n.put("id", d.id());
          n.put("lang", d.lang());
          n.put("text", d.text());
          ArrayNode es = n.putArray("entities");
          for (Entity e : d.entities()) {
            es.addObject().put("start", e.start()).put("end", e.end()).put("type", e.type());
            entities++;
          }
          w.write(n.toString());
          w.write('\n');
        }
      }
      System.out.printf(
          "%s: %d windows, %d documents, %d entities%n",
          split, examples.size(), gold.size(), entities);
    }
    System.out.println("exported to " + out.toAbsolutePath());
  }

  private static void ints(ArrayNode a, int[] v) {
    for (int x : v) {
      a.add(x);
    }
  }
}
