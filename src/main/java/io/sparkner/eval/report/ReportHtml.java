package io.sparkner.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkner.corpus.CodePoints;
import io.sparkner.eval.EvaluateJob;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code report.html}: the figures of {@code report.json} as one self-contained page — inline CSS
 * and SVG, no script, nothing fetched — so it opens from a notebook's file browser or a mail
 * attachment. Every number shown is read from the report JSON and formatted by {@link #number}. The
 * page is well-formed XHTML (see {@link Markup}): an XML parser reads it, and all corpus text is
 * escaped.
 */
public final class ReportHtml {
  private static final String CSS =
      String.join(
          "\n",
          "body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color:"
              + " #222; }",
          "h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px"
              + " solid #ccc; }",
          "table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }",
          "th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f3f3f3; }",
          "td.num { text-align: right; font-variant-numeric: tabular-nums; }",
          "tr.avg td { background: #fafafa; font-style: italic; }",
          ".note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 4px 8px; margin:"
              + " 4px 0; }",
          ".meta { color: #555; font-size: 0.85em; }",
          "svg.chart { margin: 6px 12px 6px 0; background: #fff; }",
          "svg .axis { stroke: #888; } svg .tick { font-size: 10px; fill: #444; }",
          "svg .chart-title { font-size: 12px; font-weight: bold; } svg .axis-name { font-size:"
              + " 10px; fill: #666; }",
          "svg .cell-label { font-size: 10px; fill: #111; } svg .cell-label.light { fill: #fff; }",
          "td.in-language { outline: 2px solid #333; }",
          ".example { border: 1px solid #ddd; padding: 6px 10px; margin: 8px 0; }",
          ".example.status-error { border-left: 4px solid #c0392b; } .example.status-correct {"
              + " border-left: 4px solid #27ae60; }",
          ".example p { margin: 3px 0; line-height: 1.9; } .example .which { display: inline-block;"
              + " width: 5.5em; color: #555; }",
          "mark.ent { background: #dde8f7; padding: 1px 2px; border-radius: 3px; }",
          "mark.ent.wrong { background: #f9d6d2; } mark.ent.ok { background: #d4f0dc; }"
              + " mark.ent.missed { background: #f9d6d2; }",
          "mark.ent sub { font-size: 0.65em; color: #333; margin-left: 2px; }");

  private ReportHtml() {}

  /** A score as every table and tooltip prints it: four decimals. */
  public static String number(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }

  /** The page for a report as written by {@link EvaluateJob}. */
  public static String render(JsonNode report) {
    Markup m = new Markup().doctype();
    m.startRoot("html", Markup.XHTML, "lang", "en");
    m.start("head");
    m.empty("meta", "charset", "utf-8");
    m.element("title", "sparkner evaluation: " + report.path("model").asText());
    m.element("style", CSS);
    m.end();
    m.start("body");
    header(m, report);
    notes(m, report);
    summary(m, report);
    perType(m, report);
    perLanguage(m, report);
    datasets(m, report);
    crossLingual(m, report);
    confusion(m, report);
    curves(m, report);
    examples(m, report);
    m.end();
    m.end();
    return m.finish();
  }

  private static void header(Markup m, JsonNode r) {
    m.element("h1", "sparkner evaluation report");
    m.start("table", "id", "about");
    row(m, "model", r.path("model").asText());
    JsonNode info = r.path("model_info");
    row(
        m,
        "trained on",
        info.path("train_languages").isArray()
            ? join(info.path("train_languages"))
            : "unknown (no training_data.json in the model)");
    row(m, "model types", join(info.path("types")));
    List<String> data = new ArrayList<>();
    r.path("data").forEach(d -> data.add(d.asText()));
    row(m, "data", String.join(", ", data));
    row(m, "split", r.path("split").asText());
    row(m, "documents", r.path("documents").asText());
    m.end();
  }

  private static void row(Markup m, String name, String value) {
    m.start("tr").element("th", name).element("td", value).end();
  }

  private static void notes(Markup m, JsonNode r) {
    for (JsonNode n : r.path("notes")) {
      m.element("p", n.asText(), "class", "note");
    }
  }

  private static void summary(Markup m, JsonNode r) {
    m.element("h2", "Overall");
    m.element(
        "p",
        "Entity-level scores with seqeval semantics over all documents: default (conlleval) and"
            + " strict IOB2 mode.",
        "class",
        "meta");
    m.start("table", "id", "summary");
    m.start("tr")
        .element("th", "")
        .element("th", "precision")
        .element("th", "recall")
        .element("th", "F1")
        .element("th", "support")
        .end();
    for (String avg : List.of("micro", "macro", "weighted")) {
      scoreRow(m, avg + " avg", "default-" + avg, r.path("seqeval_default").path(avg), null, "");
    }
    for (String avg : List.of("micro", "macro", "weighted")) {
      scoreRow(
          m,
          "strict " + avg + " avg",
          "strict-" + avg,
          r.path("seqeval_strict").path(avg),
          null,
          "");
    }
    m.start("tr", "data-key", "token-accuracy").element("th", "token accuracy");
    m.element(
        "td", number(r.path("tokens").path("accuracy").asDouble()), "class", "num", "colspan", "3");
    m.element("td", r.path("tokens").path("tokens").asText(), "class", "num");
    m.end();
    m.end();
  }

  /** A row: name, P, R, F1, support of {@code s}, then P, R, F1 of {@code strict} when given. */
  private static void scoreRow(
      Markup m, String name, String key, JsonNode s, JsonNode strict, String rowClass) {
    m.start("tr", "data-key", key, "class", rowClass.isEmpty() ? null : rowClass);
    m.element("th", name);
    m.element(
        "td", number(s.path("precision").asDouble()), "class", "num", "data-field", "precision");
    m.element("td", number(s.path("recall").asDouble()), "class", "num", "data-field", "recall");
    m.element("td", number(s.path("f1").asDouble()), "class", "num", "data-field", "f1");
    m.element("td", s.path("support").asText(), "class", "num", "data-field", "support");
    if (strict != null) {
      m.element(
          "td",
          number(strict.path("precision").asDouble()),
          "class",
          "num",
          "data-field",
          "strict-precision");
      m.element(
          "td",
          number(strict.path("recall").asDouble()),
          "class",
          "num",
          "data-field",
          "strict-recall");
      m.element(
          "td", number(strict.path("f1").asDouble()), "class", "num", "data-field", "strict-f1");
    }
    m.end();
  }

  private static void scoreHeader(Markup m, String first) {
    m.start("tr");
    m.element("th", first);
    for (String h :
        List.of(
            "precision",
            "recall",
            "F1",
            "support",
            "strict precision",
            "strict recall",
            "strict F1")) {
      m.element("th", h);
    }
    m.end();
  }

  private static void perType(Markup m, JsonNode r) {
    m.element("h2", "Per type");
    JsonNode def = r.path("seqeval_default");
    JsonNode strict = r.path("seqeval_strict");
    List<String> types = keys(def.path("per_type"), strict.path("per_type"));
    m.start("table", "id", "per-type");
    scoreHeader(m, "type");
    for (String t : types) {
      scoreRow(m, t, t, def.path("per_type").path(t), strict.path("per_type").path(t), "");
    }
    for (String avg : List.of("micro", "macro", "weighted")) {
      scoreRow(m, avg + " avg", avg, def.path(avg), strict.path(avg), "avg");
    }
    m.end();
    double[][] f1 = new double[2][types.size()];
    for (int i = 0; i < types.size(); i++) {
      f1[0][i] = def.path("per_type").path(types.get(i)).path("f1").asDouble();
      f1[1][i] = strict.path("per_type").path(types.get(i)).path("f1").asDouble();
    }
    Svg.bars(m, "per-type-f1", "F1 per type", types, List.of("default", "strict"), f1);
  }

  private static void perLanguage(Markup m, JsonNode r) {
    m.element("h2", "Per language");
    JsonNode def = r.path("by_lang");
    JsonNode strict = r.path("by_lang_strict");
    List<String> langs = keys(def, strict);
    m.start("table", "id", "per-language");
    scoreHeader(m, "language");
    for (String l : langs) {
      scoreRow(m, l, l, def.path(l).path("micro"), strict.path(l).path("micro"), "");
    }
    m.end();
    m.element("p", "Micro averages over each language's documents.", "class", "meta");
    double[][] f1 = new double[2][langs.size()];
    for (int i = 0; i < langs.size(); i++) {
      f1[0][i] = def.path(langs.get(i)).path("micro").path("f1").asDouble();
      f1[1][i] = strict.path(langs.get(i)).path("micro").path("f1").asDouble();
    }
    Svg.bars(
        m, "per-language-f1", "Micro F1 per language", langs, List.of("default", "strict"), f1);
  }

  private static void datasets(Markup m, JsonNode r) {
    m.element("h2", "Evaluation sets");
    m.start("table", "id", "datasets");
    m.start("tr");
    for (String h :
        List.of(
            "data",
            "languages",
            "documents",
            "micro F1",
            "strict micro F1",
            "token accuracy",
            "types mapped",
            "types dropped",
            "dropped predictions",
            "not predicted",
            "tokenizer")) {
      m.element("th", h);
    }
    m.end();
    for (JsonNode d : r.path("datasets")) {
      JsonNode map = d.path("label_mapping");
      m.start("tr", "data-key", d.path("data").asText());
      m.element("td", d.path("data").asText());
      m.element("td", joinKeys(d.path("languages")));
      m.element("td", d.path("documents").asText(), "class", "num");
      m.element(
          "td",
          number(d.path("seqeval_default").path("micro").path("f1").asDouble()),
          "class",
          "num",
          "data-field",
          "f1");
      m.element(
          "td",
          number(d.path("seqeval_strict").path("micro").path("f1").asDouble()),
          "class",
          "num",
          "data-field",
          "strict-f1");
      m.element("td", number(d.path("tokens").path("accuracy").asDouble()), "class", "num");
      List<String> mapped = new ArrayList<>();
      map.path("mapped")
          .fields()
          .forEachRemaining(e -> mapped.add(e.getKey() + "\u2192" + e.getValue().asText()));
      m.element("td", String.join(", ", mapped));
      m.element("td", join(map.path("dropped")));
      List<String> droppedPredictions = new ArrayList<>();
      map.path("dropped_predictions")
          .fields()
          .forEachRemaining(e -> droppedPredictions.add(e.getKey() + " " + e.getValue().asText()));
      m.element("td", String.join(", ", droppedPredictions));
      m.element("td", join(map.path("not_predicted")));
      m.element("td", d.path("tokenizer").path("status").asText());
      m.end();
    }
    m.end();
  }

  private static void crossLingual(Markup m, JsonNode r) {
    JsonNode x = r.path("crosslingual");
    m.element("h2", "Cross-lingual matrix");
    m.element(
        "p",
        "Micro F1 (seqeval default) of the model on each evaluation language; rows: the languages"
            + " the model was trained on. Outlined cells: in-language, the rest zero-shot.",
        "class",
        "meta");
    List<String> cols = texts(x.path("columns"));
    m.start("table", "id", "crosslingual");
    m.start("tr").element("th", "trained on \\ evaluated on");
    cols.forEach(c -> m.element("th", c, "data-col", c));
    m.end();
    int i = 0;
    for (JsonNode row : x.path("rows")) {
      String name = row.path("name").asText();
      m.start("tr", "data-key", name);
      m.element("th", name, "title", row.path("model").asText());
      JsonNode f1 = x.path("f1").path(i);
      JsonNode strict = x.path("strict_f1").path(i);
      JsonNode support = x.path("support").path(i);
      JsonNode inLanguage = x.path("in_language").path(i);
      for (int c = 0; c < cols.size(); c++) {
        double v = f1.path(c).asDouble();
        m.element(
            "td",
            number(v),
            "class",
            inLanguage.path(c).asBoolean() ? "num in-language" : "num zero-shot",
            "data-col",
            cols.get(c),
            "style",
            "background: " + Svg.heat(v * 0.8) + (v * 0.8 > 0.55 ? "; color: #fff" : ""),
            "title",
            "strict F1 "
                + number(strict.path(c).asDouble())
                + ", "
                + support.path(c).asText()
                + " gold entities");
      }
      m.end();
      i++;
    }
    m.end();
  }

  private static void confusion(Markup m, JsonNode r) {
    JsonNode t = r.path("tokens");
    List<String> types = texts(t.path("types"));
    m.element("h2", "Token type confusion");
    m.element(
        "p",
        "Scored tokens by gold type (rows) and predicted type (columns), in the evaluation"
            + " corpora's label space; shade: share of the row.",
        "class",
        "meta");
    if (types.isEmpty()) {
      m.element("p", "No token was scored.");
      return;
    }
    int n = types.size();
    double[][] shade = new double[n][n];
    String[][] labels = new String[n][n];
    String[][] tips = new String[n][n];
    for (int g = 0; g < n; g++) {
      long rowTotal = 0;
      for (int p = 0; p < n; p++) {
        rowTotal += t.path("matrix").path(g).path(p).asLong();
      }
      for (int p = 0; p < n; p++) {
        long c = t.path("matrix").path(g).path(p).asLong();
        shade[g][p] = rowTotal == 0 ? 0 : (double) c / rowTotal;
        labels[g][p] = Long.toString(c);
        tips[g][p] =
            "gold "
                + types.get(g)
                + ", predicted "
                + types.get(p)
                + ": "
                + c
                + " tokens ("
                + String.format(Locale.ROOT, "%.1f%%", 100 * shade[g][p])
                + " of gold "
                + types.get(g)
                + ")";
      }
    }
    Svg.heatMap(
        m,
        "confusion",
        "Token type confusion",
        "gold",
        "predicted",
        types,
        types,
        shade,
        labels,
        tips);
  }

  private static void curves(Markup m, JsonNode r) {
    JsonNode tr = r.path("training");
    m.element("h2", "Training curves");
    if (!tr.path("present").asBoolean()) {
      m.element(
          "p",
          "No training curves: " + tr.path("source").asText() + " is absent.",
          "class",
          "meta");
      return;
    }
    JsonNode steps = tr.path("steps");
    m.element(
        "p",
        "From "
            + tr.path("source").asText()
            + (tr.path("thinned_every").asInt(1) > 1
                ? " (every " + tr.path("thinned_every").asInt() + "th logged step)"
                : "")
            + ".",
        "class",
        "meta");
    m.start("div", "id", "curves");
    double[] x = values(steps, "step");
    Svg.line(m, "curve-loss", "training loss", "step", "loss", x, values(steps, "loss"), Svg::tick);
    Svg.line(
        m,
        "curve-learning-rate",
        "learning rate",
        "step",
        "lr",
        x,
        values(steps, "learning_rate"),
        v -> String.format(Locale.ROOT, "%.3e", v));
    Svg.line(
        m,
        "curve-loss-scale",
        "loss scale",
        "step",
        "scale",
        x,
        values(steps, "loss_scale"),
        Svg::tick);
    JsonNode evals = tr.path("evaluations");
    if (evals.size() > 0) {
      double[] epochs = values(evals, "epoch");
      boolean perEpoch =
          true; // eval_strategy steps evaluates several times per epoch: plot by step then
      for (int i = 1; i < epochs.length; i++) {
        perEpoch &= epochs[i] > epochs[i - 1];
      }
      String xName = perEpoch ? "epoch" : "step";
      Svg.line(
          m,
          "curve-eval-f1",
          "validation F1 per " + xName,
          xName,
          "F1",
          perEpoch ? epochs : values(evals, "step"),
          values(evals, "eval_f1"),
          ReportHtml::number);
    } else {
      m.element(
          "p",
          "No validation in metrics.jsonl (eval_strategy no, or no validation split).",
          "class",
          "meta");
    }
    m.end();
  }

  private static void examples(Markup m, JsonNode r) {
    JsonNode ex = r.path("examples");
    m.element("h2", "Examples");
    m.element(
        "p",
        ex.size()
            + " documents chosen deterministically (by hash of their id): errors and correct ones"
            + " from every evaluation language. Green: a predicted entity that is in the gold; red:"
            + " a wrong prediction, or a gold entity the model missed.",
        "class",
        "meta");
    m.start("div", "id", "examples");
    for (JsonNode e : ex) {
      String status = e.path("status").asText();
      m.start("div", "class", "example status-" + status, "data-id", e.path("id").asText());
      m.element(
          "p",
          e.path("data").asText()
              + " \u00b7 "
              + e.path("id").asText()
              + " \u00b7 "
              + e.path("lang").asText()
              + " \u00b7 "
              + status,
          "class",
          "meta");
      String text = e.path("text").asText();
      highlighted(m, "gold", text, e.path("gold"), "found", "ok", "missed");
      highlighted(m, "predicted", text, e.path("predicted"), "correct", "ok", "wrong");
      if (e.path("dropped").size() > 0) {
        List<String> d = new ArrayList<>();
        e.path("dropped")
            .forEach(s -> d.add(s.path("text").asText() + " (" + s.path("type").asText() + ")"));
        m.element(
            "p",
            "dropped, type outside the corpus labels: " + String.join(", ", d),
            "class",
            "meta dropped");
      }
      m.end();
    }
    m.end();
  }

  /** One line of the text with its entities marked, classed by whether the other side has them. */
  private static void highlighted(
      Markup m,
      String which,
      String text,
      JsonNode spans,
      String matchField,
      String yes,
      String no) {
    CodePoints cp = new CodePoints(text);
    m.start("p", "class", which);
    m.element("span", which, "class", "which");
    int at = 0;
    for (JsonNode s : spans) {
      int start = s.path("start").asInt();
      int end = s.path("end").asInt();
      if (start < at || end > cp.length() || end <= start) {
        throw new IllegalArgumentException(
            "example "
                + which
                + " span ["
                + start
                + ", "
                + end
                + ") overlaps another or leaves the text");
      }
      m.text(cp.substring(at, start));
      String type = s.path("type").asText();
      m.start(
          "mark", "class", "ent " + (s.path(matchField).asBoolean() ? yes : no), "data-type", type);
      m.text(cp.substring(start, end));
      m.element("sub", type);
      m.end();
      at = end;
    }
    m.text(cp.substring(at, cp.length()));
    m.end();
  }

  private static List<String> keys(JsonNode a, JsonNode b) {
    TreeSet<String> out = new TreeSet<>();
    a.fieldNames().forEachRemaining(out::add);
    b.fieldNames().forEachRemaining(out::add);
    return new ArrayList<>(out);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static String join(JsonNode array) {
    return String.join(", ", texts(array));
  }

  private static String joinKeys(JsonNode object) {
    List<String> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      out.add(e.getKey() + " (" + e.getValue().asText() + ")");
    }
    return String.join(", ", out);
  }

  private static double[] values(JsonNode array, String field) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.path(i).path(field).asDouble(Double.NaN);
    }
    return out;
  }
}
