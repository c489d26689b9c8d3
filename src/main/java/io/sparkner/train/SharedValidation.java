package io.sparkner.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.collective.DirectFloats;
import io.sparkner.eval.Evaluator;
import io.sparkner.eval.metrics.EntityScores;
import io.sparkner.eval.metrics.LabelMapping;
import io.sparkner.model.Example;
import io.sparkner.model.TokenClassificationModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Validation shared by all ranks ({@link ValidationPlan}): each rank predicts its batches, the
 * predictions are summed over the ring into one vector of all validation tokens (each rank's at its
 * windows' places, zero elsewhere), each rank scores the documents it owns from that vector, and
 * the entity and token counts — correct, predicted and gold entities per mode, language and type,
 * scored and correct tokens — are summed over the ring. Every rank ends with the same counts, and
 * they are the counts one replica scoring every document alone finds: the same batches give the
 * same predictions, and counts add up exactly.
 */
final class SharedValidation {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SharedValidation() {}

  /** The summed scores: micro P/R/F1 in seqeval's default and strict modes, token accuracy. */
  record Scores(EntityScores.Scores standard, EntityScores.Scores strict, double tokenAccuracy) {
    /** The micro scores of one JVM's evaluation. */
    static Scores of(Evaluator.Result r) {
      return new Scores(r.standard().micro(), r.strict().micro(), r.tokens().accuracy());
    }

    /** The validation record of metrics.jsonl. */
    ObjectNode toJson() {
      ObjectNode e = JSON.createObjectNode();
      e.put("eval_precision", standard.precision());
      e.put("eval_recall", standard.recall());
      e.put("eval_f1", standard.f1());
      e.put("eval_strict_f1", strict.f1());
      e.put("eval_token_accuracy", tokenAccuracy);
      return e;
    }
  }

  static Scores run(
      TokenClassificationModel model,
      RankData.Shared share,
      Labels labels,
      GradientExchange exchange,
      long step) {
    ValidationPlan plan = share.plan();
    if (plan.tokens() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "the validation split has "
              + plan.tokens()
              + " tokens, more than one prediction vector holds: validate on a sample");
    }
    DirectFloats predictions = DirectFloats.allocate((int) plan.tokens());
    // predicting takes each rank its own time: the others' waiting does not count as a timeout
    exchange.longPhase("validation", step, () -> predict(model, share, predictions));
    exchange.allReduceSum(predictions, "validation predictions", step);
    Evaluator.Result mine = score(share, predictions, labels);
    List<String> types = labels.types();
    List<String> langs = plan.languages();
    double[] counts = new double[2 * langs.size() * types.size() * 3 + 2];
    pack(mine.byLang(), langs, types, counts, 0);
    pack(mine.byLangStrict(), langs, types, counts, langs.size() * types.size() * 3);
    counts[counts.length - 2] = mine.tokens().tokens();
    counts[counts.length - 1] = mine.tokens().correct();
    double[] sum = exchange.allReduceSum(counts, step);
    int half = langs.size() * types.size() * 3;
    long tokens = (long) sum[sum.length - 2];
    long correct = (long) sum[sum.length - 1];
    return new Scores(
        micro(sum, 0, half), micro(sum, half, half), tokens == 0 ? 0.0 : (double) correct / tokens);
  }

  /** This rank's batches, their argmax labels written at their windows' places. */
  private static void predict(
      TokenClassificationModel model, RankData.Shared share, DirectFloats out) {
    ValidationPlan plan = share.plan();
    List<Example> windows = new ArrayList<>(share.predicted().size());
    for (RankData.Indexed w : share.predicted()) {
      windows.add(w.window());
    }
    // in (length, id, window) order, whole batches of the plan's size: the one replica's batches
    Map<String, int[][]> p = Evaluator.predict(model, windows, plan.batchSize());
    for (RankData.Indexed w : share.predicted()) {
      Example e = w.window();
      int[] labels = p.get(e.id() + "#" + e.window())[0];
      int at = (int) plan.offset(w.index(), e.inputIds().length);
      for (int j = 0; j < labels.length; j++) {
        out.put(at + j, labels[j]);
      }
    }
  }

  /** The documents this rank owns, scored with the summed predictions. */
  private static Evaluator.Result score(
      RankData.Shared share, DirectFloats predictions, Labels labels) {
    ValidationPlan plan = share.plan();
    List<Example> windows = new ArrayList<>(share.scored().size());
    Map<String, int[][]> p = new HashMap<>();
    for (RankData.Indexed w : share.scored()) {
      Example e = w.window();
      int at = (int) plan.offset(w.index(), e.labels().length);
      int[] ids = new int[e.labels().length];
      for (int j = 0; j < ids.length; j++) {
        ids[j] = Math.round(predictions.get(at + j));
      }
      p.put(e.id() + "#" + e.window(), new int[][] {ids});
      windows.add(e);
    }
    // the (id, window) order one replica reads them in
    windows.sort(
        Comparator.comparing(Example::id, StreamedWindows.SPARK_ORDER)
            .thenComparingInt(Example::window));
    return Evaluator.score(
        windows, p, share.gold(), labels, LabelMapping.identity(labels), d -> {});
  }

  /** Correct, predicted and gold entities per (language, type) into {@code out} from {@code at}. */
  private static void pack(
      Map<String, EntityScores> byLang,
      List<String> langs,
      List<String> types,
      double[] out,
      int at) {
    for (Map.Entry<String, EntityScores> e : byLang.entrySet()) {
      int l = langs.indexOf(e.getKey());
      if (l < 0) {
        throw new IllegalStateException(
            "validation document language " + e.getKey() + " is not among " + langs);
      }
      for (String type : e.getValue().types()) {
        int t = types.indexOf(type);
        if (t < 0) {
          throw new IllegalStateException("entity type " + type + " is not among " + types);
        }
        int k = at + (l * types.size() + t) * 3;
        long[] n = e.getValue().counts(type);
        for (int i = 0; i < 3; i++) {
          out[k + i] += n[i];
        }
      }
    }
  }

  /** Micro scores from the summed (correct, predicted, gold) triples in {@code [from, from+n)}. */
  private static EntityScores.Scores micro(double[] sum, int from, int n) {
    long correct = 0;
    long predicted = 0;
    long gold = 0;
    for (int k = from; k < from + n; k += 3) {
      correct += (long) sum[k];
      predicted += (long) sum[k + 1];
      gold += (long) sum[k + 2];
    }
    return EntityScores.Scores.of(correct, predicted, gold);
  }
}
