package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;

/**
 * Examples padded to the longest of the batch (dynamic padding, as {@code
 * DataCollatorForTokenClassification}): ids with the pad token, attention mask 0 and labels -100 at
 * padding.
 */
public record Batch(
    NDArray inputIds, NDArray attentionMask, NDArray labels, int tokens, int labelled) {

  public static Batch of(List<Example> examples, int padTokenId, NDManager manager) {
    int b = examples.size();
    int l = 0;
    for (Example e : examples) {
      l = Math.max(l, e.inputIds().length);
    }
    long[] ids = new long[b * l];
    long[] mask = new long[b * l];
    long[] labels = new long[b * l];
    int tokens = 0;
    int labelled = 0;
    for (int i = 0; i < b; i++) {
      Example e = examples.get(i);
      for (int j = 0; j < l; j++) {
        int k = i * l + j;
        if (j < e.inputIds().length) {
          ids[k] = e.inputIds()[j];
          mask[k] = 1;
          labels[k] = e.labels()[j];
          tokens++;
          if (e.labels()[j] >= 0) {
            labelled++;
          }
        } else {
          ids[k] = padTokenId;
          labels[k] = -100;
        }
      }
    }
    Shape shape = new Shape(b, l);
    return new Batch(
        manager.create(ids, shape),
        manager.create(mask, shape),
        manager.create(labels, shape),
        tokens,
        labelled);
  }

  /**
   * Summed cross-entropy over the labelled tokens of the batch (in float32, whatever the logits'
   * type); the trainer divides by the global batch's labelled-token count.
   */
  public NDArray crossEntropySum(NDArray logits) {
    // log_softmax with dtype=float32 upcasts inside the autograd graph; DJL's toType would detach
    NDArray logp = JniUtils.logSoftmax((PtNDArray) logits, -1, DataType.FLOAT32);
    NDArray valid = labels.gte(0);
    NDArray safe = labels.mul(valid.toType(DataType.INT64, false));
    NDArray picked = logp.mul(safe.oneHot((int) logits.getShape().get(2))).sum(new int[] {2});
    return picked.mul(valid.toType(DataType.FLOAT32, false)).sum().neg();
  }
}
