package io.sparkner.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.sparkner.align.Labels;
import io.sparkner.model.Autograd;
import io.sparkner.model.TokenClassificationModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs the model over windows in batches: optionally sorted by length first, so a batch holds
 * windows of similar length, padded to the batch's longest (dynamic padding, as Hugging Face's
 * collator), forward with autograd off, softmax in float32 whatever the model's dtype. Tags are the
 * arg-max, or with a CRF head its Viterbi path over the positions the model was trained to label; a
 * tag's probability is its softmax probability. Thread-safe over a shared model: every batch
 * computes in its own sub-manager on the calling thread.
 */
final class WindowPredictor {
  private final TokenClassificationModel model;
  private final int batchSize;
  private final boolean sortByLength;
  private final boolean allSubwords;
  private final int[] inside; // per label id: the id that continues it (I-X for B-X), else itself

  /** Per position of a window: the predicted label id and its probability (-100 and 0: none). */
  record Prediction(int[] labels, float[] probabilities) {}

  WindowPredictor(TokenClassificationModel model, int batchSize, boolean sortByLength) {
    this.model = model;
    this.batchSize = batchSize;
    this.sortByLength = sortByLength;
    this.allSubwords = model.config().decodesAllSubwords();
    List<String> names = model.config().labels;
    this.inside = new int[names.size()];
    for (int i = 0; i < inside.length; i++) {
      String n = names.get(i);
      int in = n.startsWith("B-") ? names.indexOf("I-" + n.substring(2)) : -1;
      inside[i] = in >= 0 ? in : i;
    }
  }

  /** One prediction per window, in the order given. */
  Prediction[] predict(List<TextWindows.Window> windows) {
    List<Integer> order = new ArrayList<>(windows.size());
    for (int i = 0; i < windows.size(); i++) {
      order.add(i);
    }
    if (sortByLength) {
      order.sort(
          Comparator.comparingInt(i -> windows.get(i).length())); // stable: ties keep arrival order
    }
    Prediction[] out = new Prediction[windows.size()];
    for (int from = 0; from < order.size(); from += batchSize) {
      List<Integer> batch = order.subList(from, Math.min(order.size(), from + batchSize));
      forward(windows, batch, out);
    }
    return out;
  }

  private void forward(List<TextWindows.Window> windows, List<Integer> batch, Prediction[] out) {
    int b = batch.size();
    int l = 0;
    for (int i : batch) {
      l = Math.max(l, windows.get(i).length());
    }
    long[] ids = new long[b * l];
    long[] mask = new long[b * l];
    java.util.Arrays.fill(ids, model.config().padTokenId);
    for (int r = 0; r < b; r++) {
      int[] w = windows.get(batch.get(r)).ids();
      for (int j = 0; j < w.length; j++) {
        ids[r * l + j] = w[j];
        mask[r * l + j] = 1;
      }
    }
    try (NDManager scope = model.manager().newSubManager();
        Autograd.Scope off = Autograd.paused()) {
      Shape shape = new Shape(b, l);
      NDArray logits =
          model.logits(scope.create(ids, shape), scope.create(mask, shape), null, false);
      NDArray probabilities = logits.toType(DataType.FLOAT32, false).softmax(-1);
      int[] best = new int[b * l];
      float[] p;
      if (model.crf() == null) {
        // the arg-max of the float32 probabilities and its probability, reduced in libtorch
        long[] argMax = probabilities.argMax(-1).toLongArray();
        p = probabilities.max(new int[] {-1}).toFloatArray();
        for (int i = 0; i < best.length; i++) {
          best[i] = (int) argMax[i];
        }
      } else {
        // the CRF's best path over the positions training labelled, and each tag's probability
        boolean[][] chain = new boolean[b][l];
        for (int r = 0; r < b; r++) {
          boolean[] lab = windows.get(batch.get(r)).labelled();
          System.arraycopy(lab, 0, chain[r], 0, lab.length);
        }
        int[][] decoded = model.decode(logits, chain);
        float[] all = probabilities.toFloatArray();
        p = new float[b * l];
        int k = model.config().numLabels();
        for (int r = 0; r < b; r++) {
          for (int j = 0; j < l; j++) {
            int tag = decoded[r][j];
            best[r * l + j] = tag;
            p[r * l + j] = tag < 0 ? 0f : all[(r * l + j) * k + tag];
          }
        }
      }
      for (int r = 0; r < b; r++) {
        int n = windows.get(batch.get(r)).length();
        int[] labels = new int[n];
        float[] probs = new float[n];
        for (int j = 0; j < n; j++) {
          labels[j] = best[r * l + j];
          probs[j] = p[r * l + j];
        }
        if (!allSubwords) {
          continueWords(windows.get(batch.get(r)), labels, probs);
        }
        out[batch.get(r)] = new Prediction(labels, probs);
      }
    }
  }

  /**
   * A model trained on each word's first subword only: its other subwords take the word's tag (as
   * {@code I-X} after a {@code B-X}) and probability, so an entity spans its last word whole. A
   * subword whose word starts before the window stays unlabelled.
   */
  private void continueWords(TextWindows.Window w, int[] labels, float[] probs) {
    int last = Labels.IGNORE;
    float lastP = 0f;
    for (int j = 0; j < labels.length; j++) {
      if (w.labelled()[j]) {
        last = labels[j];
        lastP = probs[j];
      } else if (w.starts()[j] >= 0 && w.starts()[j] != w.ends()[j]) {
        labels[j] = last < 0 ? Labels.IGNORE : inside[last];
        probs[j] = last < 0 ? 0f : lastP;
      }
    }
  }
}
