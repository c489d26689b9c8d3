package io.sparkner.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class TableFormatTest {
  @Test
  void withoutDeltaLakeTheErrorSaysWhatToAdd() {
    ClassLoader withoutDelta = new ClassLoader(null) {}; // the JDK's classes only
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TableFormat.deltaSource(withoutDelta));
    assertTrue(
        e.getMessage().contains("Delta Lake")
            && e.getMessage().contains("delta-spark")
            && e.getMessage().contains("parquet"),
        e.getMessage());
    assertEquals(
        "delta",
        TableFormat.deltaSource(TableFormatTest.class.getClassLoader())); // a test dependency here
  }

  @Test
  void csvCannotHoldArraysStructsOrMaps() {
    StructType schema =
        new StructType()
            .add("id", DataTypes.LongType)
            .add("text", DataTypes.StringType)
            .add("entities", TaggedEntity.ARRAY)
            .add("meta", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType));
    assertEquals(List.of("entities", "meta"), TableFormat.complexColumns(schema));
    assertEquals(TableFormat.JSON, TableFormat.parse("Json"));
  }
}
