package io.sparkner.score;

import io.sparkner.align.Labels;
import io.sparkner.corpus.CodePoints;
import io.sparkner.eval.metrics.Chunker;
import java.util.ArrayList;
import java.util.List;

/**
 * A text's predicted subword tags → entities. Tags are read as conlleval and seqeval's default mode
 * read them ({@link Chunker.Mode#DEFAULT}), which repairs broken IOB2: an {@code I-X} after {@code
 * O} or after another type starts an entity, so a model's slip does not lose the entity. Tokens
 * that cover no character (a bare {@code ▁}) take no part. An entity spans from its first token's
 * start to its last token's end, in code points of the original text; its score is the mean
 * probability of its tokens' predicted tags.
 */
final class EntityDecoder {
  private final List<String> labels;

  /**
   * @param labels the model's {@code id2label}, in id order
   */
  EntityDecoder(List<String> labels) {
    this.labels = labels;
  }

  /**
   * @param starts per token, in text order, its code-point start
   * @param ends per token its code-point end
   * @param tags per token the predicted label id
   * @param probabilities per token the probability of that label
   */
  List<TaggedEntity> decode(
      String text, int[] starts, int[] ends, int[] tags, float[] probabilities) {
    int n = tags.length;
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = starts[i] == ends[i] ? Labels.IGNORE : tags[i];
    }
    List<TaggedEntity> out = new ArrayList<>();
    CodePoints cps = null; // built for texts with entities only
    for (Chunker.Chunk c : Chunker.chunks(ids, labels, Chunker.Mode.DEFAULT)) {
      double sum = 0;
      int count = 0;
      for (int i = c.start(); i < c.end(); i++) {
        if (ids[i] != Labels.IGNORE) {
          sum += probabilities[i];
          count++;
        }
      }
      int start = starts[c.start()];
      int end = ends[c.end() - 1];
      if (cps == null) {
        cps = new CodePoints(text);
      }
      out.add(
          new TaggedEntity(cps.substring(start, end), c.type(), start, end, (float) (sum / count)));
    }
    return out;
  }
}
