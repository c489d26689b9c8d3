package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Multiplication by a constant inside the autograd graph. DJL's {@code NDArray.mul(Number)} wraps
 * the number in a tensor over a Java direct buffer ({@code torch::from_blob}) and closes it right
 * after the multiplication. Autograd's {@code MulBackward0} keeps that tensor for the backward
 * pass, but nothing on the Java side keeps its buffer: once the garbage collector frees it,
 * backward multiplies by whatever the freed memory holds (replicas diverged by ~0.02 after 20 steps
 * under GC pressure). Here the constant is a 0-dim tensor libtorch allocates itself ({@code
 * torch::full}), which the graph's reference keeps alive; of the dtype DJL would have used (float →
 * float32, double → float64), so results are bit-identical to {@code mul(Number)} when nothing is
 * freed.
 */
public final class Scalars {
  private Scalars() {}

  /** {@code x * s}, with a float32 constant. */
  public static NDArray times(NDArray x, float s) {
    return x.mul(constant(x, s, DataType.FLOAT32));
  }

  /** {@code x * s}, with a float64 constant. */
  public static NDArray times(NDArray x, double s) {
    return x.mul(constant(x, s, DataType.FLOAT64));
  }

  private static NDArray constant(NDArray like, double value, DataType type) {
    return JniUtils.full(
        (PtNDManager) like.getManager(),
        new Shape(),
        value,
        type,
        like.getDevice(),
        SparseFormat.DENSE);
  }
}
