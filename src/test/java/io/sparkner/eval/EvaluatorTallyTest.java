package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.corpus.Entity;
import io.sparkner.eval.Evaluator.WindowPrediction;
import io.sparkner.eval.metrics.LabelMapping;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One document scored by {@link Evaluator.Tally}, in both modes, for both label schemes. */
class EvaluatorTallyTest {
  // "TaroTokyo": PER over the first two tokens, LOC over the third
  private static final GoldDocument DOC =
      new GoldDocument(
          "d1", "ja", "TaroTokyo", List.of(new Entity(0, 4, "PER"), new Entity(4, 9, "LOC")));
  private static final int[] STARTS = {0, 2, 4};
  private static final int[] ENDS = {2, 4, 9};

  @Test
  void strictModeOfIoLabelsReadsEveryRunAsAnEntity() {
    Labels io = new Labels(LabelScheme.IO, List.of("LOC", "PER"));
    int[] tags = {io.id("PER", false), io.id("PER", false), io.id("LOC", false)};
    Evaluator.Result r = score(io, tags, tags);
    assertEquals(1.0, r.standard().micro().f1());
    // IO has no B- tags: seqeval's IOB2 strict reading found no entity here (F1 0)
    assertEquals(1.0, r.strict().micro().f1());
    assertEquals(1.0, r.byLangStrict().get("ja").micro().f1());
  }

  @Test
  void strictModeOfIob2LabelsStillDropsEntitiesWithoutABeginning() {
    Labels iob2 = new Labels(LabelScheme.IOB2, List.of("LOC", "PER"));
    int[] gold = {iob2.id("PER", true), iob2.id("PER", false), iob2.id("LOC", true)};
    int[] predicted = {iob2.id("PER", false), iob2.id("PER", false), iob2.id("LOC", true)};
    Evaluator.Result r = score(iob2, gold, predicted);
    assertEquals(1.0, r.standard().micro().f1());
    // strict: I-PER I-PER is no entity, B-LOC is: precision 1/1, recall 1/2
    assertEquals(2.0 / 3.0, r.strict().micro().f1(), 1e-12);
  }

  private static Evaluator.Result score(Labels labels, int[] gold, int[] predicted) {
    Evaluator.Tally t = new Evaluator.Tally();
    t.add(
        DOC,
        List.of(new WindowPrediction(0, gold, STARTS, ENDS, predicted)),
        labels,
        LabelMapping.identity(labels));
    return t.result();
  }
}
