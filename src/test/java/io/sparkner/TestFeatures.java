package io.sparkner;

import io.sparkner.align.Labels;
import io.sparkner.align.SpanDecoder;
import io.sparkner.corpus.Entity;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads a prepared {@code features} table back into entities, for round-trip checks. */
public final class TestFeatures {
  private TestFeatures() {}

  /** Each document's entities decoded from its feature windows, each token counted once. */
  public static Map<String, List<Entity>> decode(SparkSession spark, Path out, Labels labels) {
    Map<String, TreeMap<Long, int[]>> tokens = new HashMap<>();
    for (Row r : spark.read().parquet(out.resolve("features").toString()).collectAsList()) {
      List<Integer> lab = r.getList(r.fieldIndex("labels"));
      List<Row> off = r.getList(r.fieldIndex("offsets"));
      TreeMap<Long, int[]> byStart = tokens.computeIfAbsent(r.getAs("id"), k -> new TreeMap<>());
      for (int i = 0; i < lab.size(); i++) {
        Row o = off.get(i);
        if (o != null) {
          // several tokens may share a start only when empty (bare ▁): key by start and end
          byStart.put(
              ((long) o.getInt(0) << 32) | o.getInt(1),
              new int[] {lab.get(i), o.getInt(0), o.getInt(1)});
        }
      }
    }
    Map<String, List<Entity>> out2 = new HashMap<>();
    tokens.forEach(
        (id, m) -> {
          int n = m.size();
          int[] l = new int[n];
          int[] s = new int[n];
          int[] e = new int[n];
          int i = 0;
          for (int[] t : m.values()) {
            l[i] = t[0];
            s[i] = t[1];
            e[i++] = t[2];
          }
          out2.put(id, SpanDecoder.decode(l, s, e, labels));
        });
    return out2;
  }
}
