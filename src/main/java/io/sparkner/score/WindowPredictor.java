package io.sparkner.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.sparkner.model.Autograd;
import io.sparkner.model.TokenClassificationModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs the model over windows in batches: optionally sorted by length first, so a batch holds
 * windows of similar length, padded to the batch's longest (dynamic padding, as Hugging Face's
 * collator), forward with autograd off, softmax in float32 whatever the model's dtype. Thread-safe
 * over a shared model: every batch computes in its own sub-manager on the calling thread.
 */
final class WindowPredictor {
  private final TokenClassificationModel model;
  private final int batchSize;
  private final boolean sortByLength;

  /** Per position of a window: the arg-max label id and its probability. */
  record Prediction(int[] labels, float[] probabilities) {}

  WindowPredictor(TokenClassificationModel model, int batchSize, boolean sortByLength) {
    this.model = model;
    this.batchSize = batchSize;
    this.sortByLength = sortByLength;
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
      long[] best = probabilities.argMax(-1).toLongArray();
      float[] p = probabilities.max(new int[] {-1}).toFloatArray();
      for (int r = 0; r < b; r++) {
        int n = windows.get(batch.get(r)).length();
        int[] labels = new int[n];
        float[] probs = new float[n];
        for (int j = 0; j < n; j++) {
          labels[j] = (int) best[r * l + j];
          probs[j] = p[r * l + j];
        }
        out[batch.get(r)] = new Prediction(labels, probs);
      }
    }
  }
}
