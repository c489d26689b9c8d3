package io.sparkner.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusTables;
import io.sparkner.corpus.Entity;
import io.sparkner.model.Example;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** The output of {@code prepare}, read back: labels, and the windows and documents of a split. */
public final class PreparedData {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SparkSession spark;
  private final String dir;
  private final Labels labels;

  /** A gold document: language and entities, for evaluation. */
  public record GoldDocument(String id, String lang, String text, List<Entity> entities)
      implements java.io.Serializable {}

  public PreparedData(SparkSession spark, String dir) {
    this.spark = spark;
    this.dir = HadoopFiles.qualify(dir, spark.sparkContext().hadoopConfiguration());
    requireComplete(this.dir, spark.sparkContext().hadoopConfiguration());
    String labelsFile = this.dir + "/labels.json";
    this.labels =
        Labels.fromJson(
            HadoopFiles.readString(labelsFile, spark.sparkContext().hadoopConfiguration()));
  }

  /** What a complete output of {@code prepare} holds; {@code summary.json} is written last. */
  static final List<String> PARTS =
      List.of("documents", "features", "quarantine", "labels.json", "summary.json");

  /**
   * Refuses a directory that is not a complete output of {@code prepare}: one that does not exist,
   * or lacks {@code summary.json} (written last, and deleted first by a rerun with {@code
   * --overwrite}: without it the tables may mix two runs) or any table; names what is missing.
   */
  public static void requireComplete(String dir, Configuration conf) {
    if (!HadoopFiles.exists(dir, conf)) {
      throw new IllegalArgumentException(dir + " does not exist; run sparkner prepare first");
    }
    List<String> missing = new ArrayList<>();
    for (String part : PARTS) {
      if (!HadoopFiles.exists(dir + "/" + part, conf)) {
        missing.add(part);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          dir
              + " is not a complete prepared corpus: missing "
              + String.join(", ", missing)
              + (missing.contains("summary.json")
                  ? " (prepare writes summary.json last: the run that wrote it failed or is still"
                      + " running; run sparkner prepare again with --overwrite)"
                  : " (run sparkner prepare again with --overwrite)"));
    }
    try {
      JSON.readTree(HadoopFiles.readString(dir + "/summary.json", conf));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(
          dir
              + " is not a complete prepared corpus: summary.json is not valid JSON ("
              + e.getOriginalMessage()
              + ")",
          e);
    }
  }

  public Labels labels() {
    return labels;
  }

  /** The qualified directory. */
  public String dir() {
    return dir;
  }

  /** {@code summary.json} of the prepare run, or null when there is none. */
  public JsonNode summary() {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String file = dir + "/summary.json";
    if (!HadoopFiles.exists(file, conf)) {
      return null;
    }
    try {
      return JSON.readTree(HadoopFiles.readString(file, conf));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse " + file + ": " + e.getMessage(), e);
    }
  }

  /** Documents per language of a split (null: all), in language order; null languages as "und". */
  public Map<String, Long> languages(String split) {
    Map<String, Long> out = new TreeMap<>();
    for (Row r : documents(split).groupBy("lang").count().collectAsList()) {
      out.put(r.isNullAt(0) ? "und" : r.getString(0), r.getLong(1));
    }
    return out;
  }

  private Dataset<Row> documents(String split) {
    return documents(spark, dir, split);
  }

  /**
   * The {@code documents} rows of {@code split} (null: all) of the prepared corpus in {@code dir}.
   */
  public static Dataset<Row> documents(SparkSession spark, String dir, String split) {
    Dataset<Row> docs = spark.read().parquet(dir + "/documents");
    return split == null ? docs : docs.where(docs.col("split").equalTo(split));
  }

  /**
   * The {@code features} rows of the documents of {@code split} (null: all) of the prepared corpus
   * in {@code dir}, in no particular order.
   */
  public static Dataset<Row> windows(SparkSession spark, String dir, String split) {
    Dataset<Row> features = spark.read().parquet(dir + "/features");
    return split == null
        ? features
        : features.join(documents(spark, dir, split).select("id"), "id");
  }

  /** The windows of a split's documents, in (id, window) order. */
  public List<Example> examples(String split) {
    List<Row> rows = windows(split).orderBy("id", "window").collectAsList();
    List<Example> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(example(r));
    }
    return out;
  }

  /** The {@code features} rows of a split's documents (null: all), in no particular order. */
  public Dataset<Row> windows(String split) {
    return windows(spark, dir, split);
  }

  /** The gold rows of a split's documents (null: all) in no particular order; see {@link #gold}. */
  public Dataset<Row> goldRows(String split) {
    return documents(split);
  }

  /** One row of {@code features} ({@link #windows}) as a window. */
  public static Example example(Row r) {
    List<Integer> in = r.getList(r.fieldIndex("input_ids"));
    List<Integer> lab = r.getList(r.fieldIndex("labels"));
    List<Row> off = r.getList(r.fieldIndex("offsets"));
    int n = in.size();
    int[] a = new int[n];
    int[] b = new int[n];
    int[] s = new int[n];
    int[] e = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = in.get(i);
      b[i] = lab.get(i);
      Row o = off.get(i);
      s[i] = o == null ? -1 : o.getInt(0);
      e[i] = o == null ? -1 : o.getInt(1);
    }
    return new Example(r.getAs("id"), r.getAs("window"), a, b, s, e);
  }

  /** One row of {@code documents} ({@link #goldRows}) as a gold document. */
  public static GoldDocument goldDocument(Row r) {
    return new GoldDocument(
        r.getAs("id"), r.getAs("lang"), r.getAs("text"), CorpusTables.entities(r));
  }

  /** The gold documents of a split (null: all), by id. */
  public Map<String, GoldDocument> gold(String split) {
    Map<String, GoldDocument> out = new LinkedHashMap<>();
    for (Row r : documents(split).orderBy("id").collectAsList()) {
      out.put(r.getAs("id"), goldDocument(r));
    }
    return out;
  }
}
