package io.sparkner.eval.metrics;

import static io.sparkner.eval.metrics.Chunker.Mode.DEFAULT;
import static io.sparkner.eval.metrics.Chunker.Mode.STRICT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.eval.metrics.Chunker.Chunk;
import io.sparkner.eval.metrics.EntityScores.Scores;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class EntityScoresTest {
  private static final double EPS = 1e-12;

  private static final List<String> README_TRUE_0 =
      List.of("O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O");
  private static final List<String> README_PRED_0 =
      List.of("O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O");
  private static final List<String> README_TRUE_1 = List.of("B-PER", "I-PER", "O");
  private static final List<String> README_PRED_1 = List.of("B-PER", "I-PER", "O");

  private static void assertScores(double p, double r, double f1, long support, Scores s) {
    assertEquals(p, s.precision(), EPS, "precision of " + s);
    assertEquals(r, s.recall(), EPS, "recall of " + s);
    assertEquals(f1, s.f1(), EPS, "f1 of " + s);
    assertEquals(support, s.support(), "support of " + s);
  }

  private static EntityScores readme(Chunker.Mode mode) {
    return new EntityScores()
        .add("s0", README_TRUE_0, README_PRED_0, mode)
        .add("s1", README_TRUE_1, README_PRED_1, mode);
  }

  /**
   * seqeval README: gold MISC(3,6) and PER(0,2), predicted MISC(2,6) and PER(0,2). One of two
   * predictions is correct and one of two gold entities found: micro 0.50; MISC 0, PER 1; macro and
   * weighted (supports 1 and 1) 0.50.
   */
  @Test
  void seqevalReadmeExample() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      EntityScores s = readme(mode);
      assertEquals(List.of("MISC", "PER"), s.types());
      assertScores(0.5, 0.5, 0.5, 2, s.micro());
      assertScores(0.0, 0.0, 0.0, 1, s.scores("MISC"));
      assertScores(1.0, 1.0, 1.0, 1, s.scores("PER"));
      assertScores(0.5, 0.5, 0.5, 2, s.macro());
      assertScores(0.5, 0.5, 0.5, 2, s.weighted());
      assertEquals(2, s.items());
      assertEquals(1, s.correct());
      assertEquals(2, s.predicted());
      assertEquals(2, s.gold());
    }
  }

  /**
   * seqeval README, strict mode: y_true [['B-NP', 'I-NP', 'O']], y_pred [['I-NP', 'I-NP', 'O']]. By
   * default the prediction I-NP I-NP is the chunk NP(0,2), equal to the gold one: everything 1.00.
   * In strict IOB2 an I-NP that does not follow B-NP/I-NP belongs to no entity, so nothing is
   * predicted: precision 0/0 → 0, recall 0/1 = 0, F1 0, support 1.
   */
  @Test
  void seqevalReadmeStrictExample() {
    List<String> gold = List.of("B-NP", "I-NP", "O");
    List<String> pred = List.of("I-NP", "I-NP", "O");
    EntityScores lenient = new EntityScores().add("s", gold, pred, DEFAULT);
    assertScores(1, 1, 1, 1, lenient.scores("NP"));
    assertScores(1, 1, 1, 1, lenient.micro());
    EntityScores strict = new EntityScores().add("s", gold, pred, STRICT);
    assertScores(0, 0, 0, 1, strict.scores("NP"));
    assertScores(0, 0, 0, 1, strict.micro());
    assertScores(0, 0, 0, 1, strict.macro());
    assertScores(0, 0, 0, 1, strict.weighted());
    assertEquals(0, strict.predicted());
  }

  /**
   * gold: B-PER I-PER O B-LOC I-LOC O B-ORG → PER(0,2) LOC(3,5) ORG(6,7), in both modes.
   *
   * <p>pred: B-PER I-LOC O I-LOC I-LOC O B-ORG.
   *
   * <p>Default: PER(0,1) LOC(1,2) LOC(3,5) ORG(6,7); correct LOC(3,5), ORG(6,7). LOC: 1 correct of
   * 2 predicted, 1 gold → P 1/2, R 1, F1 2/3. ORG: 1, 1, 1. PER: 0 of 1, 1 gold → 0. Micro: P 2/4,
   * R 2/3, F1 2·(1/2)(2/3)/(1/2+2/3) = 4/7. Macro = weighted (supports all 1): P (1/2+1+0)/3 = 1/2,
   * R (1+1+0)/3 = 2/3, F1 (2/3+1+0)/3 = 5/9.
   *
   * <p>Strict: the I-LOC after B-PER, the I-LOC after O and the I-LOC that follows it are no
   * entities: PER(0,1) ORG(6,7). LOC: 0 predicted, 1 gold → 0. ORG 1. PER 0. Micro: P 1/2, R 1/3,
   * F1 2·(1/6)/(5/6) = 2/5. Macro = weighted: P 1/3, R 1/3, F1 1/3.
   */
  @Test
  void defaultAndStrictDifferOnIllFormedPredictions() {
    List<String> gold = List.of("B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG");
    List<String> pred = List.of("B-PER", "I-LOC", "O", "I-LOC", "I-LOC", "O", "B-ORG");

    EntityScores d = new EntityScores().add("x", gold, pred, DEFAULT);
    assertScores(0.5, 1, 2.0 / 3, 1, d.scores("LOC"));
    assertScores(1, 1, 1, 1, d.scores("ORG"));
    assertScores(0, 0, 0, 1, d.scores("PER"));
    assertScores(0.5, 2.0 / 3, 4.0 / 7, 3, d.micro());
    assertScores(0.5, 2.0 / 3, 5.0 / 9, 3, d.macro());
    assertScores(0.5, 2.0 / 3, 5.0 / 9, 3, d.weighted());

    EntityScores s = new EntityScores().add("x", gold, pred, STRICT);
    assertScores(0, 0, 0, 1, s.scores("LOC"));
    assertScores(1, 1, 1, 1, s.scores("ORG"));
    assertScores(0, 0, 0, 1, s.scores("PER"));
    assertScores(0.5, 1.0 / 3, 0.4, 3, s.micro());
    assertScores(1.0 / 3, 1.0 / 3, 1.0 / 3, 3, s.macro());
    assertScores(1.0 / 3, 1.0 / 3, 1.0 / 3, 3, s.weighted());
  }

  /**
   * Supports differ, so weighted ≠ macro. gold: PER(0,1) PER(2,3) PER(4,5) LOC(6,7); pred: PER(0,1)
   * PER(2,3) LOC(6,8). PER: P 2/2, R 2/3, F1 4/5; LOC: P 0, R 0, F1 0. Macro: P 1/2, R 1/3, F1 2/5.
   * Weighted by 3 and 1: P 3/4, R (3·2/3)/4 = 1/2, F1 (3·4/5)/4 = 3/5. Micro: P 2/3, R 2/4, F1
   * 2·(2/3)(1/2)/(7/6) = 4/7.
   */
  @Test
  void weightedAverageUsesSupport() {
    EntityScores s =
        new EntityScores()
            .add(
                "doc",
                List.of(
                    new Chunk("PER", 0, 1),
                    new Chunk("PER", 2, 3),
                    new Chunk("PER", 4, 5),
                    new Chunk("LOC", 6, 7)),
                List.of(new Chunk("PER", 0, 1), new Chunk("PER", 2, 3), new Chunk("LOC", 6, 8)));
    assertScores(1, 2.0 / 3, 0.8, 3, s.scores("PER"));
    assertScores(0, 0, 0, 1, s.scores("LOC"));
    assertScores(0.5, 1.0 / 3, 0.4, 4, s.macro());
    assertScores(0.75, 0.5, 0.6, 4, s.weighted());
    assertScores(2.0 / 3, 0.5, 4.0 / 7, 4, s.micro());
  }

  /**
   * seqeval 1.x reports the union of gold and predicted types: a type only predicted has support 0,
   * P = R = F1 = 0, and lowers the macro average; it has no weight in the weighted average.
   */
  @Test
  void predictedOnlyTypeCountsInMacroAverage() {
    EntityScores s =
        new EntityScores()
            .add(
                "a",
                List.of("B-PER", "O", "O", "O"),
                List.of("B-PER", "O", "O", "B-MISC"),
                DEFAULT);
    assertEquals(List.of("MISC", "PER"), s.types());
    assertScores(0, 0, 0, 0, s.scores("MISC"));
    assertScores(1, 1, 1, 1, s.scores("PER"));
    assertScores(0.5, 0.5, 0.5, 1, s.macro());
    assertScores(1, 1, 1, 1, s.weighted());
    assertScores(0.5, 1, 2.0 / 3, 1, s.micro());
  }

  @Test
  void noPredictedEntitiesGiveZeroPrecisionAndRecall() {
    EntityScores s =
        new EntityScores()
            .add(
                "a", List.of("B-PER", "I-PER", "O", "B-LOC"), List.of("O", "O", "O", "O"), DEFAULT);
    assertScores(0, 0, 0, 2, s.micro());
    assertScores(0, 0, 0, 2, s.macro());
    assertScores(0, 0, 0, 2, s.weighted());
    assertScores(0, 0, 0, 1, s.scores("PER"));
    assertScores(0, 0, 0, 1, s.scores("LOC"));
  }

  @Test
  void nothingAnywhereIsAllZero() {
    for (EntityScores s :
        List.of(
            new EntityScores(),
            new EntityScores().add("a", List.of("O", "O"), List.of("O", "O"), DEFAULT),
            new EntityScores().add("e", List.of(), List.of(), STRICT))) {
      assertEquals(List.of(), s.types());
      assertScores(0, 0, 0, 0, s.micro());
      assertScores(0, 0, 0, 0, s.macro());
      assertScores(0, 0, 0, 0, s.weighted());
      assertEquals(0, s.toJson().get("per_type").size());
    }
    // only false positives: weighted is 0 (zero support), micro precision 0 of 1
    EntityScores fp = new EntityScores().add("a", List.of("O"), List.of("B-PER"), DEFAULT);
    assertScores(0, 0, 0, 0, fp.micro());
    assertScores(0, 0, 0, 0, fp.weighted());
    assertEquals(1, fp.predicted());
  }

  /** gold B-PER B-PER is two entities; the prediction B-PER I-PER is one entity PER(0,2). */
  @Test
  void adjacentEntitiesMustBeSplitExactly() {
    EntityScores s =
        new EntityScores().add("a", List.of("B-PER", "B-PER"), List.of("B-PER", "I-PER"), DEFAULT);
    assertEquals(2, s.gold());
    assertEquals(1, s.predicted());
    assertEquals(0, s.correct());
    assertScores(0, 0, 0, 2, s.micro());
  }

  @Test
  void typeStartAndEndMustAllMatch() {
    Chunk gold = new Chunk("PER", 2, 4);
    for (Chunk wrong :
        List.of(new Chunk("LOC", 2, 4), new Chunk("PER", 1, 4), new Chunk("PER", 2, 5))) {
      assertEquals(0, new EntityScores().add("a", List.of(gold), List.of(wrong)).correct());
    }
    assertEquals(1, new EntityScores().add("a", List.of(gold), List.of(gold)).correct());
  }

  @Test
  void entitiesOfDifferentItemsNeverMatch() {
    Chunk per = new Chunk("PER", 0, 1);
    EntityScores s =
        new EntityScores().add("a", List.of(per), List.of()).add("b", List.of(), List.of(per));
    assertEquals(0, s.correct());
    assertScores(0, 0, 0, 1, s.micro());
  }

  @Test
  void duplicateEntitiesOfAnItemCountOnce() {
    Chunk per = new Chunk("PER", 0, 1);
    EntityScores s = new EntityScores().add("a", List.of(per, per), List.of(per, per, per));
    assertEquals(1, s.gold());
    assertEquals(1, s.predicted());
    assertEquals(1, s.correct());
  }

  @Test
  void anItemIsCountedOnce() {
    EntityScores s = new EntityScores().add("a", List.of(), List.of());
    assertThrows(IllegalArgumentException.class, () -> s.add("a", List.of(), List.of()));
    EntityScores t = new EntityScores().add("a", List.of(), List.of());
    assertThrows(IllegalArgumentException.class, () -> s.merge(t));
    assertThrows(
        IllegalArgumentException.class,
        () -> new EntityScores().add("a", List.of("O"), List.of("O", "O"), DEFAULT));
  }

  @Test
  void mergedPartsEqualTheWhole() throws Exception {
    EntityScores left = new EntityScores().add("s0", README_TRUE_0, README_PRED_0, DEFAULT);
    EntityScores right = new EntityScores().add("s1", README_TRUE_1, README_PRED_1, DEFAULT);
    EntityScores merged = roundTrip(left).merge(roundTrip(right));
    assertEquals(readme(DEFAULT).toJson(), merged.toJson());
    assertEquals(readme(DEFAULT).toJson(), new EntityScores().merge(merged).toJson());
  }

  @Test
  void jsonLayout() {
    ObjectNode json = readme(DEFAULT).toJson();
    assertEquals(2, json.get("items").asLong());
    for (String avg : List.of("micro", "macro", "weighted")) {
      JsonNode a = json.get(avg);
      assertEquals(0.5, a.get("precision").asDouble(), EPS);
      assertEquals(0.5, a.get("recall").asDouble(), EPS);
      assertEquals(0.5, a.get("f1").asDouble(), EPS);
      assertEquals(2, a.get("support").asLong());
    }
    assertEquals(2, json.get("micro").get("predicted").asLong());
    assertEquals(1, json.get("micro").get("correct").asLong());
    JsonNode perType = json.get("per_type");
    assertEquals(List.of("MISC", "PER"), List.copyOf(iterable(perType.fieldNames())));
    assertEquals(0.0, perType.get("MISC").get("f1").asDouble(), EPS);
    assertEquals(1, perType.get("MISC").get("support").asLong());
    assertEquals(1, perType.get("MISC").get("predicted").asLong());
    assertEquals(0, perType.get("MISC").get("correct").asLong());
    assertEquals(1.0, perType.get("PER").get("precision").asDouble(), EPS);
    assertEquals(1.0, perType.get("PER").get("recall").asDouble(), EPS);
  }

  private static List<String> iterable(java.util.Iterator<String> it) {
    List<String> out = new java.util.ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  private static EntityScores roundTrip(EntityScores s) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (EntityScores) in.readObject();
    }
  }
}
