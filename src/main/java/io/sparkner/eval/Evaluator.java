package io.sparkner.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.align.WindowMerge;
import io.sparkner.corpus.Entity;
import io.sparkner.eval.metrics.Chunker;
import io.sparkner.eval.metrics.EntityScores;
import io.sparkner.eval.metrics.LabelMapping;
import io.sparkner.eval.metrics.TokenConfusion;
import io.sparkner.model.Autograd;
import io.sparkner.model.Batch;
import io.sparkner.model.Example;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Entity-level evaluation on documents: predicts every window, keeps each token's prediction from
 * the window where it is most central ({@link WindowMerge}, as scoring does: overlapping windows
 * count once), decodes predicted entities to code-point spans and scores them against the
 * documents' gold spans, in seqeval's default (conlleval) and strict IOB2 modes (for IO labels,
 * which have no entity starts, strict is the default reading), overall and per language; plus token
 * accuracy and the token type confusion matrix. A model trained on other types is read through a
 * {@link LabelMapping} into the corpus' label space.
 */
public final class Evaluator {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Evaluator() {}

  /**
   * The scores of one evaluation; {@code byLang} and {@code byLangStrict} per document language.
   */
  public record Result(
      EntityScores standard,
      EntityScores strict,
      Map<String, EntityScores> byLang,
      Map<String, EntityScores> byLangStrict,
      TokenConfusion tokens) {
    public ObjectNode toJson() {
      ObjectNode root = JSON.createObjectNode();
      root.set("seqeval_default", standard.toJson());
      root.set("seqeval_strict", strict.toJson());
      ObjectNode langs = root.putObject("by_lang");
      byLang.forEach((l, s) -> langs.set(l, s.toJson()));
      ObjectNode strictLangs = root.putObject("by_lang_strict");
      byLangStrict.forEach((l, s) -> strictLangs.set(l, s.toJson()));
      root.set("tokens", tokens.toJson());
      return root;
    }

    public double f1() {
      return standard.micro().f1();
    }
  }

  /**
   * One document as scored, spans in code points: its gold entities, the predicted ones (in the
   * corpus' label space), and the predicted entities whose type the label mapping dropped.
   */
  public record Scored(
      GoldDocument document,
      List<Chunker.Chunk> gold,
      List<Chunker.Chunk> predicted,
      List<Chunker.Chunk> dropped)
      implements Serializable {}

  /**
   * One window of a document as scoring needs it: its number, per position the gold label id and
   * the token's code-point span, and the model's arg-max label id (in the model's label space).
   */
  public record WindowPrediction(
      int window, int[] labels, int[] starts, int[] ends, int[] predicted) implements Serializable {
    private static final long serialVersionUID = 1L;

    static WindowPrediction of(Example w, int[] predicted) {
      return new WindowPrediction(w.window(), w.labels(), w.starts(), w.ends(), predicted);
    }
  }

  /**
   * The scores of one corpus being counted, document by document ({@link #add}) or merged from
   * other documents' ({@link #merge}): what a {@link Result} is made of. Serializable, so that each
   * Spark partition counts its documents and the driver merges the counts.
   */
  public static final class Tally implements Serializable {
    private static final long serialVersionUID = 1L;
    private final EntityScores standard = new EntityScores();
    private final EntityScores strict = new EntityScores();
    private final TreeMap<String, EntityScores> byLang = new TreeMap<>();
    private final TreeMap<String, EntityScores> byLangStrict = new TreeMap<>();
    private final TokenConfusion confusion = new TokenConfusion();

    /**
     * Scores one document: its windows (in window order, each with its prediction) are merged
     * ({@link WindowMerge}), the predictions read through {@code mapping} into the corpus' label
     * space ({@code labels}), decoded to spans and counted against the document's gold spans.
     * Returns the document as scored.
     */
    public Scored add(
        GoldDocument doc, List<WindowPrediction> windows, Labels labels, LabelMapping mapping) {
      WindowMerge m = new WindowMerge();
      for (int k = 0; k < windows.size(); k++) {
        m.add(k, windows.get(k).starts(), windows.get(k).ends());
      }
      List<WindowMerge.Token> tokens = windows.isEmpty() ? List.of() : m.tokens();
      int n = tokens.size();
      int[] starts = new int[n];
      int[] ends = new int[n];
      int[] goldIds = new int[n];
      int[] predIds = new int[n];
      int[] modelIds = new int[n];
      for (int i = 0; i < n; i++) {
        WindowMerge.Token t = tokens.get(i);
        WindowPrediction w = windows.get(t.window());
        starts[i] = t.start();
        ends[i] = t.end();
        goldIds[i] = w.labels()[t.position()];
        // score only where the gold has a label
        modelIds[i] = goldIds[i] < 0 ? Labels.IGNORE : w.predicted()[t.position()];
        predIds[i] = mapping.apply(modelIds[i]);
      }
      List<Chunker.Chunk> goldSpans = new ArrayList<>();
      for (Entity e : doc.entities()) {
        goldSpans.add(new Chunker.Chunk(e.type(), e.start(), e.end()));
      }
      List<Chunker.Chunk> predicted = spans(predIds, starts, ends, labels, Chunker.Mode.DEFAULT);
      standard.add(doc.id(), goldSpans, predicted);
      // IO labels have no entity starts: every run of I-X is well formed, so strict mode reads
      // them as the default mode does (seqeval's IOB2 strict mode would find no entity at all)
      List<Chunker.Chunk> predictedStrict =
          labels.scheme() == LabelScheme.IO
              ? predicted
              : spans(predIds, starts, ends, labels, Chunker.Mode.STRICT);
      strict.add(doc.id(), goldSpans, predictedStrict);
      byLang
          .computeIfAbsent(doc.lang(), k -> new EntityScores())
          .add(doc.id(), goldSpans, predicted);
      byLangStrict
          .computeIfAbsent(doc.lang(), k -> new EntityScores())
          .add(doc.id(), goldSpans, predictedStrict);
      confusion.add(goldIds, predIds, labels.labels());
      List<Chunker.Chunk> dropped = new ArrayList<>();
      if (!mapping.isIdentity()) {
        for (Chunker.Chunk c :
            spans(modelIds, starts, ends, mapping.modelLabels(), Chunker.Mode.DEFAULT)) {
          if (mapping.dropped().contains(c.type())) {
            dropped.add(c);
          }
        }
      }
      return new Scored(doc, goldSpans, predicted, dropped);
    }

    /** Adds the counts of {@code other} (other documents) to this; returns this. */
    public Tally merge(Tally other) {
      standard.merge(other.standard);
      strict.merge(other.strict);
      other.byLang.forEach((l, s) -> byLang.computeIfAbsent(l, k -> new EntityScores()).merge(s));
      other.byLangStrict.forEach(
          (l, s) -> byLangStrict.computeIfAbsent(l, k -> new EntityScores()).merge(s));
      confusion.merge(other.confusion);
      return this;
    }

    /**
     * Lets the document ids go ({@link EntityScores#forgetItemIds}): the tally is then as small as
     * its counts. For tallies whose documents are counted once by construction. Returns this.
     */
    public Tally forgetDocumentIds() {
      standard.forgetItemIds();
      strict.forgetItemIds();
      byLang.values().forEach(EntityScores::forgetItemIds);
      byLangStrict.values().forEach(EntityScores::forgetItemIds);
      return this;
    }

    public Result result() {
      return new Result(standard, strict, byLang, byLangStrict, confusion);
    }
  }

  /** Scores a model whose labels are the corpus' own. */
  public static Result evaluate(
      TokenClassificationModel model,
      List<Example> windows,
      Map<String, GoldDocument> gold,
      Labels labels,
      int batchSize) {
    return evaluate(
        model, windows, gold, labels, batchSize, LabelMapping.identity(labels), d -> {});
  }

  /**
   * Scores the model's predictions, read through {@code mapping} into the corpus' label space
   * ({@code labels}); {@code each} sees every document as scored (for examples), in {@code gold}'s
   * order. Predicts on the calling thread ({@link #predict}); {@link ExecutorEvaluation} does the
   * same on Spark's executors, with the same batches and the same {@link Tally}.
   */
  public static Result evaluate(
      TokenClassificationModel model,
      List<Example> windows,
      Map<String, GoldDocument> gold,
      Labels labels,
      int batchSize,
      LabelMapping mapping,
      Consumer<Scored> each) {
    return score(windows, predict(model, windows, batchSize), gold, labels, mapping, each);
  }

  /**
   * Scores predictions made already ({@link #predict}: arg-max label ids keyed {@code id#window})
   * of {@code windows}, the windows of the documents of {@code gold} in (id, window) order, as
   * {@link #evaluate} does.
   */
  public static Result score(
      List<Example> windows,
      Map<String, int[][]> predictions,
      Map<String, GoldDocument> gold,
      Labels labels,
      LabelMapping mapping,
      Consumer<Scored> each) {
    Map<String, List<WindowPrediction>> byDocument = new HashMap<>();
    for (Example w : windows) {
      byDocument
          .computeIfAbsent(w.id(), id -> new ArrayList<>())
          .add(WindowPrediction.of(w, predictions.get(w.id() + "#" + w.window())[0]));
    }
    Tally tally = new Tally();
    for (GoldDocument doc : gold.values()) {
      each.accept(tally.add(doc, byDocument.getOrDefault(doc.id(), List.of()), labels, mapping));
    }
    return tally.result();
  }

  /**
   * Label ids of tokens → entity spans in code points. A chunk ends at its last labelled token; a
   * following token without label (a later subword when only first subwords are labelled) that
   * touches it extends it, as in {@link io.sparkner.align.SpanDecoder}.
   */
  static List<Chunker.Chunk> spans(
      int[] ids, int[] starts, int[] ends, Labels labels, Chunker.Mode mode) {
    return spans(ids, starts, ends, labels.labels(), mode);
  }

  static List<Chunker.Chunk> spans(
      int[] ids, int[] starts, int[] ends, List<String> labelNames, Chunker.Mode mode) {
    List<Chunker.Chunk> out = new ArrayList<>();
    for (Chunker.Chunk c : Chunker.chunks(ids, labelNames, mode)) {
      int end = ends[c.end() - 1];
      for (int j = c.end();
          j < ids.length && ids[j] < 0 && starts[j] == end && ends[j] > starts[j];
          j++) {
        end = ends[j];
      }
      out.add(new Chunker.Chunk(c.type(), starts[c.start()], end));
    }
    return out;
  }

  /**
   * Argmax label of every token of every window, keyed {@code id#window}; length-sorted batches:
   * the windows sorted by length (stable: ties keep the given order), cut into batches of {@code
   * batchSize}, each forwarded by {@link #forward}.
   */
  public static Map<String, int[][]> predict(
      TokenClassificationModel model, List<Example> windows, int batchSize) {
    if (batchSize < 1) {
      // the batch loop below would never end with 0, and fail on a negative size
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
    List<Example> sorted = new ArrayList<>(windows);
    sorted.sort(Comparator.comparingInt(e -> e.inputIds().length));
    Map<String, int[][]> out = new HashMap<>();
    for (int from = 0; from < sorted.size(); from += batchSize) {
      List<Example> part = sorted.subList(from, Math.min(sorted.size(), from + batchSize));
      int[][] p = forward(model, part);
      for (int i = 0; i < part.size(); i++) {
        Example e = part.get(i);
        out.put(e.id() + "#" + e.window(), new int[][] {p[i]});
      }
    }
    return out;
  }

  /**
   * One batch forward, in the order given, padded to its longest window ({@link Batch}), autograd
   * off: per window the predicted label id of each of its positions ({@link
   * TokenClassificationModel#decode}: the arg-max, or with a CRF the Viterbi path over the window's
   * labelled positions and {@link Labels#IGNORE} elsewhere). The result of a window depends on the
   * batch it is in (padding length, matrix shapes), so both evaluation paths forward the same
   * batches.
   */
  static int[][] forward(TokenClassificationModel model, List<Example> part) {
    int pad = model.config().padTokenId;
    try (NDManager scope = model.manager().newSubManager();
        Autograd.Scope off = Autograd.paused()) {
      Batch batch = Batch.of(part, pad, scope);
      NDArray logits = model.logits(batch.inputIds(), batch.attentionMask(), null, false);
      int l = (int) logits.getShape().get(1);
      boolean[][] chain = new boolean[part.size()][l];
      for (int i = 0; i < part.size(); i++) {
        int[] labels = part.get(i).labels();
        for (int j = 0; j < labels.length; j++) {
          chain[i][j] = labels[j] != Labels.IGNORE;
        }
      }
      int[][] decoded = model.decode(logits, chain);
      int[][] out = new int[part.size()][];
      for (int i = 0; i < part.size(); i++) {
        out[i] = Arrays.copyOf(decoded[i], part.get(i).inputIds().length);
      }
      return out;
    }
  }
}
