package io.sparkner.score;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The table formats {@code sparkner score} reads and writes, with the options that make each behave
 * as users of the format expect.
 */
public enum TableFormat {
  PARQUET,
  /**
   * Needs Delta Lake (delta-spark) on the classpath: Databricks has it, the sparkner jar does not
   * bundle it.
   */
  DELTA,
  /**
   * With a header line, RFC 4180 quoting ({@code ""} inside quotes) and quoted newlines, as
   * spreadsheets and pandas write it. CSV holds no arrays: on output, array, struct and map columns
   * (the entities among them) become JSON strings.
   */
  CSV,
  /** JSON lines: one object per line. */
  JSON,
  /** Input only: one row per line; the line becomes the text column. */
  TEXT;

  private static final String DELTA_SOURCE = "org.apache.spark.sql.delta.sources.DeltaDataSource";

  public static TableFormat parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown format '" + name + "': parquet, delta, csv, json or text", e);
    }
  }

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Reads a table; a text file's lines land in {@code textCol}. */
  public Dataset<Row> read(SparkSession spark, String path, String textCol) {
    DataFrameReader r = spark.read();
    return switch (this) {
      case PARQUET -> r.parquet(path);
      case DELTA -> r.format(deltaSource()).load(path);
      case CSV ->
          r.option("header", true).option("multiLine", true).option("escape", "\"").csv(path);
      case JSON -> r.json(path);
      case TEXT -> r.text(path).withColumnRenamed("value", textCol);
    };
  }

  /** Writes a table (refusing an existing path unless {@code overwrite}). */
  public void write(Dataset<Row> table, String path, boolean overwrite) {
    Dataset<Row> out = this == CSV ? complexColumnsAsJson(table) : table;
    DataFrameWriter<Row> w =
        out.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists);
    switch (this) {
      case PARQUET -> w.parquet(path);
      case DELTA -> w.format(deltaSource()).save(path);
      case CSV -> w.option("header", true).option("escape", "\"").csv(path);
      case JSON -> w.json(path);
      case TEXT ->
          throw new IllegalArgumentException(
              "text is an input format only: write parquet, delta, json or csv");
    }
  }

  /**
   * The columns a CSV file cannot hold as they are (arrays, structs, maps): written as JSON
   * strings.
   */
  public static List<String> complexColumns(StructType schema) {
    List<String> out = new ArrayList<>();
    for (StructField f : schema.fields()) {
      if (f.dataType() instanceof ArrayType
          || f.dataType() instanceof StructType
          || f.dataType() instanceof MapType) {
        out.add(f.name());
      }
    }
    return out;
  }

  private static Dataset<Row> complexColumnsAsJson(Dataset<Row> table) {
    List<String> complex = complexColumns(table.schema());
    List<Column> cols = new ArrayList<>();
    for (String name : table.columns()) {
      Column c = table.col("`" + name.replace("`", "``") + "`");
      cols.add(complex.contains(name) ? functions.to_json(c).as(name) : c);
    }
    return table.select(cols.toArray(new Column[0]));
  }

  private static String deltaSource() {
    return deltaSource(Thread.currentThread().getContextClassLoader());
  }

  /** Spark's name of the Delta source, after checking that Delta Lake is on the classpath. */
  static String deltaSource(ClassLoader loader) {
    try {
      Class.forName(DELTA_SOURCE, false, loader);
      return "delta";
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException(
          "format delta needs Delta Lake on the classpath ("
              + DELTA_SOURCE
              + " not found): Databricks has it; elsewhere add it to spark-submit (--packages"
              + " io.delta:delta-spark_2.12:3.2.1 --conf"
              + " spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension --conf"
              + " spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog),"
              + " or use parquet",
          e);
    }
  }
}
