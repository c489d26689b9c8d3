package io.sparkner.eval.metrics;

import static io.sparkner.eval.metrics.Chunker.Mode.DEFAULT;
import static io.sparkner.eval.metrics.Chunker.Mode.STRICT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.align.SpanDecoder;
import io.sparkner.corpus.Entity;
import io.sparkner.eval.metrics.Chunker.Chunk;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkerTest {

  private static List<Chunk> chunks(Chunker.Mode mode, String... tags) {
    return Chunker.chunks(Arrays.asList(tags), mode);
  }

  private static Chunk c(String type, int start, int end) {
    return new Chunk(type, start, end);
  }

  @Test
  void seqevalDocstringExample() {
    // seqeval get_entities(['B-PER', 'I-PER', 'O', 'B-LOC']) = [('PER', 0, 1), ('LOC', 3, 3)]
    // (inclusive ends); ours are exclusive.
    List<Chunk> expected = List.of(c("PER", 0, 2), c("LOC", 3, 4));
    assertEquals(expected, chunks(DEFAULT, "B-PER", "I-PER", "O", "B-LOC"));
    assertEquals(expected, chunks(STRICT, "B-PER", "I-PER", "O", "B-LOC"));
    assertEquals(expected, Chunker.chunks(List.of("B-PER", "I-PER", "O", "B-LOC")));
  }

  @Test
  void insideWithoutBeginIsAnEntityOnlyInDefaultMode() {
    assertEquals(List.of(c("PER", 1, 3)), chunks(DEFAULT, "O", "I-PER", "I-PER", "O"));
    assertEquals(List.of(), chunks(STRICT, "O", "I-PER", "I-PER", "O"));
    // at the start of the sequence
    assertEquals(List.of(c("PER", 0, 1)), chunks(DEFAULT, "I-PER"));
    assertEquals(List.of(), chunks(STRICT, "I-PER"));
  }

  @Test
  void typeChangeInsideAChunk() {
    assertEquals(List.of(c("PER", 0, 1), c("LOC", 1, 2)), chunks(DEFAULT, "B-PER", "I-LOC"));
    assertEquals(List.of(c("PER", 0, 1)), chunks(STRICT, "B-PER", "I-LOC"));
    // the stray I-LOC run belongs to nothing in strict mode, however long it is
    assertEquals(
        List.of(c("PER", 0, 2), c("LOC", 2, 4)),
        chunks(DEFAULT, "B-PER", "I-PER", "I-LOC", "I-LOC", "O"));
    assertEquals(List.of(c("PER", 0, 2)), chunks(STRICT, "B-PER", "I-PER", "I-LOC", "I-LOC", "O"));
    // I- of another type then back: three chunks by default
    assertEquals(
        List.of(c("PER", 0, 1), c("LOC", 1, 2), c("PER", 2, 3)),
        chunks(DEFAULT, "B-PER", "I-LOC", "I-PER"));
    assertEquals(List.of(c("PER", 0, 1)), chunks(STRICT, "B-PER", "I-LOC", "I-PER"));
  }

  @Test
  void entitiesAtTheEndOfTheSequence() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      assertEquals(List.of(c("LOC", 1, 3)), chunks(mode, "O", "B-LOC", "I-LOC"));
      assertEquals(List.of(c("LOC", 2, 3)), chunks(mode, "O", "O", "B-LOC"));
    }
  }

  @Test
  void beginAfterBeginOfTheSameTypeStartsASecondEntity() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      assertEquals(List.of(c("PER", 0, 1), c("PER", 1, 2)), chunks(mode, "B-PER", "B-PER"));
      assertEquals(
          List.of(c("PER", 0, 2), c("PER", 2, 3)), chunks(mode, "B-PER", "I-PER", "B-PER"));
    }
  }

  @Test
  void singleTokenEntities() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      assertEquals(List.of(c("X", 0, 1)), chunks(mode, "B-X"));
      assertEquals(
          List.of(c("PER", 1, 2), c("LOC", 3, 4)), chunks(mode, "O", "B-PER", "O", "B-LOC", "O"));
      assertEquals(List.of(c("PER", 0, 1), c("LOC", 1, 2)), chunks(mode, "B-PER", "B-LOC"));
    }
  }

  @Test
  void emptyAndAllOutside() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      assertEquals(List.of(), chunks(mode));
      assertEquals(List.of(), chunks(mode, "O", "O", "O"));
      assertEquals(List.of(), Chunker.chunks(new int[0], List.of("O"), mode));
    }
  }

  @Test
  void typesMayContainHyphens() {
    // Stockmark's ORG-P / ORG-O: the type is everything after the first hyphen
    assertEquals(
        List.of(c("ORG-P", 0, 2), c("ORG-O", 2, 3)),
        chunks(DEFAULT, "B-ORG-P", "I-ORG-P", "I-ORG-O"));
    assertEquals(List.of(c("ORG-P", 0, 2)), chunks(STRICT, "B-ORG-P", "I-ORG-P", "I-ORG-O"));
    assertEquals("ORG-P", Chunker.typeOf("I-ORG-P"));
    assertEquals("O", Chunker.typeOf("O"));
  }

  @Test
  void bareTagsHaveTheUnderscoreType() {
    // seqeval: a tag without a type, such as 'B', gets type '_'
    assertEquals(List.of(c("_", 0, 2)), chunks(DEFAULT, "B", "I", "O"));
    assertEquals(List.of(c("_", 0, 2)), chunks(STRICT, "B", "I", "O"));
  }

  @Test
  void defaultModeReadsIobesTags() {
    // S- is a whole entity, E- closes one; an E-/I- after O, E- or S- starts a new one
    assertEquals(
        List.of(c("PER", 0, 1), c("LOC", 1, 3), c("ORG", 4, 5)),
        chunks(DEFAULT, "S-PER", "B-LOC", "E-LOC", "O", "E-ORG"));
    assertEquals(
        List.of(c("LOC", 0, 2), c("LOC", 2, 3)), chunks(DEFAULT, "B-LOC", "E-LOC", "I-LOC"));
    assertEquals(
        List.of(c("LOC", 0, 1), c("LOC", 1, 3)), chunks(DEFAULT, "S-LOC", "I-LOC", "E-LOC"));
    assertEquals(List.of(c("LOC", 0, 1), c("LOC", 1, 2)), chunks(DEFAULT, "B-LOC", "S-LOC"));
  }

  @Test
  void invalidTagsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> chunks(DEFAULT, "X-PER"));
    assertThrows(IllegalArgumentException.class, () -> chunks(DEFAULT, "PER"));
    assertThrows(IllegalArgumentException.class, () -> chunks(DEFAULT, "BPER"));
    assertThrows(IllegalArgumentException.class, () -> chunks(DEFAULT, ""));
    assertThrows(IllegalArgumentException.class, () -> chunks(DEFAULT, "O-PER"));
    // seqeval's IOB2 scheme allows only B, I, O
    assertThrows(IllegalArgumentException.class, () -> chunks(STRICT, "S-PER"));
    assertThrows(IllegalArgumentException.class, () -> chunks(STRICT, "B-PER", "E-PER"));
  }

  @Test
  void ignoredPositionsNeitherStartNorEndAChunk() {
    for (Chunker.Mode mode : Chunker.Mode.values()) {
      // null is an ignored position; the chunk ends after its last scored token
      assertEquals(List.of(c("PER", 0, 3)), chunks(mode, "B-PER", null, "I-PER", null, "O", null));
      assertEquals(List.of(c("PER", 0, 1)), chunks(mode, "B-PER", null, "O"));
      assertEquals(List.of(c("PER", 0, 1)), chunks(mode, "B-PER", null));
      assertEquals(List.of(c("PER", 0, 1), c("PER", 2, 3)), chunks(mode, "B-PER", null, "B-PER"));
      assertEquals(List.of(), chunks(mode, null, null));
    }
    // an I- after an ignored position continues what precedes the ignored position
    assertEquals(List.of(c("PER", 2, 3)), chunks(DEFAULT, "O", null, "I-PER"));
    assertEquals(List.of(), chunks(STRICT, "O", null, "I-PER"));
  }

  @Test
  void labelIdsWithIgnoredPositions() {
    Labels labels = new Labels(LabelScheme.IOB2, List.of("PER", "LOC"));
    // O, B-LOC, I-LOC, B-PER, I-PER
    assertEquals(List.of("O", "B-LOC", "I-LOC", "B-PER", "I-PER"), labels.labels());
    int[] ids = {-100, 3, -100, 4, 0, 1, -100, 2, 2, -100};
    List<Chunk> expected = List.of(c("PER", 1, 4), c("LOC", 5, 9));
    assertEquals(expected, Chunker.chunks(ids, labels.labels(), DEFAULT));
    assertEquals(expected, Chunker.chunks(ids, labels, STRICT));
    int[] stray = {-100, 2, -100, 2, 0, -100};
    assertEquals(List.of(c("LOC", 1, 4)), Chunker.chunks(stray, labels, DEFAULT));
    assertEquals(List.of(), Chunker.chunks(stray, labels, STRICT));
    assertThrows(
        IllegalArgumentException.class, () -> Chunker.chunks(new int[] {5}, labels, DEFAULT));
    assertThrows(
        IllegalArgumentException.class, () -> Chunker.chunks(new int[] {-1}, labels, DEFAULT));
  }

  @Test
  void predictionsAreMaskedLikeTheGoldLabels() {
    int[] gold = {-100, 1, 2, -100};
    int[] predicted = {3, 1, 2, 2};
    assertArrayEquals(new int[] {-100, 1, 2, -100}, Chunker.maskLike(predicted, gold));
    assertArrayEquals(new int[] {3, 1, 2, 2}, predicted);
    assertThrows(IllegalArgumentException.class, () -> Chunker.maskLike(new int[1], new int[2]));
  }

  /**
   * The default mode decodes exactly as {@link SpanDecoder} when token i covers characters [i, i+1)
   * and ignored tokens are special tokens (no characters).
   */
  @Test
  void defaultModeAgreesWithSpanDecoder() {
    Labels labels = new Labels(LabelScheme.IOB2, List.of("LOC", "ORG-P", "PER"));
    Random random = new Random(42);
    for (int round = 0; round < 2000; round++) {
      int n = random.nextInt(12);
      int[] ids = new int[n];
      int[] starts = new int[n];
      int[] ends = new int[n];
      for (int i = 0; i < n; i++) {
        boolean ignored = random.nextInt(6) == 0;
        ids[i] = ignored ? Labels.IGNORE : random.nextInt(labels.size());
        starts[i] = ignored ? -1 : i;
        ends[i] = ignored ? -1 : i + 1;
      }
      List<Chunk> fromDecoder = new ArrayList<>();
      for (Entity e : SpanDecoder.decode(ids, starts, ends, labels)) {
        fromDecoder.add(c(e.type(), e.start(), e.end()));
      }
      assertEquals(fromDecoder, Chunker.chunks(ids, labels, DEFAULT), Arrays.toString(ids));
    }
  }
}
