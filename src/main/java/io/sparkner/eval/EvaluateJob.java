package io.sparkner.eval;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.eval.metrics.CrossLingualMatrix;
import io.sparkner.eval.metrics.EntityScores;
import io.sparkner.eval.metrics.LabelMapping;
import io.sparkner.eval.metrics.TokenConfusion;
import io.sparkner.eval.report.ReportHtml;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PreparedData;
import io.sparkner.prepare.TrainingData;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code sparkner evaluate}: one model on one split of one or more prepared corpora → {@code
 * report.json} and {@code report.html}. Every corpus is checked before anything is predicted (its
 * split is not empty, no document is in two corpora, it was prepared with the model's tokenizer,
 * the model's labels can be read in its label space); then each is scored on its own and the scores
 * are merged: overall, per type, per language (from the documents' {@code lang}), per corpus, and
 * as a cross-lingual matrix against the languages the model was trained on.
 */
public final class EvaluateJob {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);

  private EvaluateJob() {}

  /**
   * Where the windows are predicted and the documents scored. Both give the same report, byte for
   * byte: the same batches are forwarded and the same code scores each document.
   */
  public enum Where {
    /**
     * On the executors, where the data is ({@link ExecutorEvaluation}); the driver receives only
     * the counts and the example candidates.
     */
    EXECUTORS,
    /**
     * On the driver, one thread: the split's windows and documents are collected to it. The
     * reference the executors' results are checked against (tests, benchmark).
     */
    DRIVER
  }

  /**
   * @param data prepared corpora (output directories of {@code prepare}), at least one
   * @param typeMap predicted type → evaluation type ({@code ORG-P=ORG}), for corpora that lack the
   *     predicted type; see {@link LabelMapping}
   * @param examples how many example documents the report shows
   * @param where where the model predicts ({@link Where#EXECUTORS} unless a test or benchmark
   *     compares)
   */
  public record Options(
      String model,
      List<String> data,
      String split,
      String report,
      int batchSize,
      Map<String, String> typeMap,
      int examples,
      Where where) {
    public Options {
      if (data == null || data.isEmpty()) {
        throw new IllegalArgumentException("evaluate needs at least one --data directory");
      }
      if (batchSize < 1) {
        throw new IllegalArgumentException(
            "evaluate batch size must be at least 1, got " + batchSize);
      }
      if (examples < 0) {
        throw new IllegalArgumentException(
            "evaluate examples must not be negative, got " + examples);
      }
      data = List.copyOf(data);
      typeMap =
          java.util.Collections.unmodifiableMap(
              new LinkedHashMap<>(typeMap == null ? Map.of() : typeMap));
      where = where == null ? Where.EXECUTORS : where;
    }

    /** On the executors. */
    public Options(
        String model,
        List<String> data,
        String split,
        String report,
        int batchSize,
        Map<String, String> typeMap,
        int examples) {
      this(model, data, split, report, batchSize, typeMap, examples, Where.EXECUTORS);
    }

    /** One corpus, the model's own labels, the default number of examples. */
    public Options(String model, String data, String split, String report, int batchSize) {
      this(model, List.of(data), split, report, batchSize, Map.of(), ExampleSampler.DEFAULT_COUNT);
    }

    /** These options with the model predicting {@code where}. */
    public Options where(Where where) {
      return new Options(model, data, split, report, batchSize, typeMap, examples, where);
    }
  }

  /** One evaluation corpus, loaded and checked. */
  private record Corpus(
      String name, PreparedData data, LabelMapping mapping, ObjectNode tokenizer) {}

  public static ObjectNode run(SparkSession spark, Options o) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String modelDir = HadoopFiles.qualify(o.model(), conf);
    Checkpoints.Weights weights = Checkpoints.read(modelDir, conf, null, 0);
    Optional<TrainingData> trained = TrainingData.read(modelDir, conf);
    ObjectNode curves = TrainingCurves.read(modelDir, conf);
    String modelTokenizer = TokenizerCheck.modelFingerprint(modelDir, conf);
    long started = System.nanoTime();
    List<Corpus> corpora = load(spark, o, modelDir, modelTokenizer, weights.config(), conf);
    long checked = System.nanoTime();

    ExampleSampler sampler;
    List<Evaluator.Result> results = new ArrayList<>();
    List<Map<String, Long>> droppedPredictions = new ArrayList<>();
    if (o.where() == Where.EXECUTORS) {
      List<ExecutorEvaluation.Corpus> plans = new ArrayList<>();
      for (Corpus c : corpora) {
        plans.add(
            new ExecutorEvaluation.Corpus(
                c.data().dir(), c.name(), c.data().labels(), c.mapping()));
      }
      ExecutorEvaluation.Partial merged =
          ExecutorEvaluation.run(
              spark,
              modelDir,
              EvaluationModels.version(modelDir, conf),
              plans,
              o.split(),
              o.batchSize(),
              o.examples(),
              conf);
      merged.tallies().forEach(t -> results.add(t.result()));
      droppedPredictions.addAll(merged.dropped());
      sampler = merged.sampler();
    } else {
      sampler = new ExampleSampler(o.examples());
      onDriver(o, weights, corpora, sampler, results, droppedPredictions);
    }
    LOG.info(
        "evaluate: {} corpora checked in {} s, predicted and scored on the {} in {} s",
        corpora.size(),
        String.format(Locale.ROOT, "%.2f", (checked - started) / 1e9),
        o.where().name().toLowerCase(Locale.ROOT),
        String.format(Locale.ROOT, "%.2f", (System.nanoTime() - checked) / 1e9));
    ObjectNode report =
        report(o, weights.config(), trained, corpora, results, droppedPredictions, curves, sampler);
    String dir = HadoopFiles.qualify(o.report(), conf);
    try {
      HadoopFiles.writeString(
          dir + "/report.json",
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n",
          conf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    HadoopFiles.writeString(dir + "/report.html", ReportHtml.render(report), conf);
    return report;
  }

  /** {@link Where#DRIVER}: each corpus' windows and documents collected, predicted here. */
  private static void onDriver(
      Options o,
      Checkpoints.Weights weights,
      List<Corpus> corpora,
      ExampleSampler sampler,
      List<Evaluator.Result> results,
      List<Map<String, Long>> droppedPredictions) {
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(weights, manager, DataType.FLOAT32);
      for (int i = 0; i < corpora.size(); i++) {
        Corpus c = corpora.get(i);
        int corpusIndex = i;
        Map<String, Long> dropped = new TreeMap<>();
        results.add(
            Evaluator.evaluate(
                model,
                c.data().examples(o.split()),
                c.data().gold(o.split()),
                c.data().labels(),
                o.batchSize(),
                c.mapping(),
                s -> {
                  sampler.offer(corpusIndex, c.name(), s);
                  s.dropped().forEach(d -> dropped.merge(d.type(), 1L, Long::sum));
                }));
        droppedPredictions.add(dropped);
      }
    }
  }

  /**
   * Reads and checks every corpus before the model predicts anything; the checks run in Spark (the
   * driver receives counts and at most one offending row).
   */
  private static List<Corpus> load(
      SparkSession spark,
      Options o,
      String modelDir,
      String modelTokenizer,
      ModelConfig model,
      Configuration conf) {
    List<Corpus> out = new ArrayList<>();
    Dataset<Row> seen = null; // (id, corpus) of the corpora checked so far
    for (int i = 0; i < o.data().size(); i++) {
      String path = o.data().get(i);
      PreparedData data = new PreparedData(spark, path);
      LabelMapping mapping = LabelMapping.of(model.labels, data.labels(), o.typeMap(), path);
      ObjectNode tokenizer = TokenizerCheck.check(modelDir, modelTokenizer, data, conf);
      Dataset<Row> documents = PreparedData.documents(spark, data.dir(), o.split());
      Dataset<Row> perId = documents.groupBy("id").count();
      Row sizes = perId.agg(functions.count(functions.lit(1)), functions.max("count")).first();
      if (sizes.getLong(0) == 0) {
        throw new IllegalArgumentException(
            path
                + " has no documents in split '"
                + o.split()
                + "' (its documents per split: "
                + splits(data)
                + ")");
      }
      if (sizes.getLong(1) > 1) {
        Row twice = perId.where("count > 1").orderBy("id").first();
        throw new IllegalArgumentException(
            path
                + ": document "
                + twice.getString(0)
                + " has "
                + twice.getLong(1)
                + " rows in split '"
                + o.split()
                + "' of its documents table; each document must be evaluated once (prepare it"
                + " again)");
      }
      Dataset<Row> ids = documents.select(functions.col("id"), functions.lit(i).as("corpus"));
      if (seen != null) {
        List<Row> both =
            ids.select("id")
                .join(seen, "id")
                .groupBy("id")
                .agg(functions.min("corpus"))
                .orderBy("id")
                .limit(1)
                .collectAsList();
        if (!both.isEmpty()) {
          throw new IllegalArgumentException(
              "document "
                  + both.get(0).getString(0)
                  + " is in both "
                  + o.data().get(both.get(0).getInt(1))
                  + " and "
                  + path
                  + " (split "
                  + o.split()
                  + "): each document must be evaluated once");
        }
      }
      seen = seen == null ? ids : seen.unionAll(ids);
      List<Row> outside =
          PreparedData.windows(spark, data.dir(), o.split())
              .where(
                  functions.expr("exists(input_ids, x -> x < 0 OR x >= " + model.vocabSize + ")"))
              .select("id", "window", "input_ids")
              .orderBy("id", "window")
              .limit(1)
              .collectAsList();
      if (!outside.isEmpty()) {
        Row w = outside.get(0);
        int id =
            w.<Integer>getList(2).stream()
                .filter(t -> t < 0 || t >= model.vocabSize)
                .findFirst()
                .orElseThrow();
        throw new IllegalArgumentException(
            path
                + ": document "
                + w.getString(0)
                + " has token id "
                + id
                + ", outside the model's vocabulary (vocab_size "
                + model.vocabSize
                + "); prepare it with the model's tokenizer");
      }
      out.add(new Corpus(Redaction.uri(path), data, mapping, tokenizer));
    }
    return out;
  }

  private static String splits(PreparedData data) {
    JsonNode summary = data.summary();
    return summary == null ? "unknown, no summary.json" : summary.path("by_split").toString();
  }

  /**
   * report.json: the merged scores first (as the one-corpus report had them), then the sections.
   */
  private static ObjectNode report(
      Options o,
      ModelConfig model,
      Optional<TrainingData> trained,
      List<Corpus> corpora,
      List<Evaluator.Result> results,
      List<Map<String, Long>> droppedPredictions,
      ObjectNode curves,
      ExampleSampler sampler) {
    EntityScores standard = new EntityScores();
    EntityScores strict = new EntityScores();
    Map<String, EntityScores> byLang = new TreeMap<>();
    Map<String, EntityScores> byLangStrict = new TreeMap<>();
    TokenConfusion tokens = new TokenConfusion();
    for (Evaluator.Result r : results) {
      standard.merge(r.standard());
      strict.merge(r.strict());
      r.byLang().forEach((l, s) -> byLang.computeIfAbsent(l, k -> new EntityScores()).merge(s));
      r.byLangStrict()
          .forEach((l, s) -> byLangStrict.computeIfAbsent(l, k -> new EntityScores()).merge(s));
      tokens.merge(r.tokens());
    }
    Evaluator.Result all = new Evaluator.Result(standard, strict, byLang, byLangStrict, tokens);

    ObjectNode report = JSON.createObjectNode();
    // paths as they may be shown: no credentials from a URI's user info (see Redaction)
    String modelShown = Redaction.uri(o.model());
    report.put("model", modelShown);
    ArrayNode data = report.putArray("data");
    o.data().forEach(d -> data.add(Redaction.uri(d)));
    report.put("split", o.split());
    report.put("documents", standard.items());
    report.setAll(all.toJson());

    ObjectNode info = report.putObject("model_info");
    model.labels.forEach(info.putArray("labels")::add);
    LabelMapping.typesOf(model.labels).forEach(info.putArray("types")::add);
    if (trained.isPresent()) {
      trained.get().languageList().forEach(info.putArray("train_languages")::add);
      info.put("training_data", Redaction.uri(trained.get().data()));
    } else {
      info.putNull("train_languages");
    }

    ObjectNode typeMap = report.putObject("type_map");
    o.typeMap().forEach(typeMap::put);
    ArrayNode notes = report.putArray("notes");
    ObjectNode mappingSummary = report.putObject("label_mapping");
    TreeMap<String, String> mappedAll = new TreeMap<>();
    TreeSet<String> droppedAll = new TreeSet<>();
    TreeMap<String, Long> droppedPredictionsAll = new TreeMap<>();
    ArrayNode sets = report.putArray("datasets");
    TreeMap<String, List<String>> corporaOfLang = new TreeMap<>();
    for (int i = 0; i < corpora.size(); i++) {
      Corpus c = corpora.get(i);
      Evaluator.Result r = results.get(i);
      ObjectNode d = sets.addObject();
      d.put("data", c.name());
      d.put("documents", r.standard().items());
      ObjectNode langs = d.putObject("languages");
      r.byLang()
          .forEach(
              (l, s) -> {
                langs.put(l, s.items());
                corporaOfLang.computeIfAbsent(l, k -> new ArrayList<>()).add(c.name());
              });
      c.data().labels().types().forEach(d.putArray("types")::add);
      ObjectNode mapping = c.mapping().toJson();
      ObjectNode dp = mapping.putObject("dropped_predictions");
      droppedPredictions.get(i).forEach(dp::put);
      d.set("label_mapping", mapping);
      d.set("tokenizer", c.tokenizer());
      d.setAll(r.toJson());
      mappedAll.putAll(c.mapping().mapped());
      droppedAll.addAll(c.mapping().dropped());
      droppedPredictions.get(i).forEach((t, n) -> droppedPredictionsAll.merge(t, n, Long::sum));
      notes(notes, c, droppedPredictions.get(i));
    }
    ObjectNode mapped = mappingSummary.putObject("mapped");
    mappedAll.forEach(mapped::put);
    droppedAll.forEach(mappingSummary.putArray("dropped")::add);
    ObjectNode dpa = mappingSummary.putObject("dropped_predictions");
    droppedPredictionsAll.forEach(dpa::put);
    for (String from : o.typeMap().keySet()) {
      if (!mappedAll.containsKey(from) && !droppedAll.contains(from)) {
        notes.add(
            "--type-map "
                + from
                + "="
                + o.typeMap().get(from)
                + " was not applied: every evaluation corpus has type "
                + from);
      }
    }
    corporaOfLang.forEach(
        (lang, names) -> {
          if (names.size() > 1) {
            notes.add(
                "the cross-lingual column "
                    + lang
                    + " pools "
                    + names.size()
                    + " corpora ("
                    + String.join(", ", names)
                    + "): each one's own "
                    + lang
                    + " scores are under datasets");
          }
        });
    if (trained.isEmpty()) {
      notes.add(
          "the model records no training languages (no "
              + TrainingData.FILE
              + " in "
              + modelShown
              + "): its cross-lingual row is '"
              + CrossLingualMatrix.UNKNOWN
              + "'");
    }
    for (int i = 0; i < notes.size(); i++) {
      notes.set(i, Redaction.text(notes.get(i).asText()));
    }

    report.set(
        "crosslingual",
        CrossLingualMatrix.of(
            modelShown,
            trained.map(TrainingData::languageList).orElse(null),
            byLang,
            byLangStrict));
    report.set("training", curves);
    report.set("examples", sampler.toJson());
    return report;
  }

  private static void notes(ArrayNode notes, Corpus c, Map<String, Long> droppedPredictions) {
    LabelMapping m = c.mapping();
    if (!m.mapped().isEmpty()) {
      List<String> pairs = new ArrayList<>();
      m.mapped().forEach((f, t) -> pairs.add(f + "\u2192" + t));
      notes.add(
          c.name() + ": predicted types read as the corpus' types: " + String.join(", ", pairs));
    }
    if (!m.dropped().isEmpty()) {
      long n = droppedPredictions.values().stream().mapToLong(Long::longValue).sum();
      notes.add(
          c.name()
              + ": predicted types outside the corpus' label space "
              + c.data().labels().types()
              + " read as O: "
              + String.join(", ", m.dropped())
              + (n == 0
                  ? " (the model predicted none of them)"
                  : " (" + n + " predicted entities not scored: " + droppedPredictions + ")"));
    }
    if (!m.notPredicted().isEmpty()) {
      notes.add(
          c.name()
              + ": the model cannot predict the corpus' types "
              + String.join(", ", m.notPredicted())
              + " (their recall is 0)");
    }
    if ("unverified".equals(c.tokenizer().path("status").asText())) {
      notes.add("tokenizer not verified: " + c.tokenizer().path("detail").asText());
    }
  }

  /**
   * The console summary: per-type P/R/F1 like seqeval's classification_report, the averages, per
   * language, the cross-lingual row(s) and the notes.
   */
  public static String table(ObjectNode report) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT, "%-14s %9s %9s %9s %9s%n", "", "precision", "recall", "f1", "support"));
    var def = report.path("seqeval_default");
    def.path("per_type").fields().forEachRemaining(e -> row(sb, e.getKey(), e.getValue()));
    sb.append('\n');
    for (String avg : List.of("micro", "macro", "weighted")) {
      row(sb, avg + " avg", def.path(avg));
    }
    row(sb, "strict micro", report.path("seqeval_strict").path("micro"));
    sb.append(
        String.format(
            Locale.ROOT,
            "token accuracy %.4f%n",
            report.path("tokens").path("accuracy").asDouble()));
    if (report.path("by_lang").size() > 1) {
      sb.append('\n').append("per language (micro)\n");
      report
          .path("by_lang")
          .fields()
          .forEachRemaining(e -> row(sb, e.getKey(), e.getValue().path("micro")));
    }
    JsonNode x = report.path("crosslingual");
    if (x.path("columns").size() > 0) {
      sb.append('\n').append(String.format(Locale.ROOT, "%-14s", "trained\\eval"));
      x.path("columns").forEach(c -> sb.append(String.format(Locale.ROOT, " %7s", c.asText())));
      sb.append('\n');
      for (int i = 0; i < x.path("rows").size(); i++) {
        sb.append(
            String.format(Locale.ROOT, "%-14s", x.path("rows").path(i).path("name").asText()));
        x.path("f1")
            .path(i)
            .forEach(v -> sb.append(String.format(Locale.ROOT, " %7.4f", v.asDouble())));
        sb.append('\n');
      }
    }
    for (JsonNode n : report.path("notes")) {
      sb.append("note: ").append(n.asText()).append('\n');
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, JsonNode s) {
    sb.append(
        String.format(
            Locale.ROOT,
            "%-14s %9.4f %9.4f %9.4f %9d%n",
            name,
            s.path("precision").asDouble(),
            s.path("recall").asDouble(),
            s.path("f1").asDouble(),
            s.path("support").asLong()));
  }
}
