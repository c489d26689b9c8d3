package io.sparkner.score;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Subword tags to entities: conlleval's repair of broken IOB2, code points, scores. */
class EntityDecoderTest {
  static final List<String> LABELS = List.of("O", "B-LOC", "I-LOC", "B-PER", "I-PER");
  final EntityDecoder decoder = new EntityDecoder(LABELS);

  @Test
  void decodesSpansInCodePointsWithTheMeanTagProbability() {
    // 😀 東京 都 の ▁ 山田 さん: the bare ▁ covers nothing and its tag is ignored
    String text = "😀東京都の山田さん";
    int[] starts = {0, 1, 3, 4, 5, 5, 7};
    int[] ends = {1, 3, 4, 5, 5, 7, 9};
    int[] tags = {0, 1, 2, 0, 3, 4, 0};
    float[] p = {0.9f, 0.9f, 0.7f, 0.9f, 0.1f, 0.6f, 0.9f};
    List<TaggedEntity> got = decoder.decode(text, starts, ends, tags, p);
    assertEquals(2, got.size());
    assertEquals(new TaggedEntity("東京都", "LOC", 1, 4, 0.8f), withRoundedScore(got.get(0)));
    // I-PER after O starts an entity (conlleval), the bare ▁'s B-PER takes no part
    assertEquals(new TaggedEntity("山田", "PER", 5, 7, 0.6f), withRoundedScore(got.get(1)));
  }

  @Test
  void aTypeChangeOrABeginSplitsEntities() {
    String text = "abcd";
    int[] starts = {0, 1, 2, 3};
    int[] ends = {1, 2, 3, 4};
    float[] p = {1, 1, 1, 1};
    assertEquals(
        List.of(
            new TaggedEntity("a", "LOC", 0, 1, 1f),
            new TaggedEntity("b", "PER", 1, 2, 1f),
            new TaggedEntity("cd", "PER", 2, 4, 1f)),
        decoder.decode(text, starts, ends, new int[] {1, 4, 3, 4}, p));
    assertEquals(List.of(), decoder.decode(text, starts, ends, new int[] {0, 0, 0, 0}, p));
  }

  private static TaggedEntity withRoundedScore(TaggedEntity e) {
    return new TaggedEntity(
        e.text(), e.type(), e.start(), e.end(), Math.round(e.score() * 1000) / 1000f);
  }
}
