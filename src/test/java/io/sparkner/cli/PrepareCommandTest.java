package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusTables;
import io.sparkner.corpus.Entity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sparkner prepare} as a user runs it, on the bundled sample. */
class PrepareCommandTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    TestAccess.Cli c = TestAccess.cli(args);
    return new Run(c.code(), c.out(), c.err());
  }

  @Test
  void bundledSampleAllLanguagesWithTheBertShapedTokenizer() throws IOException {
    Path out = dir.resolve("prepared");
    String[] args = {
      "prepare",
      "--input",
      "stockmark:" + TestData.sample("stockmark/ner.json"),
      "--input",
      "panx:" + TestData.sample("panx") + "/*",
      "--tokenizer",
      TestData.tokenizer("wordpiece").getParent().toString(),
      "--output",
      out.toString(),
      "--type-map",
      "ORG-P=ORG,ORG-O=ORG"
    };
    Run r = run(args);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("records in"), r.out());

    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    assertEquals(600 + 5 * 500, summary.path("records_in").asLong());
    assertEquals(0, summary.path("quarantined_total").asLong());
    for (String lang : List.of("ko", "zh", "en", "de")) {
      assertEquals(300, summary.path("by_lang").path(lang).path("train").asLong(), lang);
      assertEquals(100, summary.path("by_lang").path(lang).path("validation").asLong(), lang);
      assertEquals(100, summary.path("by_lang").path(lang).path("test").asLong(), lang);
    }
    assertEquals(
        600 + 500,
        summary.path("by_lang").path("ja").path("train").asLong()
            + summary.path("by_lang").path("ja").path("validation").asLong()
            + summary.path("by_lang").path("ja").path("test").asLong());
    assertTrue(
        summary.path("entities_by_type").path("ORG-P").isMissingNode(), "ORG-P was mapped to ORG");

    Labels labels = Labels.fromJson(Files.readString(out.resolve("labels.json")));
    assertEquals(
        List.of(
            "O", "B-EVT", "I-EVT", "B-INS", "I-INS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER",
            "I-PER", "B-PRD", "I-PRD"),
        labels.labels());

    SparkSession spark = TestSpark.session();
    StructType features = spark.read().parquet(out.resolve("features").toString()).schema();
    assertEquals(
        List.of("id", "window", "input_ids", "labels", "offsets"), List.of(features.fieldNames()));

    // spans -> labels -> spans: every entity not reported as misaligned comes back exactly
    Map<String, List<Entity>> decoded = io.sparkner.TestFeatures.decode(spark, out, labels);
    long total = 0;
    long exact = 0;
    for (Row d : spark.read().parquet(out.resolve("documents").toString()).collectAsList()) {
      Set<Entity> back = new HashSet<>(decoded.get((String) d.getAs("id")));
      for (Entity e : CorpusTables.entities(d)) {
        total++;
        exact += back.contains(e) ? 1 : 0;
      }
    }
    assertEquals(summary.path("entities").asLong(), total);
    assertEquals(total - summary.path("entities_misaligned").asLong(), exact);

    // the same output again is refused without --overwrite, naming the path
    Run again = run(args);
    assertEquals(2, again.code());
    assertTrue(again.err().contains("exists") && again.err().contains("--overwrite"), again.err());
  }

  @Test
  void failFastIsAnErrorNamingFileAndRecord() throws IOException {
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(
        bad,
        "{\"id\":\"ok\",\"text\":\"Berlin\",\"entities\":[]}\n"
            + "{\"id\":\"r2\",\"text\":\"\",\"entities\":[]}\n");
    Run r =
        run(
            "prepare",
            "--input",
            "jsonl:en:" + bad,
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--output",
            dir.resolve("o").toString(),
            "--fail-fast");
    assertEquals(1, r.code());
    assertTrue(
        r.err().contains("bad.jsonl")
            && r.err().contains("record r2")
            && r.err().contains("empty_text"),
        r.err());
    // no half output left behind: the fixed input runs again without --overwrite
    assertFalse(Files.exists(dir.resolve("o")), "output directory left after a failed run");
  }

  @Test
  void badArgumentsAreExplained() {
    Run r = run("prepare", "--input", "conllu:x", "--tokenizer", "t", "--output", "o");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("unknown kind 'conllu'"), r.err());
    r =
        run(
            "prepare",
            "--input",
            "stockmark:" + TestData.sample("stockmark/ner.json"),
            "--tokenizer",
            dir.resolve("none").toString(),
            "--output",
            dir.resolve("o2").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("no tokenizer.json at"), r.err());
  }
}
