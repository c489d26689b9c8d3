package io.sparkner.align;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.unsafe.types.UTF8String;
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

  /**
   * A window as a Catalyst row of {@link #FEATURES}, for {@code internalCreateDataFrame}: the token
   * arrays are copied in one piece ({@code UnsafeArrayData.fromPrimitiveArray}) instead of being
   * boxed element by element as an external {@code Row} is when Spark converts it. Prepare writes
   * millions of token offsets; that conversion was a large part of its time.
   */
  public static InternalRow toInternalRow(String id, Aligner.Window w) {
    Object[] offsets = new Object[w.starts().length];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = w.starts()[i] < 0 ? null : new GenericInternalRow(new Object[] {w.starts()[i], w.ends()[i]});
    }
    return new GenericInternalRow(
        new Object[] {
          UTF8String.fromString(id),
          w.index(),
          UnsafeArrayData.fromPrimitiveArray(w.inputIds()),
          UnsafeArrayData.fromPrimitiveArray(w.labels()),
          new GenericArrayData(offsets)
        });
  }
}
