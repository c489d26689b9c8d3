package io.sparkner.score;

import io.sparkner.storage.HadoopFiles;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * {@code sparkner score}: reads any table with a text column, tags it with {@link NerTagger},
 * writes the same table plus an entities column, and reports what happened ({@code _summary.json}
 * in the output directory, and a table on the console).
 */
public final class ScoreJob {
  private ScoreJob() {}

  /**
   * @param partitions tasks to score with; 0 = at least the default parallelism (a single input
   *     file would otherwise be one task on one core, and tagging is CPU-bound)
   * @param sortByLength batch windows of similar length together (see {@link
   *     NerTagger#sortByLength()})
   */
  public record Options(
      String model,
      String input,
      TableFormat format,
      String textCol,
      String output,
      TableFormat outputFormat,
      String outputCol,
      int batchSize,
      int maxLength,
      int stride,
      int maxChars,
      String device,
      int partitions,
      boolean sortByLength,
      boolean overwrite) {}

  public static ScoreSummary run(SparkSession spark, Options o, PrintStream console) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String input = HadoopFiles.qualify(o.input(), conf);
    String output = HadoopFiles.qualify(o.output(), conf);
    if (o.outputFormat() == TableFormat.TEXT) {
      throw new IllegalArgumentException(
          "--output-format text is not supported: the entities need parquet, delta, json or csv");
    }
    if (HadoopFiles.exists(output, conf) && !o.overwrite()) {
      throw new IllegalArgumentException(
          "output " + output + " already exists; pass --overwrite to replace it");
    }
    if (!HadoopFiles.exists(input, conf) && !isGlob(input)) {
      throw new IllegalArgumentException("input " + input + " does not exist");
    }
    Dataset<Row> table = o.format().read(spark, input, o.textCol());
    List<String> columns = Arrays.asList(table.columns());
    if (!columns.contains(o.textCol())) {
      throw new IllegalArgumentException(
          "input "
              + input
              + " has no column '"
              + o.textCol()
              + "' (--text-col); its columns are "
              + columns);
    }
    if (!table.schema().apply(o.textCol()).dataType().equals(DataTypes.StringType)) {
      throw new IllegalArgumentException(
          "column '"
              + o.textCol()
              + "' of "
              + input
              + " is "
              + table.schema().apply(o.textCol()).dataType().simpleString()
              + ", not string (--text-col names the text column)");
    }
    if (columns.contains(o.outputCol())) {
      throw new IllegalArgumentException(
          "input "
              + input
              + " already has a column '"
              + o.outputCol()
              + "'; name the entities column otherwise with --output-col");
    }
    int have = table.rdd().getNumPartitions();
    int want =
        o.partitions() > 0
            ? o.partitions()
            : Math.max(have, spark.sparkContext().defaultParallelism());
    if (want != have) {
      table = table.repartition(want);
    }
    NerTagger tagger =
        new NerTagger()
            .setModelPath(o.model())
            .setInputCol(o.textCol())
            .setOutputCol(o.outputCol())
            .setBatchSize(o.batchSize())
            .setMaxLength(o.maxLength())
            .setStride(o.stride())
            .setMaxChars(o.maxChars())
            .setDevice(o.device())
            .setSortByLength(o.sortByLength());
    TaggingCounts counts = TaggingCounts.register(spark.sparkContext(), "sparkner score: counts");
    Dataset<Row> tagged = tagger.tag(table, counts);
    if (o.outputFormat() == TableFormat.CSV) {
      console.println(
          "note: csv holds no arrays; written as JSON strings: "
              + TableFormat.complexColumns(tagged.schema()));
    }
    console.printf(
        "scoring %s (%s, %d task(s)) with %s -> %s (%s)%n",
        input, o.format().id(), want, o.model(), output, o.outputFormat().id());
    long t0 = System.nanoTime();
    o.outputFormat().write(tagged, output, o.overwrite());
    double seconds = (System.nanoTime() - t0) / 1e9;
    ScoreSummary summary = new ScoreSummary(o, input, output, want, counts, seconds);
    HadoopFiles.writeString(output + "/" + ScoreSummary.FILE, summary.toJson(), conf);
    return summary;
  }

  private static boolean isGlob(String path) {
    return path.chars().anyMatch(ch -> ch == '*' || ch == '?' || ch == '[' || ch == '{');
  }
}
