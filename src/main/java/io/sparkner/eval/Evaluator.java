package io.sparkner.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.ArrayList;
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
 * documents' gold spans, in seqeval's default (conlleval) and strict IOB2 modes, overall and per
 * language; plus token accuracy and the token type confusion matrix. A model trained on other types
 * is read through a {@link LabelMapping} into the corpus' label space.
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
      List<Chunker.Chunk> dropped) {}

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
   * order.
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
   * Scores predictions made already ({@link #predict}: argmax label ids keyed {@code id#window}) of
   * {@code windows}, the windows of the documents of {@code gold}, as {@link #evaluate} does.
   */
  public static Result score(
      List<Example> windows,
      Map<String, int[][]> predictions,
      Map<String, GoldDocument> gold,
      Labels labels,
      LabelMapping mapping,
      Consumer<Scored> each) {
    Map<String, WindowMerge> merged = new HashMap<>();
    for (int k = 0; k < windows.size(); k++) {
      Example w = windows.get(k);
      merged.computeIfAbsent(w.id(), id -> new WindowMerge()).add(k, w.starts(), w.ends());
    }
    EntityScores standard = new EntityScores();
    EntityScores strict = new EntityScores();
    Map<String, EntityScores> byLang = new TreeMap<>();
    Map<String, EntityScores> byLangStrict = new TreeMap<>();
    TokenConfusion confusion = new TokenConfusion();
    for (GoldDocument doc : gold.values()) {
      WindowMerge m = merged.get(doc.id());
      List<WindowMerge.Token> tokens = m == null ? List.of() : m.tokens();
      int n = tokens.size();
      int[] starts = new int[n];
      int[] ends = new int[n];
      int[] goldIds = new int[n];
      int[] predIds = new int[n];
      int[] modelIds = new int[n];
      for (int i = 0; i < n; i++) {
        WindowMerge.Token t = tokens.get(i);
        Example w = windows.get(t.window());
        starts[i] = t.start();
        ends[i] = t.end();
        goldIds[i] = w.labels()[t.position()];
        // score only where the gold has a label
        modelIds[i] =
            goldIds[i] < 0
                ? Labels.IGNORE
                : predictions.get(w.id() + "#" + w.window())[0][t.position()];
        predIds[i] = mapping.apply(modelIds[i]);
      }
      List<Chunker.Chunk> goldSpans = new ArrayList<>();
      for (Entity e : doc.entities()) {
        goldSpans.add(new Chunker.Chunk(e.type(), e.start(), e.end()));
      }
      List<Chunker.Chunk> predicted = spans(predIds, starts, ends, labels, Chunker.Mode.DEFAULT);
      standard.add(doc.id(), goldSpans, predicted);
      List<Chunker.Chunk> predictedStrict =
          spans(predIds, starts, ends, labels, Chunker.Mode.STRICT);
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
      each.accept(new Scored(doc, goldSpans, predicted, dropped));
    }
    return new Result(standard, strict, byLang, byLangStrict, confusion);
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
   * Argmax label of every token of every window, keyed {@code id#window}; length-sorted batches.
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
    int pad = model.config().padTokenId;
    for (int from = 0; from < sorted.size(); from += batchSize) {
      List<Example> part = sorted.subList(from, Math.min(sorted.size(), from + batchSize));
      try (NDManager scope = model.manager().newSubManager();
          Autograd.Scope off = Autograd.paused()) {
        Batch batch = Batch.of(part, pad, scope);
        NDArray argmax =
            model.logits(batch.inputIds(), batch.attentionMask(), null, false).argMax(-1);
        long[] flat = argmax.toLongArray();
        int l = (int) argmax.getShape().get(1);
        for (int i = 0; i < part.size(); i++) {
          Example e = part.get(i);
          int[] p = new int[e.inputIds().length];
          for (int j = 0; j < p.length; j++) {
            p[j] = (int) flat[i * l + j];
          }
          out.put(e.id() + "#" + e.window(), new int[][] {p});
        }
      }
    }
    return out;
  }
}
