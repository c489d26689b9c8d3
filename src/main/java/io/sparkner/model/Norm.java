package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

/** {@code torch.nn.LayerNorm} over the last axis: {@code weight}, {@code bias}. */
public final class Norm extends HfBlock {
  final Parameter weight = parameter("weight", Parameter.Type.GAMMA);
  final Parameter bias = parameter("bias", Parameter.Type.BETA);
  private final float eps;
  private final int size;

  public Norm(int size, double eps) {
    this.size = size;
    this.eps = (float) eps;
  }

  @Override
  public NDArray forward(NDArray x, boolean training) {
    return x.getNDArrayInternal()
        .layerNorm(x, new Shape(size), weight.getArray(), bias.getArray(), eps)
        .singletonOrThrow();
  }
}
