package io.sparkner.eval;

import io.sparkner.corpus.CorpusTables;
import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The tables of a prepared corpus as evaluation reads them, left in Spark: the documents of a split
 * and their windows (the {@code features} rows of those documents), and the conversion of one row
 * to what the scoring code takes, as {@link io.sparkner.prepare.PreparedData} converts them.
 */
final class SplitTables {
  private SplitTables() {}

  /** The documents of {@code split} (null: all) of the prepared corpus in {@code dir}. */
  static Dataset<Row> documents(SparkSession spark, String dir, String split) {
    Dataset<Row> docs = spark.read().parquet(dir + "/documents");
    return split == null ? docs : docs.where(docs.col("split").equalTo(split));
  }

  /** The windows of the documents of {@code split}. */
  static Dataset<Row> windows(SparkSession spark, String dir, String split) {
    return spark
        .read()
        .parquet(dir + "/features")
        .join(documents(spark, dir, split).select("id"), "id");
  }

  /** A {@code features} row as a window. */
  static Example example(Row r) {
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

  /** A {@code documents} row as a gold document. */
  static GoldDocument gold(Row r) {
    return new GoldDocument(
        r.getAs("id"), r.getAs("lang"), r.getAs("text"), CorpusTables.entities(r));
  }
}
