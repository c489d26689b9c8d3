package io.sparkner.score;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * One entity found in a text: its surface {@code text}, {@code type}, code-point span {@code
 * [start, end)} into the original text (as Python and Spark SQL {@code substring} count: 😀 is one)
 * and {@code score}, the mean probability the model gave the predicted tags of the entity's tokens.
 */
public record TaggedEntity(String text, String type, int start, int end, float score) {

  /** {@code struct<text:string,type:string,start:int,end:int,score:float>}. */
  public static final StructType SCHEMA =
      new StructType()
          .add("text", DataTypes.StringType, false)
          .add("type", DataTypes.StringType, false)
          .add("start", DataTypes.IntegerType, false)
          .add("end", DataTypes.IntegerType, false)
          .add("score", DataTypes.FloatType, false);

  /** The output column's type: an array of entities, null for a row that could not be scored. */
  public static final ArrayType ARRAY = DataTypes.createArrayType(SCHEMA, false);

  public Row toRow() {
    return RowFactory.create(text, type, start, end, score);
  }

  public static TaggedEntity fromRow(Row r) {
    return new TaggedEntity(
        r.getString(0), r.getString(1), r.getInt(2), r.getInt(3), r.getFloat(4));
  }
}
