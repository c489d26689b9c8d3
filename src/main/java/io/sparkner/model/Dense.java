package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

/** {@code torch.nn.Linear}: {@code weight [out, in]}, {@code bias [out]}. */
public final class Dense extends HfBlock {
  final Parameter weight = parameter("weight", Parameter.Type.WEIGHT);
  final Parameter bias = parameter("bias", Parameter.Type.BIAS);

  @Override
  public NDArray forward(NDArray x, boolean training) {
    return x.getNDArrayInternal().linear(x, weight.getArray(), bias.getArray()).singletonOrThrow();
  }
}
