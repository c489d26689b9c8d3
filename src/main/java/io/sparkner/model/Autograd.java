package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch autograd, per thread. DJL's {@code GradientCollector} allows one collector per JVM at a
 * time, but Spark runs several replicas as threads of one executor JVM; libtorch's grad mode is
 * thread-local, so each replica switches its own.
 */
public final class Autograd {
  private Autograd() {}

  /** Records operations for backward on this thread until closed. */
  public static Scope recording() {
    return scope(true);
  }

  /** No recording on this thread until closed: inference and in-place parameter updates. */
  public static Scope paused() {
    return scope(false);
  }

  private static Scope scope(boolean mode) {
    boolean before = JniUtils.isGradMode();
    JniUtils.setGradMode(mode);
    return () -> JniUtils.setGradMode(before);
  }

  /** Accumulates d(loss)/d(parameter) into every leaf's gradient. */
  public static void backward(NDArray loss) {
    NDArray seed = loss.onesLike();
    JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, false, false);
    seed.close();
  }

  /** A scope that restores the previous grad mode. */
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }
}
