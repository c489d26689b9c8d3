package io.sparkner.corpus;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The {@code documents} and {@code quarantine} tables: schemas and row conversion. */
public final class CorpusTables {
  private CorpusTables() {}

  public static final StructType ENTITY =
      new StructType()
          .add("start", DataTypes.IntegerType, false)
          .add("end", DataTypes.IntegerType, false)
          .add("type", DataTypes.StringType, false);

  public static final StructType DOCUMENTS =
      new StructType()
          .add("id", DataTypes.StringType, false)
          .add("lang", DataTypes.StringType, false)
          .add("source", DataTypes.StringType, false)
          .add("split", DataTypes.StringType, false)
          .add("text", DataTypes.StringType, false)
          .add("entities", DataTypes.createArrayType(ENTITY, false), false);

  public static final StructType QUARANTINE =
      new StructType()
          .add("id", DataTypes.StringType, false)
          .add("source", DataTypes.StringType, false)
          .add("raw", DataTypes.StringType, false)
          .add("reason", DataTypes.StringType, false)
          .add("detail", DataTypes.StringType, true);

  public static Row toRow(Document d) {
    Row[] ents = new Row[d.entities().size()];
    for (int i = 0; i < ents.length; i++) {
      Entity e = d.entities().get(i);
      ents[i] = RowFactory.create(e.start(), e.end(), e.type());
    }
    return RowFactory.create(d.id(), d.lang(), d.source(), d.split(), d.text(), ents);
  }

  public static Row toRow(Quarantined q) {
    return RowFactory.create(q.id(), q.source(), q.raw(), q.reason(), q.detail());
  }

  /** The entities of a {@code documents} row. */
  public static List<Entity> entities(Row documentRow) {
    List<Row> rows = documentRow.getList(documentRow.fieldIndex("entities"));
    List<Entity> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(new Entity(r.getInt(0), r.getInt(1), r.getString(2)));
    }
    return out;
  }
}
