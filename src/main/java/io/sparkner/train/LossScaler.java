package io.sparkner.train;

import java.io.Serializable;

/**
 * Dynamic loss scaling with DeepSpeed's semantics ({@code DynamicLossScaler}): start at {@code
 * 2^initial_scale_power}; an overflow skips the step, and halves the scale once {@code hysteresis}
 * overflows have been absorbed (never below {@code min_loss_scale}); after {@code
 * loss_scale_window} steps since the last overflow the scale doubles. A static scale never moves.
 * fp32 and bf16 training use a scale of 1 that never moves.
 */
public final class LossScaler implements Serializable {
  private static final long serialVersionUID = 1L;

  private final boolean dynamic;
  private final int window;
  private final int hysteresis;
  private final double minScale;
  private final boolean consecutiveHysteresis;
  private double scale;
  private int currentHysteresis;
  private long iteration;
  private long lastOverflowIteration = -1;

  public LossScaler(
      boolean dynamic, double initialScale, int window, int hysteresis, double minScale, boolean consecutiveHysteresis) {
    this.dynamic = dynamic;
    this.scale = initialScale;
    this.window = window;
    this.hysteresis = hysteresis;
    this.minScale = minScale;
    this.consecutiveHysteresis = consecutiveHysteresis;
    this.currentHysteresis = hysteresis;
  }

  /** The scaler a resolved configuration asks for (fp32 and bf16: none). */
  public static LossScaler of(TrainConfig.LossScaler s) {
    return s.dynamic()
        ? new LossScaler(true, s.initialScale(), s.window(), s.hysteresis(), s.minScale(), s.consecutiveHysteresis())
        : new LossScaler(false, s.staticScale(), s.window(), s.hysteresis(), s.minScale(), false);
  }

  /** DeepSpeed's defaults: 2^16, window 1000, hysteresis 2, min 1. */
  public static LossScaler deepSpeedDefaults() {
    return new LossScaler(true, 65536, 1000, 2, 1, false);
  }

  public static LossScaler none() {
    return new LossScaler(false, 1, 1000, 2, 1, false);
  }

  /** The state a checkpoint keeps: scale, hysteresis left, iteration, last overflow. */
  public double[] state() {
    return new double[] {scale, currentHysteresis, iteration, lastOverflowIteration};
  }

  public void restore(double[] state) {
    scale = state[0];
    currentHysteresis = (int) state[1];
    iteration = (long) state[2];
    lastOverflowIteration = (long) state[3];
  }

  public double scale() {
    return scale;
  }

  /** Records one step's outcome; call it for every step, skipped or not. */
  public void update(boolean overflow) {
    if (!dynamic) {
      return;
    }
    if (overflow) {
      if (hysteresis == 1 || currentHysteresis == 1) {
        scale = Math.max(scale / 2, minScale);
      } else {
        currentHysteresis--;
      }
      lastOverflowIteration = iteration;
    } else {
      if (consecutiveHysteresis) {
        currentHysteresis = hysteresis;
      }
      if ((iteration - lastOverflowIteration) % window == 0) {
        if (!consecutiveHysteresis) {
          currentHysteresis = hysteresis;
        }
        scale *= 2;
      }
    }
    iteration++;
  }

  /**
   * The sum of squares of {@code gradients[from, to)} in double. It is non-finite exactly when a
   * value is inf or NaN (a finite float squared cannot overflow a double, nor can 2^31 of them
   * summed), so one pass gives both the gradient norm and the overflow decision.
   */
  public static double sumOfSquares(float[] gradients, int from, int to) {
    double sq = 0;
    for (int i = from; i < to; i++) {
      sq += (double) gradients[i] * gradients[i];
    }
    return sq;
  }

  /** Whether a {@link #sumOfSquares} says inf or NaN gradients: the step must be skipped. */
  public static boolean overflowed(double sumOfSquares) {
    return !Double.isFinite(sumOfSquares);
  }
}
