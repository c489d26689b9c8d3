package io.sparkner.score;

import io.sparkner.align.Aligner;
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
   * One model input: ids, each position's code-point span in the text (-1 for special tokens), and
   * whether the position carries a label under the model's training ({@link Aligner#labelled}).
   */
  record Window(int[] ids, int[] starts, int[] ends, boolean[] labelled) {
    int length() {
      return ids.length;
    }
  }

  /**
   * @param allSubwords whether the model was trained on every subword or each word's first only
   */
  static List<Window> of(
      Tokenized tok, int[] prefix, int[] suffix, int capacity, int stride, boolean allSubwords) {
    boolean[] labelled = Aligner.labelled(tok, allSubwords);
    List<Window> out = new ArrayList<>();
    for (int[] r : Windowing.ranges(tok.size(), capacity, stride)) {
      int len = prefix.length + (r[1] - r[0]) + suffix.length;
      int[] ids = new int[len];
      int[] starts = new int[len];
      int[] ends = new int[len];
      boolean[] lab = new boolean[len];
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
        lab[k] = labelled[i];
        k++;
      }
      for (int s : suffix) {
        ids[k] = s;
        starts[k] = ends[k] = -1;
        k++;
      }
      out.add(new Window(ids, starts, ends, lab));
    }
    return out;
  }
}
