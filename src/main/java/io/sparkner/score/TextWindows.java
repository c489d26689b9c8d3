package io.sparkner.score;

import io.sparkner.align.Windowing;
import io.sparkner.tokenizer.Tokenized;
import java.util.ArrayList;
import java.util.List;

/**
 * A tokenized text cut into model inputs exactly as {@code prepare} cuts a document ({@link
 * io.sparkner.align.Aligner}): {@link Windowing#ranges} of {@code capacity} tokens sharing {@code
 * stride}, each framed by the tokenizer's own special tokens. The same cut at training and scoring
 * time means a window is scored in the context it would have been trained in.
 */
final class TextWindows {
  private TextWindows() {}

  /**
   * One model input: ids, and each position's code-point span in the text (-1 for special tokens).
   */
  record Window(int[] ids, int[] starts, int[] ends) {
    int length() {
      return ids.length;
    }
  }

  static List<Window> of(Tokenized tok, int[] prefix, int[] suffix, int capacity, int stride) {
    List<Window> out = new ArrayList<>();
    for (int[] r : Windowing.ranges(tok.size(), capacity, stride)) {
      int len = prefix.length + (r[1] - r[0]) + suffix.length;
      int[] ids = new int[len];
      int[] starts = new int[len];
      int[] ends = new int[len];
      int k = 0;
      for (int p : prefix) {
        ids[k] = p;
        starts[k] = ends[k] = -1;
        k++;
      }
      for (int i = r[0]; i < r[1]; i++) {
        ids[k] = tok.ids()[i];
        starts[k] = tok.starts()[i];
        ends[k] = tok.ends()[i];
        k++;
      }
      for (int s : suffix) {
        ids[k] = s;
        starts[k] = ends[k] = -1;
        k++;
      }
      out.add(new Window(ids, starts, ends));
    }
    return out;
  }
}
