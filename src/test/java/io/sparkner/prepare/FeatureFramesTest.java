package io.sparkner.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prepare's two ways of handing feature rows to Spark: Spark's Catalyst-row entry point, found on
 * the session's runtime class (SparkSession on 3.5, classic.SparkSession on 4), and the public
 * createDataFrame with external Rows. Both must write the same features table, byte for byte.
 */
class FeatureFramesTest {
  @TempDir Path dir;

  @Test
  void theFastPathIsFoundOnThisSparksSession() {
    SparkSession spark = TestSpark.session();
    assertTrue(
        FeatureFrames.of(spark).catalyst(),
        "internalCreateDataFrame not found on "
            + spark.getClass().getName()
            + " (Spark "
            + spark.version()
            + ")");
    assertFalse(FeatureFrames.publicApi().catalyst());
  }

  @Test
  void publicApiWritesTheSameFeatureFilesAsTheFastPath() throws IOException {
    SparkSession spark = TestSpark.session();
    Path fast = prepare(spark, "fast", FeatureFrames.of(spark));
    Path plain = prepare(spark, "public", FeatureFrames.publicApi());
    TreeMap<String, byte[]> a = parquetFiles(fast.resolve("features"));
    TreeMap<String, byte[]> b = parquetFiles(plain.resolve("features"));
    assertFalse(a.isEmpty());
    assertEquals(a.keySet(), b.keySet());
    for (String name : a.keySet()) {
      assertArrayEquals(a.get(name), b.get(name), name);
    }
    assertEquals(
        Files.readString(fast.resolve("labels.json")),
        Files.readString(plain.resolve("labels.json")));
    assertEquals(
        spark.read().parquet(fast.resolve("features").toString()).count(),
        spark.read().parquet(plain.resolve("features").toString()).count());
  }

  private Path prepare(SparkSession spark, String name, FeatureFrames frames) {
    Path out = dir.resolve(name);
    PrepareJob.run(
        spark,
        new PrepareOptions(
            List.of(
                CorpusInput.parse("stockmark:" + TestData.sample("stockmark/ner.json")),
                CorpusInput.parse("panx:" + TestData.sample("panx") + "/*")),
            TestData.tokenizer("wordpiece").getParent().toString(),
            out.toString(),
            ReadOptions.defaults(),
            LabelScheme.IOB2,
            AlignOptions.defaults(),
            false),
        frames);
    return out;
  }

  /**
   * The table's data files by name without the write's unique job id (part number and extension).
   */
  private static TreeMap<String, byte[]> parquetFiles(Path table) throws IOException {
    TreeMap<String, byte[]> files = new TreeMap<>();
    try (Stream<Path> s = Files.list(table)) {
      for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".parquet")).toList()) {
        String n = p.getFileName().toString();
        files.put(n.substring(0, n.indexOf('-', "part-".length())), Files.readAllBytes(p));
      }
    }
    return files;
  }
}
