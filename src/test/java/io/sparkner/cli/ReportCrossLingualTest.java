package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.eval.ReportXml;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * {@code sparkner crosslingual} on the bundled sample: Stockmark (ja) → zero-shot PAN-X ko, zh, en,
 * de.
 */
class ReportCrossLingualTest {
  @TempDir Path dir;

  @Test
  void sampleRunReportsTheTrainingLanguageAgainstEveryEvaluationLanguage() throws IOException {
    Path out = dir.resolve("xling");
    PrepareCommandTest.Run r =
        PrepareCommandTest.run(
            "crosslingual",
            "--conf",
            Path.of("conf/crosslingual-sample.json").toAbsolutePath().toString(),
            "--output",
            out.toString(),
            "--set",
            "max_steps=12",
            "--set",
            "logging_steps=4");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("== 6/6 evaluate"), r.out());

    JsonNode report = new ObjectMapper().readTree(out.resolve("report/report.json").toFile());
    JsonNode matrix = report.path("crosslingual");
    assertEquals(1, matrix.path("rows").size());
    assertEquals(
        "ja",
        matrix.path("rows").path(0).path("name").asText(),
        "the training language, from training_data.json");
    assertEquals(List.of("de", "en", "ja", "ko", "zh"), texts(matrix.path("columns")));
    assertEquals(
        List.of(false, false, true, false, false), booleans(matrix.path("in_language").path(0)));
    for (int c = 0; c < 5; c++) {
      assertEquals(
          report
              .path("by_lang")
              .path(texts(matrix.path("columns")).get(c))
              .path("micro")
              .path("f1")
              .asDouble(),
          matrix.path("f1").path(0).path(c).asDouble());
    }
    // the Stockmark-only types are read as O on PAN-X, ORG-P/ORG-O as ORG; the Stockmark test split
    // keeps its labels
    JsonNode panx = report.path("datasets").path(1);
    assertTrue(panx.path("data").asText().endsWith("prepared-panx"), panx.path("data").asText());
    assertEquals("ORG", panx.path("label_mapping").path("mapped").path("ORG-P").asText());
    assertEquals("ORG", panx.path("label_mapping").path("mapped").path("ORG-O").asText());
    assertEquals(List.of("EVT", "INS", "PRD"), texts(panx.path("label_mapping").path("dropped")));
    assertTrue(report.path("datasets").path(0).path("label_mapping").path("identity").asBoolean());
    assertEquals("match", panx.path("tokenizer").path("status").asText());
    assertTrue(report.path("training").path("present").asBoolean());
    assertEquals(3, report.path("training").path("steps").size(), "steps 4, 8, 12");
    assertEquals(20, report.path("examples").size());

    Document html = ReportXml.parse(out.resolve("report/report.html"));
    Element table = ReportXml.byId(html, "crosslingual");
    List<String> headers = new ArrayList<>();
    for (Element th : ReportXml.children(ReportXml.children(table, "tr").get(0), "th")) {
      if (th.hasAttribute("data-col")) {
        headers.add(th.getTextContent());
      }
    }
    assertEquals(List.of("de", "en", "ja", "ko", "zh"), headers);
    Element row = ReportXml.row(table, "ja");
    assertEquals(5, ReportXml.children(row, "td").size());

    // the same model through `sparkner evaluate` with repeated --data and --type-map
    PrepareCommandTest.Run e =
        PrepareCommandTest.run(
            "evaluate",
            "--model",
            out.resolve("model").toString(),
            "--data",
            out.resolve("prepared-train").toString(),
            "--data",
            out.resolve("prepared-panx").toString(),
            "--type-map",
            "ORG-P=ORG,ORG-O=ORG",
            "--examples",
            "6",
            "--report",
            dir.resolve("evaluate").toString());
    assertEquals(0, e.code(), e.err() + e.out());
    assertTrue(e.out().contains("trained\\eval") && e.out().contains("note: "), e.out());
    JsonNode again = new ObjectMapper().readTree(dir.resolve("evaluate/report.json").toFile());
    assertEquals(
        report.path("crosslingual").path("f1"),
        again.path("crosslingual").path("f1"),
        "the same scores as the crosslingual job's");
    assertEquals(6, again.path("examples").size());
    assertTrue(Files.isRegularFile(dir.resolve("evaluate/report.html")));
    PrepareCommandTest.Run typo =
        PrepareCommandTest.run(
            "evaluate",
            "--model",
            out.resolve("model").toString(),
            "--data",
            out.resolve("prepared-panx").toString(),
            "--type-map",
            "ORG-Q=ORG",
            "--report",
            dir.resolve("typo").toString());
    assertEquals(1, typo.code());
    assertTrue(typo.err().contains("ORG-Q") && typo.err().contains("its types"), typo.err());
  }

  private static List<String> texts(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static List<Boolean> booleans(JsonNode a) {
    List<Boolean> out = new ArrayList<>();
    a.forEach(n -> out.add(n.asBoolean()));
    return out;
  }
}
