package io.sparkner.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.BadRecordException;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.TypeMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every quarantine reason, from crafted files, through the real Spark job. */
class QuarantineTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static PrepareSummary summary;
  static Path out;

  static final String STOCKMARK =
      "[\n"
          + "{\"curid\":\"1\",\"text\":\"松友美佐紀は、日本のバドミントン選手。\",\"entities\":[{\"name\":\"松友美佐紀\",\"span\":[0,5],\"type\":\"人名\"}]},\n"
          + "{\"curid\":\"2\",\"text\":\"壊れた\",\"entities\":[{\"name\":\"壊\",\"span\":[0,1],\"type\":\"人名\"]},\n" // malformed_json
          + "{\"curid\":\"3\",\"entities\":[]},\n" // missing_field: text
          + "{\"curid\":\"4\",\"text\":\"短い\",\"entities\":[{\"name\":\"短い\",\"span\":[0,9],\"type\":\"地名\"}]},\n" // span_out_of_range
          + "{\"curid\":\"5\",\"text\":\"逆さま\",\"entities\":[{\"name\":\"\",\"span\":[2,1],\"type\":\"地名\"}]},\n" // span_reversed
          + "{\"curid\":\"6\",\"text\":\"東京と大阪\",\"entities\":[{\"name\":\"京都\",\"span\":[0,2],\"type\":\"地名\"}]},\n" // name_mismatch
          + "{\"curid\":\"7\",\"text\":\"東京都庁\",\"entities\":[{\"name\":\"東京都\",\"span\":[0,3],\"type\":\"地名\"},{\"name\":\"都庁\",\"span\":[2,4],\"type\":\"施設名\"}]},\n" // overlapping_entities
          + "{\"curid\":\"8\",\"text\":\"東京\",\"entities\":[{\"name\":\"東京\",\"span\":[0,2],\"type\":\"都市名\"}]},\n" // unknown_type
          + "{\"curid\":\"9\",\"text\":\"  \",\"entities\":[]},\n" // empty_text
          + "{\"curid\":\"1\",\"text\":\"😀の後の日本。\",\"entities\":[{\"name\":\"日本\",\"span\":[4,6],\"type\":\"地名\"}]}\n"
          + "]\n";

  static final String PANX =
      "東\tB-LOC\n京\tI-LOC\n\n" // fine
          + "東\tB-LOC\n京\n\n" // bad_conll_line: no tag
          + "大\tB-LOC\n阪\tX-LOC\n\n" // bad_conll_line: bad tag
          + "パ\tB-LOC\nリ\tI-LOC\n";

  static final String JSONL =
      "{\"id\":\"j1\",\"text\":\"Berlin\",\"entities\":[{\"start\":0,\"end\":6,\"type\":\"LOC\"}]}\n"
          + "{\"id\":\"j2\",\"text\":\"Berlin\",\"entities\":[{\"start\":0,\"end\":6}]}\n" // missing_field: type
          + "not json at all\n"; // malformed_json

  @BeforeAll
  static void prepare() throws IOException {
    spark = TestSpark.session();
    Files.writeString(dir.resolve("ner.json"), STOCKMARK);
    Files.createDirectories(dir.resolve("panx/ja"));
    Files.writeString(dir.resolve("panx/ja/train"), PANX);
    Files.writeString(dir.resolve("x.jsonl"), JSONL);
    out = dir.resolve("out");
    summary = PrepareJob.run(spark, options(false));
  }

  static PrepareOptions options(boolean failFast) {
    return new PrepareOptions(
        List.of(
            CorpusInput.parse("stockmark:" + dir.resolve("ner.json")),
            CorpusInput.parse("panx:ja:" + dir.resolve("panx/ja")),
            CorpusInput.parse("jsonl:" + dir.resolve("x.jsonl"))),
        TestData.tokenizer("unigram").toString(),
        out.toString(),
        new ReadOptions("sparkner", TypeMap.identity(), failFast),
        LabelScheme.IOB2,
        AlignOptions.defaults(),
        true);
  }

  @Test
  void everyReasonIsCounted() {
    Map<String, Long> expected = new TreeMap<>();
    expected.put("malformed_json", 2L);
    expected.put("missing_field", 2L);
    expected.put("span_out_of_range", 1L);
    expected.put("span_reversed", 1L);
    expected.put("name_mismatch", 1L);
    expected.put("overlapping_entities", 1L);
    expected.put("unknown_type", 1L);
    expected.put("empty_text", 1L);
    expected.put("bad_conll_line", 2L);
    Map<String, Long> actual = new TreeMap<>();
    summary
        .json()
        .path("quarantined")
        .fields()
        .forEachRemaining(e -> actual.put(e.getKey(), e.getValue().asLong()));
    assertEquals(expected, actual);
  }

  @Test
  void nothingDisappears() {
    long recordsIn = 10 + 4 + 3; // records in the three files
    assertEquals(recordsIn, summary.get("records_in"));
    assertEquals(5, summary.get("documents"));
    assertEquals(12, summary.get("quarantined_total"));
    assertEquals(
        summary.get("records_in"), summary.get("documents") + summary.get("quarantined_total"));
    assertEquals(5, spark.read().parquet(out.resolve("documents").toString()).count());
    assertEquals(12, spark.read().parquet(out.resolve("quarantine").toString()).count());
  }

  @Test
  void quarantineRowsKeepTheRawRecordAndNameTheFile() {
    Dataset<Row> q = spark.read().parquet(out.resolve("quarantine").toString());
    Row mismatch = q.where("reason = 'name_mismatch'").first();
    assertEquals("6-0", mismatch.getAs("id"));
    assertTrue(((String) mismatch.getAs("raw")).contains("\"京都\""));
    assertTrue(
        ((String) mismatch.getAs("source")).endsWith("ner.json"),
        (String) mismatch.getAs("source"));
    assertTrue(
        ((String) mismatch.getAs("detail")).contains("'東京'"), (String) mismatch.getAs("detail"));
    Row bad = q.where("reason = 'bad_conll_line' and raw like '%X-LOC%'").first();
    assertEquals("panx-ja-train-2", bad.getAs("id"));
    assertTrue(((String) bad.getAs("detail")).contains("line 8"), (String) bad.getAs("detail"));
    Row notJson = q.where("raw = 'not json at all'").first();
    assertEquals("malformed_json", notJson.getAs("reason"));
  }

  @Test
  void goodRecordsAroundBadOnesAreKeptWithTheirIds() {
    List<String> ids =
        spark
            .read()
            .parquet(out.resolve("documents").toString())
            .select("id")
            .orderBy("id")
            .as(org.apache.spark.sql.Encoders.STRING())
            .collectAsList();
    // curid 1 occurs twice: 1-0 and 1-1; the malformed record between them does not shift them
    assertEquals(List.of("1-0", "1-1", "j1", "panx-ja-train-0", "panx-ja-train-3"), ids);
  }

  @Test
  void aSecondReadThatQuarantinesOtherRecordsIsAnError() {
    // what PrepareJob sees when an input file changes between its first read and the quarantine
    // write: the first read counted 11 quarantined records, the files now hold 12
    String other = dir.resolve("out-changed").toString();
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                PrepareJob.writeQuarantine(
                    spark,
                    JavaSparkContext.fromSparkContext(spark.sparkContext()),
                    options(false).inputs(),
                    options(false),
                    other,
                    11));
    assertTrue(
        e.getMessage().contains("the first read quarantined 11 records, the second 12"),
        e.getMessage());
  }

  @Test
  void failFastStopsAtTheFirstBadRecordNamingFileAndRecord() {
    BadRecordException e =
        assertThrows(BadRecordException.class, () -> PrepareJob.run(spark, options(true)));
    assertTrue(e.getMessage().contains("bad input in"), e.getMessage());
    assertTrue(
        e.getMessage().matches("(?s).*(ner\\.json|panx/ja/train|x\\.jsonl).*"), e.getMessage());
    assertTrue(e.getMessage().contains("record "), e.getMessage());
    // it stopped before writing: the complete output of the run before it is still there
    assertEquals(5, spark.read().parquet(out.resolve("documents").toString()).count());
    assertEquals(12, spark.read().parquet(out.resolve("quarantine").toString()).count());
    assertTrue(Files.exists(out.resolve("features")) && Files.exists(out.resolve("summary.json")));
  }
}
