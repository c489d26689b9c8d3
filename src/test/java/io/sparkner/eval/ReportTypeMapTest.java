package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with Stockmark labels evaluated on PAN-X-labelled corpora with {@code --type-map
 * ORG-P=ORG,ORG-O=ORG}: what is mapped, what is dropped, and that the figures live in the corpus'
 * label space. The models predict one fixed label for every token (see {@link
 * ReportFixtures#alwaysPredicting}), so the expected counts are exact.
 */
class ReportTypeMapTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static Path panxLabelled;
  static Path panxKo;
  static Path alwaysOrgP;
  static Path alwaysIns;

  private static final Map<String, String> TYPE_MAP = Map.of("ORG-P", "ORG", "ORG-O", "ORG");

  @BeforeAll
  static void corporaAndModels() throws IOException {
    spark = TestSpark.session();
    // two PAN-X-labelled documents whose text is exactly one entity / starts with one
    Path file =
        ReportFixtures.jsonl(
            dir.resolve("corpus/panx-like.jsonl"),
            "{\"id\": \"org-1\", \"lang\": \"ja\", \"split\": \"test\", \"text\": \"国際連合\","
                + " \"entities\": [{\"start\": 0, \"end\": 4, \"type\": \"ORG\"}]}",
            "{\"id\": \"loc-1\", \"lang\": \"ja\", \"split\": \"test\", \"text\": \"東京に行く\","
                + " \"entities\": [{\"start\": 0, \"end\": 2, \"type\": \"LOC\"}]}");
    panxLabelled =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-panx-like"),
            TestData.tokenizer("unigram"),
            List.of("LOC", "ORG", "PER"),
            "jsonl:" + file);
    panxKo =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-panx-ko"),
            TestData.tokenizer("unigram"),
            null,
            "panx:ko:" + TestData.sample("panx/ko/test"));
    alwaysOrgP = ReportFixtures.alwaysPredicting(dir.resolve("always-org-p"), "I-ORG-P");
    alwaysIns = ReportFixtures.alwaysPredicting(dir.resolve("always-ins"), "I-INS");
  }

  private static ObjectNode evaluate(
      Path model, String report, Map<String, String> typeMap, Path... data) {
    List<String> paths = new ArrayList<>();
    for (Path d : data) {
      paths.add(d.toString());
    }
    return EvaluateJob.run(
        spark,
        new EvaluateJob.Options(
            model.toString(), paths, "test", dir.resolve(report).toString(), 8, typeMap, 20));
  }

  @Test
  void predictedOrgPCountsAsOrgAndStockmarkOnlyTypesAreDropped() {
    ObjectNode r = evaluate(alwaysOrgP, "report-org-p", TYPE_MAP, panxLabelled, panxKo);
    JsonNode first = r.path("datasets").path(0);
    JsonNode mapping = first.path("label_mapping");
    assertEquals(false, mapping.path("identity").asBoolean());
    assertEquals("ORG", mapping.path("mapped").path("ORG-P").asText());
    assertEquals("ORG", mapping.path("mapped").path("ORG-O").asText());
    assertEquals(2, mapping.path("mapped").size());
    assertEquals(List.of("EVT", "INS", "PRD"), texts(mapping.path("dropped")));
    assertEquals(List.of("LOC", "ORG", "PER"), texts(mapping.path("kept")));
    assertEquals(0, mapping.path("not_predicted").size());

    // every token is I-ORG-P, read as I-ORG: one ORG entity over each whole text
    JsonNode org = first.path("seqeval_default").path("per_type").path("ORG");
    assertEquals(1, org.path("correct").asLong(), "国際連合 is an ORG and predicted as ORG-P → ORG");
    assertEquals(2, org.path("predicted").asLong());
    assertEquals(1, org.path("support").asLong());
    assertEquals(0.5, org.path("precision").asDouble());
    assertEquals(1.0, org.path("recall").asDouble());
    JsonNode loc = first.path("seqeval_default").path("per_type").path("LOC");
    assertEquals(1, loc.path("support").asLong());
    assertEquals(0, loc.path("correct").asLong());
    assertTrue(
        !first.path("seqeval_default").path("per_type").has("ORG-P"),
        "no ORG-P in the corpus' label space");
    // strict IOB2: an I-ORG that starts nothing is no entity
    assertEquals(0, first.path("seqeval_strict").path("micro").path("predicted").asLong());

    // the token confusion is in the corpus' types: every token predicted ORG, never ORG-P
    JsonNode tokens = first.path("tokens");
    List<String> types = texts(tokens.path("types"));
    assertEquals(List.of("LOC", "ORG", "O"), types);
    int orgColumn = types.indexOf("ORG");
    long total = 0;
    for (int g = 0; g < types.size(); g++) {
      for (int p = 0; p < types.size(); p++) {
        long n = tokens.path("matrix").path(g).path(p).asLong();
        total += n;
        if (p != orgColumn) {
          assertEquals(0, n, "gold " + types.get(g) + " predicted " + types.get(p));
        }
      }
    }
    assertEquals(tokens.path("tokens").asLong(), total);

    // the merged report: both corpora, both languages, the mapping summary, an 'unknown' matrix row
    assertEquals(2, r.path("datasets").size());
    assertEquals(List.of("ja", "ko"), texts(r.path("crosslingual").path("columns")));
    assertEquals("unknown", r.path("crosslingual").path("rows").path(0).path("name").asText());
    assertEquals(List.of("EVT", "INS", "PRD"), texts(r.path("label_mapping").path("dropped")));
    assertEquals(
        r.path("datasets").path(0).path("documents").asLong()
            + r.path("datasets").path(1).path("documents").asLong(),
        r.path("documents").asLong());
    assertEquals(r.path("documents").asLong(), r.path("seqeval_default").path("items").asLong());
    String notes = r.path("notes").toString();
    assertTrue(
        notes.contains("ORG-P\u2192ORG")
            && notes.contains("EVT, INS, PRD")
            && notes.contains("unknown"),
        notes);
    assertEquals("match", first.path("tokenizer").path("status").asText());
  }

  @Test
  void predictionsOfDroppedTypesAreCountedNotScored() {
    ObjectNode r = evaluate(alwaysIns, "report-ins", TYPE_MAP, panxLabelled);
    JsonNode first = r.path("datasets").path(0);
    assertEquals(0, first.path("seqeval_default").path("micro").path("predicted").asLong());
    assertEquals(
        2,
        first.path("label_mapping").path("dropped_predictions").path("INS").asLong(),
        "one INS entity over each of the 2 texts");
    assertEquals(2, r.path("label_mapping").path("dropped_predictions").path("INS").asLong());
    int shown = 0;
    for (JsonNode e : r.path("examples")) {
      shown += e.path("dropped").size();
      e.path("dropped").forEach(d -> assertEquals("INS", d.path("type").asText()));
    }
    assertEquals(2, shown, r.path("examples").toString());
  }

  @Test
  void aTypeMapKeyTheModelCannotPredictIsAnError() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> evaluate(alwaysOrgP, "report-typo", Map.of("ORG-Q", "ORG"), panxLabelled));
    assertTrue(
        e.getMessage().contains("ORG-Q") && e.getMessage().contains("ORG-P"), e.getMessage());
  }

  @Test
  void aCorpusPreparedWithAnotherTokenizerIsRefused() {
    Path other =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-wordpiece"),
            TestData.tokenizer("wordpiece"),
            null,
            "panx:ko:" + TestData.sample("panx/ko/test"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> evaluate(alwaysOrgP, "report-tok", TYPE_MAP, other));
    assertTrue(
        e.getMessage().contains("prepared with tokenizer")
            && e.getMessage().contains("--tokenizer "),
        e.getMessage());
    assertTrue(
        e.getMessage().contains(TestData.tokenizer("wordpiece").getParent().toString()),
        e.getMessage());
  }

  @Test
  void aLanguageInTwoCorporaIsOneMatrixColumnAndTheNoteSaysItPoolsThem() throws IOException {
    Path file =
        ReportFixtures.jsonl(
            dir.resolve("corpus/ja-other.jsonl"),
            "{\"id\": \"other-1\", \"lang\": \"ja\", \"split\": \"test\", \"text\":"
                + " \"大阪に行く\", \"entities\": [{\"start\": 0, \"end\": 2, \"type\": \"LOC\"}]}");
    Path other =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-ja-other"),
            TestData.tokenizer("unigram"),
            List.of("LOC", "ORG", "PER"),
            "jsonl:" + file);
    ObjectNode r = evaluate(alwaysOrgP, "report-pooled", TYPE_MAP, panxLabelled, other, panxKo);
    assertEquals(List.of("ja", "ko"), texts(r.path("crosslingual").path("columns")));
    assertEquals(3, r.path("crosslingual").path("support").path(0).path(0).asInt(), "ja gold");
    List<String> pooled = new ArrayList<>();
    r.path("notes").forEach(n -> pooled.add(n.asText()));
    pooled.removeIf(n -> !n.contains("pools"));
    assertEquals(1, pooled.size(), r.path("notes").toString());
    assertTrue(
        pooled.get(0).startsWith("the cross-lingual column ja pools 2 corpora (")
            && pooled.get(0).contains("prepared-panx-like")
            && pooled.get(0).contains("prepared-ja-other"),
        pooled.get(0));
  }

  @Test
  void aDocumentInTwoCorporaIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> evaluate(alwaysOrgP, "report-dup", TYPE_MAP, panxKo, panxKo));
    assertTrue(e.getMessage().contains("is in both"), e.getMessage());
  }

  private static List<String> texts(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(n -> out.add(n.asText()));
    return out;
  }
}
