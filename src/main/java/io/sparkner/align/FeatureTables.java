package io.sparkner.align;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code features} table: one row per model input window. {@code offsets} are code-point
 * spans into the document text, null for special tokens; a token in the overlap of two windows
 * appears in both with the same offsets, which is how evaluation and scoring count it once.
 */
public final class FeatureTables {
  private FeatureTables() {}

  public static final StructType OFFSET =
      new StructType()
          .add("start", DataTypes.IntegerType, false)
          .add("end", DataTypes.IntegerType, false);

  public static final StructType FEATURES =
      new StructType()
          .add("id", DataTypes.StringType, false)
          .add("window", DataTypes.IntegerType, false)
          .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
          .add("labels", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
          .add("offsets", DataTypes.createArrayType(OFFSET, true), false);

  public static Row toRow(String id, Aligner.Window w) {
    Row[] offsets = new Row[w.starts().length];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = w.starts()[i] < 0 ? null : RowFactory.create(w.starts()[i], w.ends()[i]);
    }
    return RowFactory.create(id, w.index(), w.inputIds(), w.labels(), offsets);
  }
}
