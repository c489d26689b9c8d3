package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checks {@code evaluate} runs before anything is predicted, now Spark aggregations: the same
 * messages as when the split was collected to the driver, and no model loaded, no report written.
 */
class ReportChecksTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static Path panxKo;
  static List<String> ids;

  @BeforeAll
  static void corpus() {
    spark = TestSpark.session();
    panxKo =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-panx-ko"),
            TestData.tokenizer("unigram"),
            null,
            "panx:ko:" + TestData.sample("panx/ko/test"));
    ids =
        spark
            .read()
            .parquet(panxKo.resolve("documents").toString())
            .select("id")
            .orderBy("id")
            .limit(3)
            .as(org.apache.spark.sql.Encoders.STRING())
            .collectAsList();
  }

  /** A copy of the prepared corpus with its documents and features as given. */
  private static Path copy(String name, Dataset<Row> documents, Dataset<Row> features)
      throws IOException {
    Path out = dir.resolve(name);
    Files.createDirectories(out);
    for (String f : List.of("labels.json", "summary.json")) {
      Files.copy(panxKo.resolve(f), out.resolve(f));
    }
    try (Stream<Path> q = Files.walk(panxKo.resolve("quarantine"))) {
      for (Path p : q.toList()) {
        Path to = out.resolve(panxKo.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(to);
        } else {
          Files.copy(p, to);
        }
      }
    }
    documents.write().parquet(out.resolve("documents").toString());
    features.write().parquet(out.resolve("features").toString());
    return out;
  }

  private static Dataset<Row> documents() {
    return spark.read().parquet(panxKo.resolve("documents").toString());
  }

  private static Dataset<Row> features() {
    return spark.read().parquet(panxKo.resolve("features").toString());
  }

  /** Evaluates with a model no task has loaded yet; fails unless the evaluation fails. */
  private static IllegalArgumentException refused(String name, Path data, String split)
      throws IOException {
    Path model = ReportFixtures.alwaysPredicting(dir.resolve(name + "-model"), "B-ORG");
    int loads = EvaluationModels.loads();
    Path report = dir.resolve(name + "-report");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                EvaluateJob.run(
                    spark,
                    new EvaluateJob.Options(
                        model.toString(),
                        List.of(data.toString()),
                        split,
                        report.toString(),
                        8,
                        Map.of("ORG-P", "ORG", "ORG-O", "ORG"),
                        20)));
    assertEquals(loads, EvaluationModels.loads(), "no model was loaded: nothing was predicted");
    assertFalse(Files.exists(report.resolve("report.json")));
    return e;
  }

  @Test
  void tokenIdOutsideTheVocabularyNamesTheFirstDocumentInIdOrder() throws IOException {
    // the second and third documents (in id order) get an id beyond vocab_size 7997
    Dataset<Row> f = features();
    Dataset<Row> bad =
        f.withColumn(
            "input_ids",
            functions.expr(
                "transform(input_ids, (x, i) -> CASE WHEN i = 1 AND id = '"
                    + ids.get(2)
                    + "' THEN 88888 WHEN i = 2 AND id = '"
                    + ids.get(1)
                    + "' THEN 99999 ELSE x END)"));
    Path data = copy("bad-vocab", documents(), bad);
    IllegalArgumentException e = refused("bad-vocab", data, "test");
    assertEquals(
        data
            + ": document "
            + ids.get(1)
            + " has token id 99999, outside the model's vocabulary (vocab_size 7997); prepare it"
            + " with the model's tokenizer",
        e.getMessage());
  }

  @Test
  void anEmptySplitIsRefused() throws IOException {
    IllegalArgumentException e = refused("empty", panxKo, "dev");
    assertTrue(
        e.getMessage().startsWith(panxKo + " has no documents in split 'dev' (its documents per"),
        e.getMessage());
  }

  @Test
  void aDocumentWithTwoRowsIsRefused() throws IOException {
    Dataset<Row> docs = documents();
    Path data =
        copy("twice", docs.unionAll(docs.where(docs.col("id").equalTo(ids.get(0)))), features());
    IllegalArgumentException e = refused("twice", data, "test");
    assertEquals(
        data
            + ": document "
            + ids.get(0)
            + " has 2 rows in split 'test' of its documents table; each document must be evaluated"
            + " once (prepare it again)",
        e.getMessage());
  }
}
