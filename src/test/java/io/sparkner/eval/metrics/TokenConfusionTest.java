package io.sparkner.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenConfusionTest {
  private static final double EPS = 1e-12;

  private static TokenConfusion readme() {
    return new TokenConfusion()
        .add(
            List.of("O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"),
            List.of("O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"))
        .add(List.of("B-PER", "I-PER", "O"), List.of("B-PER", "I-PER", "O"));
  }

  /**
   * seqeval README example: 10 tokens, 2 wrong labels (O→B-MISC at 2, B-MISC→I-MISC at 3), so
   * accuracy 8/10 = 0.80 as seqeval's accuracy_score. By type: O→O 4 (0, 1, 6 and the last O of the
   * second sentence), O→MISC 1 (token 2), MISC→MISC 3 (B-MISC read as I-MISC is still MISC),
   * PER→PER 2.
   */
  @Test
  void seqevalReadmeExample() {
    TokenConfusion c = readme();
    assertEquals(10, c.tokens());
    assertEquals(8, c.correct());
    assertEquals(0.8, c.accuracy(), EPS);
    assertEquals(4, c.count("O", "O"));
    assertEquals(1, c.count("O", "MISC"));
    assertEquals(0, c.count("MISC", "O"));
    assertEquals(3, c.count("MISC", "MISC"));
    assertEquals(2, c.count("PER", "PER"));
    assertEquals(0, c.count("PER", "LOC"));
    assertEquals(List.of("MISC", "PER", "O"), c.types());
  }

  @Test
  void labelIdsSkipIgnoredPositions() {
    Labels labels = new Labels(LabelScheme.IOB2, List.of("LOC", "PER"));
    // O, B-LOC, I-LOC, B-PER, I-PER
    int[] gold = {-100, 3, 4, 0, 1, -100};
    int[] pred = {0, 3, 2, 0, 3, 4};
    TokenConfusion c = new TokenConfusion().add(gold, pred, labels.labels());
    assertEquals(4, c.tokens());
    assertEquals(2, c.correct());
    assertEquals(0.5, c.accuracy(), EPS);
    assertEquals(1, c.count("PER", "PER"));
    assertEquals(1, c.count("PER", "LOC"));
    assertEquals(1, c.count("O", "O"));
    assertEquals(1, c.count("LOC", "PER"));
    assertEquals(List.of("LOC", "PER", "O"), c.types());
    assertThrows(
        IllegalArgumentException.class,
        () -> new TokenConfusion().add(new int[] {1}, new int[] {-100}, labels.labels()));
    assertThrows(
        IllegalArgumentException.class,
        () -> new TokenConfusion().add(new int[] {1}, new int[] {1, 2}, labels.labels()));
  }

  @Test
  void nullGoldTagsAreNotScored() {
    TokenConfusion c =
        new TokenConfusion().add(Arrays.asList(null, "B-PER", null), List.of("O", "B-PER", "O"));
    assertEquals(1, c.tokens());
    assertEquals(1.0, c.accuracy(), EPS);
    assertEquals(List.of("PER"), c.types());
  }

  @Test
  void emptyHasZeroAccuracy() {
    TokenConfusion c = new TokenConfusion().add(List.of(), List.of());
    assertEquals(0, c.tokens());
    assertEquals(0.0, c.accuracy(), EPS);
    assertEquals(List.of(), c.types());
    assertEquals(0, c.toJson().get("matrix").size());
  }

  @Test
  void mergeAndSerialization() throws Exception {
    TokenConfusion a =
        new TokenConfusion()
            .add(
                List.of("O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"),
                List.of("O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"));
    TokenConfusion b =
        new TokenConfusion().add(List.of("B-PER", "I-PER", "O"), List.of("B-PER", "I-PER", "O"));
    TokenConfusion merged = roundTrip(a).merge(roundTrip(b));
    assertEquals(readme().toJson(), merged.toJson());
  }

  @Test
  void jsonLayout() {
    ObjectNode json = readme().toJson();
    String expected =
        "{\"tokens\":10,\"correct\":8,\"accuracy\":0.8,\"types\":[\"MISC\",\"PER\",\"O\"],"
            + "\"matrix\":[[3,0,0],[0,2,0],[1,0,4]]}";
    assertEquals(expected, json.toString());
  }

  private static TokenConfusion roundTrip(TokenConfusion c) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (TokenConfusion) in.readObject();
    }
  }
}
