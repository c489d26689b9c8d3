package io.sparkner.align;

import java.nio.charset.StandardCharsets;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeArrayWriter;
import org.apache.spark.sql.catalyst.expressions.codegen.UnsafeRowWriter;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The {@code features} table: one row per model input window. {@code offsets} are code-point spans
 * into the document text, null for special tokens; a token in the overlap of two windows appears in
 * both with the same offsets, which is how evaluation and scoring count it once.
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
   * A window as a Catalyst row of {@link #FEATURES}, for {@code internalCreateDataFrame} (see
   * {@code prepare.FeatureFrames}), written straight into Spark's binary row format (what its
   * generated projections write): prepare writes millions of token offsets, and an external {@code
   * Row} — or a generic Catalyst row with one boxed struct per token — cost more than the Parquet
   * write itself. Spark's scan copies an {@code UnsafeRow}'s arrays in one piece.
   */
  public static InternalRow toInternalRow(String id, Aligner.Window w) {
    int[] ids = w.inputIds();
    int[] labels = w.labels();
    int[] starts = w.starts();
    int[] ends = w.ends();
    int n = ids.length;
    byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
    // variable-length part: id, two int arrays, the offsets array (8-byte slots + 16-byte structs)
    int size = roundTo8(idBytes.length) + 2 * (16 + roundTo8(4 * n)) + 16 + 8 * n + 16 * n;
    UnsafeRowWriter row = new UnsafeRowWriter(5, size);
    row.resetRowWriter();
    row.write(0, UTF8String.fromBytes(idBytes));
    row.write(1, w.index());
    writeInts(row, 2, ids);
    writeInts(row, 3, labels);
    int at = row.cursor();
    UnsafeArrayWriter offsets = new UnsafeArrayWriter(row, 8);
    offsets.initialize(n);
    UnsafeRowWriter pair = new UnsafeRowWriter(offsets, 2);
    for (int i = 0; i < n; i++) {
      if (starts[i] < 0) {
        offsets.setNull8Bytes(i);
        continue;
      }
      int elementAt = offsets.cursor();
      pair.resetRowWriter();
      pair.write(0, starts[i]);
      pair.write(1, ends[i]);
      offsets.setOffsetAndSizeFromPreviousCursor(i, elementAt);
    }
    row.setOffsetAndSizeFromPreviousCursor(4, at);
    return row.getRow();
  }

  /**
   * The same window as an external {@link Row} of {@link #FEATURES}, for the public {@code
   * createDataFrame} where Spark's Catalyst-row entry point is absent: the same table, slower.
   */
  public static Row toRow(String id, Aligner.Window w) {
    int[] starts = w.starts();
    int[] ends = w.ends();
    Row[] offsets = new Row[starts.length];
    for (int i = 0; i < starts.length; i++) {
      offsets[i] = starts[i] < 0 ? null : RowFactory.create(starts[i], ends[i]);
    }
    return RowFactory.create(id, w.index(), w.inputIds().clone(), w.labels().clone(), offsets);
  }

  private static void writeInts(UnsafeRowWriter row, int ordinal, int[] values) {
    int at = row.cursor();
    UnsafeArrayWriter array = new UnsafeArrayWriter(row, 4);
    array.initialize(values.length);
    for (int i = 0; i < values.length; i++) {
      array.write(i, values[i]);
    }
    row.setOffsetAndSizeFromPreviousCursor(ordinal, at);
  }

  private static int roundTo8(int bytes) {
    return (bytes + 7) & ~7;
  }
}
