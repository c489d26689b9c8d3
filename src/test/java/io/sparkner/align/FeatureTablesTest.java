package io.sparkner.align;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/**
 * {@link FeatureTables#toInternalRow} writes Spark's binary row format by hand: it must be exactly
 * what Spark's own projection makes of the same values, or Parquet would get garbage.
 */
class FeatureTablesTest {

  @Test
  void handWrittenRowIsWhatSparkProjectionWrites() {
    // special tokens (-1 offsets → null structs) at both ends, a multi-byte id, an odd length
    Aligner.Window w =
        new Aligner.Window(
            3,
            new int[] {2, 1017, 3456, 88, 3},
            new int[] {-100, 1, 2, 0, -100},
            new int[] {-1, 0, 5, 7, -1},
            new int[] {-1, 5, 7, 12, -1});
    String id = "東京-😀-12";
    InternalRow mine = FeatureTables.toInternalRow(id, w);

    Object[] offsets = new Object[5];
    for (int i = 0; i < 5; i++) {
      offsets[i] =
          w.starts()[i] < 0
              ? null
              : new GenericInternalRow(new Object[] {w.starts()[i], w.ends()[i]});
    }
    InternalRow generic =
        new GenericInternalRow(
            new Object[] {
              UTF8String.fromString(id),
              3,
              ArrayData.toArrayData(w.inputIds()),
              ArrayData.toArrayData(w.labels()),
              new GenericArrayData(offsets)
            });
    UnsafeRow spark = UnsafeProjection.create(FeatureTables.FEATURES).apply(generic);

    assertTrue(mine instanceof UnsafeRow);
    assertEquals(spark.getSizeInBytes(), ((UnsafeRow) mine).getSizeInBytes());
    assertArrayEquals(spark.getBytes(), ((UnsafeRow) mine).getBytes());
    // and it reads back as the window
    assertEquals(id, mine.getUTF8String(0).toString());
    assertEquals(3, mine.getInt(1));
    assertArrayEquals(w.inputIds(), mine.getArray(2).toIntArray());
    assertArrayEquals(w.labels(), mine.getArray(3).toIntArray());
    ArrayData o = mine.getArray(4);
    assertEquals(5, o.numElements());
    assertTrue(o.isNullAt(0));
    assertTrue(o.isNullAt(4));
    assertEquals(5, o.getStruct(2, 2).getInt(0));
    assertEquals(7, o.getStruct(2, 2).getInt(1));
  }

  @Test
  void emptyWindowAndLongWindow() {
    for (int n : new int[] {0, 1, 513}) {
      int[] ids = new int[n];
      int[] starts = new int[n];
      int[] ends = new int[n];
      for (int i = 0; i < n; i++) {
        ids[i] = 7 * i;
        starts[i] = i % 11 == 0 ? -1 : i;
        ends[i] = i % 11 == 0 ? -1 : i + 1;
      }
      Aligner.Window w = new Aligner.Window(0, ids, ids.clone(), starts, ends);
      InternalRow mine = FeatureTables.toInternalRow("d", w);
      Object[] offsets = new Object[n];
      for (int i = 0; i < n; i++) {
        offsets[i] =
            starts[i] < 0 ? null : new GenericInternalRow(new Object[] {starts[i], ends[i]});
      }
      UnsafeRow spark =
          UnsafeProjection.create(FeatureTables.FEATURES)
              .apply(
                  new GenericInternalRow(
                      new Object[] {
                        UTF8String.fromString("d"),
                        0,
                        ArrayData.toArrayData(ids),
                        ArrayData.toArrayData(ids.clone()),
                        new GenericArrayData(offsets)
                      }));
      assertArrayEquals(
          spark.getBytes(), ((UnsafeRow) mine).getBytes(), "window of " + n + " tokens");
    }
  }
}
