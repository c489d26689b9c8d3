package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestSpark;
import io.sparkner.corpus.CodePoints;
import io.sparkner.score.ScoreFixtures;
import io.sparkner.score.TaggedEntity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sparkner score} as a user runs it: each input and output format, the summary, the errors.
 */
class ScoreCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String[] TEXTS = {
    "山田太郎は東京都の株式会社サンプルに勤めている。", "😀𠮷 大阪府にある国立大学。", "", "トヨタ自動車は愛知県豊田市に本社を置く。",
  };

  @TempDir static Path dir;
  static String model;

  @BeforeAll
  static void model() {
    model = ScoreFixtures.trained().toString();
  }

  static SparkSession spark() {
    return TestSpark.session();
  }

  static PrepareCommandTest.Run score(String... args) {
    List<String> all = new ArrayList<>(List.of("score", "--model", model));
    all.addAll(List.of(args));
    return PrepareCommandTest.run(all.toArray(new String[0]));
  }

  static JsonNode summary(Path output) throws IOException {
    return JSON.readTree(output.resolve("_summary.json").toFile());
  }

  /** Every entity's [start, end) in code points of its row's text is its text. */
  static int checkOffsets(String text, List<TaggedEntity> entities) {
    CodePoints cps = new CodePoints(text);
    for (TaggedEntity e : entities) {
      assertEquals(cps.substring(e.start(), e.end()), e.text(), text);
    }
    return entities.size();
  }

  @Test
  void parquetInKeepsEveryColumnAndWritesParquetWithASummary() throws IOException {
    StructType schema =
        new StructType()
            .add("id", DataTypes.LongType)
            .add("body", DataTypes.StringType)
            .add("tags", DataTypes.createArrayType(DataTypes.StringType));
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      rows.add(
          RowFactory.create(
              (long) i, i == 5 ? null : TEXTS[i % TEXTS.length], new String[] {"t" + i}));
    }
    Path in = dir.resolve("in.parquet");
    spark().createDataFrame(rows, schema).coalesce(1).write().parquet(in.toString());
    Path out = dir.resolve("out-parquet");
    PrepareCommandTest.Run r =
        score(
            "--input",
            in.toString(),
            "--text-col",
            "body",
            "--output",
            out.toString(),
            "--batch-size",
            "8");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("rows/s") && r.out().contains("unscorable"), r.out());

    Dataset<Row> scored = spark().read().parquet(out.toString());
    assertEquals(List.of("id", "body", "tags", "entities"), List.of(scored.columns()));
    // (Parquet reads every field back as nullable)
    assertEquals(
        "array<struct<text:string,type:string,start:int,end:int,score:float>>",
        scored.schema().apply("entities").dataType().simpleString());
    int entities = 0;
    for (Row row : scored.collectAsList()) {
      long id = row.getLong(0);
      assertEquals("t" + id, row.getList(2).get(0));
      List<Row> e = row.getList(3);
      if (row.isNullAt(1) || row.getString(1).isEmpty()) {
        assertEquals(0, e.size());
        continue;
      }
      entities += checkOffsets(row.getString(1), e.stream().map(TaggedEntity::fromRow).toList());
    }
    JsonNode s = summary(out);
    assertEquals(40, s.path("rows").asLong());
    assertEquals(11, s.path("empty").asLong()); // ten "" rows, and row 5 is null
    assertEquals(29, s.path("scored").asLong());
    assertEquals(0, s.path("unscorable_total").asLong());
    assertEquals(entities, s.path("entities").asLong());
    assertTrue(entities > 0, "the trained model finds entities");
  }

  @Test
  void jsonLinesInJsonLinesOutWithAnUnscorableRowCounted() throws IOException {
    Path in = dir.resolve("in.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < TEXTS.length; i++) {
      lines.add(JSON.createObjectNode().put("doc", "d" + i).put("text", TEXTS[i]).toString());
    }
    lines.add("{\"doc\": \"no-text\"}");
    lines.add(JSON.createObjectNode().put("doc", "long").put("text", "長".repeat(300)).toString());
    Files.write(in, lines, StandardCharsets.UTF_8);
    Path out = dir.resolve("out-json");
    PrepareCommandTest.Run r =
        score(
            "--input",
            in.toString(),
            "--format",
            "json",
            "--output",
            out.toString(),
            "--output-format",
            "json",
            "--max-chars",
            "200");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("text_longer_than_max_chars"), r.out());
    Map<String, JsonNode> byDoc = new TreeMap<>();
    try (var files = Files.list(out)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
          JsonNode n = JSON.readTree(line);
          byDoc.put(n.path("doc").asText(), n);
        }
      }
    }
    assertEquals(6, byDoc.size());
    assertTrue(
        byDoc.get("long").path("entities").isMissingNode(),
        "an unscorable row's entities are null: " + byDoc.get("long"));
    assertEquals(0, byDoc.get("no-text").path("entities").size());
    assertTrue(byDoc.get("d0").path("entities").isArray());
    for (int i = 0; i < TEXTS.length; i++) {
      List<TaggedEntity> es = new ArrayList<>();
      for (JsonNode e : byDoc.get("d" + i).path("entities")) {
        es.add(
            new TaggedEntity(
                e.path("text").asText(),
                e.path("type").asText(),
                e.path("start").asInt(),
                e.path("end").asInt(),
                (float) e.path("score").asDouble()));
      }
      checkOffsets(TEXTS[i], es);
    }
    JsonNode s = summary(out);
    assertEquals(6, s.path("rows").asLong());
    assertEquals(1, s.path("unscorable").path("text_longer_than_max_chars").asLong());
    assertEquals(
        s.path("rows").asLong(),
        s.path("scored").asLong() + s.path("empty").asLong() + s.path("unscorable_total").asLong());
  }

  @Test
  void csvInCsvOutHoldsTheEntitiesAsAJsonString() throws IOException {
    Path in = dir.resolve("in.csv");
    String csv =
        "id,text\n"
            + "1,\""
            + TEXTS[0]
            + "\"\n"
            + "2,\"二行の\n文章で「\"\"引用\"\"」も含む。東京都。\"\n"
            + "3,"
            + TEXTS[3]
            + "\n";
    Files.writeString(in, csv, StandardCharsets.UTF_8);
    Path out = dir.resolve("out-csv");
    PrepareCommandTest.Run r =
        score(
            "--input",
            in.toString(),
            "--format",
            "csv",
            "--output",
            out.toString(),
            "--output-format",
            "csv");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("JSON strings: [entities]"), r.out());
    List<Row> rows =
        spark()
            .read()
            .option("header", true)
            .option("multiLine", true)
            .option("escape", "\"")
            .csv(out.toString())
            .orderBy("id")
            .collectAsList();
    assertEquals(3, rows.size());
    assertEquals("二行の\n文章で「\"引用\"」も含む。東京都。", rows.get(1).getString(1));
    for (Row row : rows) {
      JsonNode entities = JSON.readTree(row.getString(2));
      assertTrue(entities.isArray(), row.toString());
      List<TaggedEntity> es = new ArrayList<>();
      entities.forEach(
          e ->
              es.add(
                  new TaggedEntity(
                      e.path("text").asText(),
                      e.path("type").asText(),
                      e.path("start").asInt(),
                      e.path("end").asInt(),
                      1f)));
      checkOffsets(row.getString(1), es);
    }
  }

  @Test
  void textLinesInAndDeltaOut() throws IOException {
    Path in = dir.resolve("in.txt");
    Files.writeString(in, String.join("\n", TEXTS) + "\n", StandardCharsets.UTF_8);
    Path out = dir.resolve("out-delta");
    Path again = dir.resolve("out-from-delta");
    withDeltaSession(
        delta -> {
          PrepareCommandTest.Run r =
              score(
                  "--input",
                  in.toString(),
                  "--format",
                  "text",
                  "--output",
                  out.toString(),
                  "--output-format",
                  "delta");
          assertEquals(0, r.code(), r.err() + r.out());
          Dataset<Row> scored = delta.read().format("delta").load(out.toString());
          assertEquals(List.of("text", "entities"), List.of(scored.columns()));
          assertEquals(TEXTS.length, scored.count());
          // and read back as input: delta in, parquet out
          PrepareCommandTest.Run r2 =
              score(
                  "--input",
                  out.toString(),
                  "--format",
                  "delta",
                  "--output",
                  again.toString(),
                  "--output-col",
                  "entities2");
          assertEquals(0, r2.code(), r2.err() + r2.out());
        });
    assertEquals(TEXTS.length, summary(out).path("rows").asLong());
    assertEquals(
        List.of("text", "entities", "entities2"),
        List.of(spark().read().parquet(again.toString()).columns()));
  }

  /**
   * Runs with a session configured for Delta Lake (its SQL extension and catalog, as Databricks has
   * them) on the tests' SparkContext, then restores the tests' session: the CLI takes the default
   * session.
   */
  static void withDeltaSession(java.util.function.Consumer<SparkSession> body) {
    SparkSession tests = spark();
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
    try {
      SparkSession delta =
          SparkSession.builder()
              .withExtensions(new io.delta.sql.DeltaSparkSessionExtension())
              .config(
                  "spark.sql.catalog.spark_catalog",
                  "org.apache.spark.sql.delta.catalog.DeltaCatalog")
              .getOrCreate();
      body.accept(delta);
    } finally {
      SparkSession.setDefaultSession(tests);
      SparkSession.setActiveSession(tests);
    }
  }

  @Test
  void errorsNameTheColumnThePathAndTheWayOut() throws IOException {
    Path in = dir.resolve("errors.jsonl");
    Files.writeString(in, "{\"id\": 1, \"body\": \"東京\"}\n", StandardCharsets.UTF_8);
    PrepareCommandTest.Run missing =
        score(
            "--input", in.toString(), "--format", "json", "--output", dir.resolve("e1").toString());
    assertEquals(1, missing.code());
    assertTrue(
        missing.err().contains("no column 'text'")
            && missing.err().contains("[body, id]")
            && missing.err().contains("--text-col"),
        missing.err());

    PrepareCommandTest.Run notString =
        score(
            "--input",
            in.toString(),
            "--format",
            "json",
            "--text-col",
            "id",
            "--output",
            dir.resolve("e2").toString());
    assertEquals(1, notString.code());
    assertTrue(
        notString.err().contains("'id'") && notString.err().contains("bigint"), notString.err());

    Path exists = Files.createDirectories(dir.resolve("exists"));
    PrepareCommandTest.Run taken =
        score(
            "--input",
            in.toString(),
            "--format",
            "json",
            "--text-col",
            "body",
            "--output",
            exists.toString());
    assertEquals(1, taken.code());
    assertTrue(
        taken.err().contains("already exists") && taken.err().contains("--overwrite"), taken.err());
    PrepareCommandTest.Run overwritten =
        score(
            "--input",
            in.toString(),
            "--format",
            "json",
            "--text-col",
            "body",
            "--output",
            exists.toString(),
            "--overwrite");
    assertEquals(0, overwritten.code(), overwritten.err());

    PrepareCommandTest.Run badFormat =
        score(
            "--input", in.toString(), "--format", "xml", "--output", dir.resolve("e3").toString());
    assertEquals(2, badFormat.code());
    assertTrue(
        badFormat.err().contains("'xml'")
            && badFormat.err().contains("parquet, delta, csv, json or text"),
        badFormat.err());

    PrepareCommandTest.Run noModel =
        PrepareCommandTest.run(
            "score",
            "--model",
            dir.resolve("nowhere").toString(),
            "--input",
            in.toString(),
            "--format",
            "json",
            "--text-col",
            "body",
            "--output",
            dir.resolve("e4").toString());
    assertEquals(2, noModel.code());
    assertTrue(
        noModel.err().contains("config.json") && noModel.err().contains("nowhere"), noModel.err());
  }
}
