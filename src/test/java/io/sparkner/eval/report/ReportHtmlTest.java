package io.sparkner.eval.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.cli.TestAccess;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.eval.ReportFixtures;
import io.sparkner.eval.ReportXml;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * report.html of a real run (a tiny model trained a few steps on the Stockmark sample, evaluated on
 * its test split and on a PAN-X-labelled corpus with markup in its text): it parses as XML, and its
 * tables, matrix, heat-map and curves show exactly the figures of report.json.
 */
class ReportHtmlTest {
  @TempDir static Path dir;
  static JsonNode report;
  static String html;
  static Document page;
  static final String NASTY = "<script>alert(\"x\")</script> & AT&T";

  @BeforeAll
  static void trainEvaluateRender() throws IOException {
    SparkSession spark = TestSpark.session();
    Path tokenizer = TestData.tokenizer("unigram");
    Path stockmark =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared"),
            tokenizer,
            null,
            "stockmark:" + TestData.sample("stockmark/ner.json"));
    int at = NASTY.indexOf("AT&T");
    Path file =
        ReportFixtures.jsonl(
            dir.resolve("corpus/escape.jsonl"),
            "{\"id\": \"esc-1\", \"lang\": \"en\", \"split\": \"test\", \"text\": "
                + new ObjectMapper().writeValueAsString(NASTY)
                + ", \"entities\": [{\"start\": "
                + at
                + ", \"end\": "
                + (at + 4)
                + ", \"type\": \"ORG\"}]}");
    Path escape =
        ReportFixtures.prepare(
            spark,
            dir.resolve("prepared-escape"),
            tokenizer,
            List.of("LOC", "ORG", "PER"),
            "jsonl:" + file);
    TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        tokenizer.toString(),
        stockmark.resolve("labels.json").toString(),
        dir.resolve("tiny").toString());
    PrintStream quiet =
        new PrintStream(java.io.OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    TrainJob.run(
        spark,
        TrainJob.Options.builder(
                stockmark.toString(),
                dir.resolve("tiny").toString(),
                dir.resolve("trained").toString())
            .conf(Path.of("conf/train-demo.json").toAbsolutePath().toString())
            .overrides(
                List.of("max_steps=8", "logging_steps=2", "eval_strategy=steps", "eval_steps=4"))
            .build(),
        quiet);
    EvaluateJob.run(
        spark,
        new EvaluateJob.Options(
            dir.resolve("trained").toString(),
            List.of(stockmark.toString(), escape.toString()),
            "test",
            dir.resolve("report").toString(),
            16,
            Map.of("ORG-P", "ORG", "ORG-O", "ORG"),
            20));
    report = new ObjectMapper().readTree(dir.resolve("report/report.json").toFile());
    html = Files.readString(dir.resolve("report/report.html"));
    page = ReportXml.parse(dir.resolve("report/report.html"));
  }

  @Test
  void perTypeTableShowsTheReportsScores() {
    Element table = ReportXml.byId(page, "per-type");
    JsonNode def = report.path("seqeval_default").path("per_type");
    JsonNode strict = report.path("seqeval_strict").path("per_type");
    assertTrue(def.size() >= 3, def.toString());
    def.fieldNames()
        .forEachRemaining(
            t -> {
              Element row = ReportXml.row(table, t);
              assertEquals(
                  ReportHtml.number(def.path(t).path("f1").asDouble()),
                  ReportXml.cell(row, "f1"),
                  t);
              assertEquals(
                  ReportHtml.number(def.path(t).path("precision").asDouble()),
                  ReportXml.cell(row, "precision"),
                  t);
              assertEquals(
                  ReportHtml.number(def.path(t).path("recall").asDouble()),
                  ReportXml.cell(row, "recall"),
                  t);
              assertEquals(def.path(t).path("support").asText(), ReportXml.cell(row, "support"), t);
              assertEquals(
                  ReportHtml.number(strict.path(t).path("f1").asDouble()),
                  ReportXml.cell(row, "strict-f1"),
                  t);
            });
    Element micro = ReportXml.row(table, "micro");
    assertEquals(
        ReportHtml.number(report.path("seqeval_default").path("micro").path("f1").asDouble()),
        ReportXml.cell(micro, "f1"));
    assertEquals(
        ReportHtml.number(report.path("seqeval_strict").path("micro").path("f1").asDouble()),
        ReportXml.cell(micro, "strict-f1"));
    // one bar per type and mode
    Element bars = ReportXml.byId(page, "per-type-f1");
    assertEquals("svg", bars.getLocalName());
    assertEquals(Markup.SVG, bars.getNamespaceURI());
    long rects =
        ReportXml.descendants(bars, "rect").stream()
            .filter(r -> !ReportXml.children(r, "title").isEmpty())
            .count();
    assertEquals(2L * def.size(), rects);
  }

  @Test
  void perLanguageTableShowsBothModes() {
    Element table = ReportXml.byId(page, "per-language");
    List<String> langs = new ArrayList<>();
    report.path("by_lang").fieldNames().forEachRemaining(langs::add);
    assertEquals(List.of("en", "ja"), langs);
    for (String l : langs) {
      Element row = ReportXml.row(table, l);
      assertEquals(
          ReportHtml.number(report.path("by_lang").path(l).path("micro").path("f1").asDouble()),
          ReportXml.cell(row, "f1"),
          l);
      assertEquals(
          ReportHtml.number(
              report.path("by_lang_strict").path(l).path("micro").path("f1").asDouble()),
          ReportXml.cell(row, "strict-f1"),
          l);
      assertEquals(
          report.path("by_lang").path(l).path("micro").path("support").asText(),
          ReportXml.cell(row, "support"),
          l);
    }
  }

  @Test
  void crossLingualMatrixHasTheTrainingLanguageRow() {
    JsonNode x = report.path("crosslingual");
    assertEquals("ja", x.path("rows").path(0).path("name").asText());
    Element table = ReportXml.byId(page, "crosslingual");
    Element row = ReportXml.row(table, "ja");
    List<Element> cells = ReportXml.children(row, "td");
    assertEquals(x.path("columns").size(), cells.size());
    for (int c = 0; c < cells.size(); c++) {
      assertEquals(x.path("columns").path(c).asText(), cells.get(c).getAttribute("data-col"));
      assertEquals(
          ReportHtml.number(x.path("f1").path(0).path(c).asDouble()),
          cells.get(c).getTextContent());
      assertEquals(
          x.path("in_language").path(0).path(c).asBoolean(),
          cells.get(c).getAttribute("class").contains("in-language"));
    }
  }

  @Test
  void confusionHeatMapShowsEveryCount() {
    JsonNode t = report.path("tokens");
    int n = t.path("types").size();
    Element svg = ReportXml.byId(page, "confusion");
    List<Element> cells =
        ReportXml.descendants(svg, "rect").stream()
            .filter(r -> "cell".equals(r.getAttribute("class")))
            .toList();
    assertEquals(n * n, cells.size());
    List<Element> labels =
        ReportXml.descendants(svg, "text").stream()
            .filter(e -> e.getAttribute("class").startsWith("cell-label"))
            .toList();
    for (int g = 0; g < n; g++) {
      for (int p = 0; p < n; p++) {
        Element cell = cells.get(g * n + p);
        assertEquals(t.path("types").path(g).asText(), cell.getAttribute("data-row"));
        assertEquals(t.path("types").path(p).asText(), cell.getAttribute("data-col"));
        assertEquals(
            t.path("matrix").path(g).path(p).asText(), labels.get(g * n + p).getTextContent());
      }
    }
    JsonNode escapeTokens = report.path("datasets").path(1).path("tokens");
    for (JsonNode type : escapeTokens.path("types")) {
      assertTrue(
          List.of("LOC", "ORG", "PER", "O").contains(type.asText()),
          "PAN-X-labelled tokens are counted in PAN-X types: " + escapeTokens.path("types"));
    }
  }

  @Test
  void trainingCurvesComeFromMetricsJsonl() {
    JsonNode tr = report.path("training");
    assertTrue(tr.path("present").asBoolean());
    assertEquals(4, tr.path("steps").size(), "steps 2, 4, 6, 8");
    assertEquals(2, tr.path("evaluations").size(), "eval_steps 4 over 8 steps");
    for (String id :
        List.of("curve-loss", "curve-learning-rate", "curve-loss-scale", "curve-eval-f1")) {
      Element svg = ReportXml.byId(page, id);
      Element line = ReportXml.descendants(svg, "polyline").get(0);
      int points = line.getAttribute("points").trim().split(" ").length;
      assertEquals(id.equals("curve-eval-f1") ? 2 : 4, points, id);
    }
    List<Element> circles = ReportXml.descendants(ReportXml.byId(page, "curve-eval-f1"), "circle");
    for (int i = 0; i < 2; i++) {
      String title = ReportXml.children(circles.get(i), "title").get(0).getTextContent();
      assertTrue(
          title.endsWith(
              ": " + ReportHtml.number(tr.path("evaluations").path(i).path("eval_f1").asDouble())),
          title);
    }
    List<Element> loss = ReportXml.descendants(ReportXml.byId(page, "curve-loss"), "circle");
    String firstLoss = ReportXml.children(loss.get(0), "title").get(0).getTextContent();
    assertEquals(
        "step 2: " + Svg.tick(tr.path("steps").path(0).path("loss").asDouble()), firstLoss);
  }

  @Test
  void exampleTextIsEscaped() {
    assertFalse(
        html.toLowerCase(Locale.ROOT).contains("<script"),
        "no script element, no raw <script> from the corpus");
    assertTrue(
        html.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; "),
        "the corpus text appears escaped");
    assertEquals(0, page.getElementsByTagNameNS("*", "script").getLength());
    Element examples = ReportXml.byId(page, "examples");
    Element nasty = null;
    for (Element e : ReportXml.children(examples, "div")) {
      if (e.getAttribute("data-id").equals("esc-1")) {
        nasty = e;
      }
    }
    assertTrue(
        nasty != null,
        "the document with markup is among the examples (its corpus and language get a turn)");
    Element gold =
        ReportXml.children(nasty, "p").stream()
            .filter(p -> p.getAttribute("class").equals("gold"))
            .findFirst()
            .orElseThrow();
    assertEquals(
        "gold" + NASTY.replace("AT&T", "AT&TORG"),
        gold.getTextContent(),
        "text and the marked entity, its type in a sub");
    Element mark = ReportXml.descendants(gold, "mark").get(0);
    assertEquals("ORG", mark.getAttribute("data-type"));
  }

  @Test
  void examplesAreTheReportsAndThePageIsSelfContained() {
    JsonNode ex = report.path("examples");
    assertEquals(20, ex.size());
    List<Element> divs = ReportXml.children(ReportXml.byId(page, "examples"), "div");
    assertEquals(ex.size(), divs.size());
    for (int i = 0; i < divs.size(); i++) {
      assertEquals(ex.path(i).path("id").asText(), divs.get(i).getAttribute("data-id"));
      assertEquals(
          "example status-" + ex.path(i).path("status").asText(),
          divs.get(i).getAttribute("class"));
    }
    long errors = 0;
    for (JsonNode e : ex) {
      errors += e.path("status").asText().equals("error") ? 1 : 0;
    }
    assertTrue(errors >= 10, "half errors at least when there are enough: " + errors);
    assertFalse(
        html.contains("http://")
            && html.replace(Markup.XHTML, "").replace(Markup.SVG, "").contains("http://"),
        "nothing fetched");
    assertFalse(html.contains("https://"));
    assertFalse(html.contains("<link"));
    String css = html.substring(html.indexOf("<style>"), html.indexOf("</style>"));
    assertFalse(
        css.contains("&"), "the style sheet is raw text in HTML: nothing in it may need escaping");
    // and the same report renders the same page
    assertEquals(html, ReportHtml.render(report));
  }
}
