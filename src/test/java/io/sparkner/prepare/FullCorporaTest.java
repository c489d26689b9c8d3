package io.sparkner.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestFeatures;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusTables;
import io.sparkner.corpus.Entity;
import io.sparkner.corpus.ReadOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole shared corpora (skipped with a reason where ../shared is absent). */
class FullCorporaTest {
  @TempDir Path dir;

  @Test
  void stockmarkWholeCorpusWithARealBertTokenizer() {
    Path ner = TestData.shared("data/stockmark/ner.json");
    Path bge = TestData.shared("models/bge-small-zh-v1.5");
    SparkSession spark = TestSpark.session();
    Path out = dir.resolve("stockmark");
    PrepareSummary s =
        PrepareJob.run(
            spark,
            new PrepareOptions(
                List.of(CorpusInput.parse("stockmark:" + ner)),
                bge.toString(),
                out.toString(),
                ReadOptions.defaults(),
                LabelScheme.IOB2,
                AlignOptions.defaults(),
                false));
    assertEquals(5343, s.get("records_in"));
    assertEquals(5343, s.get("documents"));
    assertEquals(0, s.get("quarantined_total"));
    assertEquals(13185, s.get("entities"));
    assertEquals(4292, s.json().path("by_split").path("train").asLong());
    assertEquals(524, s.json().path("by_split").path("validation").asLong());
    assertEquals(527, s.json().path("by_split").path("test").asLong());
    List<Row> docs = spark.read().parquet(out.resolve("documents").toString()).collectAsList();
    Set<String> ids = new HashSet<>();
    docs.forEach(r -> ids.add(r.getAs("id")));
    assertEquals(5343, ids.size());

    // every entity comes back from the feature labels at its exact span, except those reported
    // as misaligned (a boundary inside a subword)
    Labels labels = Labels.fromJson(readString(out.resolve("labels.json")));
    Map<String, List<Entity>> decoded = TestFeatures.decode(spark, out, labels);
    long exact = 0;
    long total = 0;
    for (Row d : docs) {
      Set<Entity> back = new HashSet<>(decoded.get((String) d.getAs("id")));
      for (Entity e : CorpusTables.entities(d)) {
        total++;
        if (back.contains(e)) {
          exact++;
        }
      }
    }
    assertEquals(13185, total);
    assertEquals(total - s.get("entities_misaligned"), exact);
    System.out.printf(
        "stockmark + bge-small-zh tokenizer: %d of %d entities misaligned (%.2f%%), %d windows%n",
        s.get("entities_misaligned"),
        total,
        100.0 * s.get("entities_misaligned") / total,
        s.get("windows"));
  }

  @Test
  void panxFiveLanguagesInOneRun() throws IOException {
    Path panx = TestData.shared("data/panx");
    Path bge = TestData.shared("models/bge-small-zh-v1.5");
    List<String> langs = List.of("ja", "ko", "zh", "en", "de");
    List<CorpusInput> inputs = new ArrayList<>();
    long expectedB = 0;
    long expectedRepairs = 0;
    for (String lang : langs) {
      inputs.add(CorpusInput.parse("panx:" + lang + ":" + panx.resolve(lang)));
      for (String split : List.of("train", "dev", "test")) {
        long[] counts = countTags(panx.resolve(lang).resolve(split));
        expectedB += counts[0];
        expectedRepairs += counts[1];
      }
    }
    SparkSession spark = TestSpark.session();
    PrepareSummary s =
        PrepareJob.run(
            spark,
            new PrepareOptions(
                inputs,
                bge.resolve("tokenizer.json").toString(),
                dir.resolve("panx").toString(),
                ReadOptions.defaults(),
                LabelScheme.IOB2,
                AlignOptions.defaults(),
                false));
    assertEquals(0, s.get("quarantined_total"));
    assertEquals(5 * 40000, s.get("records_in"));
    for (String lang : langs) {
      var m = s.json().path("by_lang").path(lang);
      assertEquals(20000, m.path("train").asLong(), lang);
      assertEquals(10000, m.path("validation").asLong(), lang);
      assertEquals(10000, m.path("test").asLong(), lang);
    }
    assertEquals(expectedRepairs, s.get("iob_repairs"));
    assertEquals(expectedB + expectedRepairs, s.get("entities"));
    assertTrue(expectedRepairs > 0, "ja and zh carry I- after O");
    System.out.printf(
        "PAN-X ja/ko/zh/en/de: %d sentences, %d entities (%d B- tags + %d I- starts repaired), %d"
            + " misaligned%n",
        s.get("documents"),
        s.get("entities"),
        expectedB,
        expectedRepairs,
        s.get("entities_misaligned"));
  }

  /** B- tags, and I- tags that start an entity (after O, another type, or at sentence start). */
  static long[] countTags(Path file) throws IOException {
    long b = 0;
    long repairs = 0;
    String prevType = null;
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) {
        prevType = null;
        continue;
      }
      String tag = line.substring(line.lastIndexOf('\t') + 1).strip();
      if (tag.startsWith("B-")) {
        b++;
        prevType = tag.substring(2);
      } else if (tag.startsWith("I-")) {
        if (!tag.substring(2).equals(prevType)) {
          repairs++;
        }
        prevType = tag.substring(2);
      } else {
        prevType = null;
      }
    }
    return new long[] {b, repairs};
  }

  static String readString(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
