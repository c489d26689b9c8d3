package io.sparkner.train;

import java.io.Serializable;

/**
 * The fp16 loss scaler, with DeepSpeed's semantics ({@code DynamicLossScaler}): part of the
 * resolved {@link TrainConfig}, and the rule {@link #next} by which the scale of a run moves.
 *
 * <p>Dynamic: start at {@code initialScale} ({@code 2^initial_scale_power}); an overflowing step is
 * skipped, and once {@code hysteresis} overflows have been absorbed the scale halves (never below
 * {@code minScale}); every {@code window} ({@code loss_scale_window}) steps since the last overflow
 * (or the start) it doubles. Hysteresis is refilled when the scale doubles, or with {@code
 * consecutiveHysteresis} after every step that does not overflow. Static: the loss is multiplied by
 * {@code staticScale}, which never moves. fp32 and bf16 training use {@link #NONE}.
 *
 * <p>The configuration is immutable; the moving part is a {@link State}, the trainer's, which a
 * checkpoint keeps. (The record's text is part of the run fingerprint, see {@link RunFingerprint}:
 * its name and components stay as they are.)
 */
public record LossScaler(
    boolean dynamic,
    double initialScale,
    int window,
    int hysteresis,
    boolean consecutiveHysteresis,
    double minScale,
    double staticScale)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** No scaling (fp32, bf16). */
  public static final LossScaler NONE = new LossScaler(false, 1, 1000, 2, false, 1, 1);

  /**
   * Where the scale of a run is.
   *
   * @param scale the loss scale of the next step
   * @param hysteresisLeft overflows still to be absorbed before the scale halves
   * @param iteration the steps seen so far, skipped or not (dynamic scaling only)
   * @param lastOverflowIteration the iteration of the last overflow, -1 before any
   */
  public record State(
      double scale, int hysteresisLeft, long iteration, long lastOverflowIteration) {
    /**
     * The form a checkpoint keeps: {@code [scale, hysteresisLeft, iteration,
     * lastOverflowIteration]}.
     */
    public double[] toArray() {
      return new double[] {scale, hysteresisLeft, iteration, lastOverflowIteration};
    }

    /** Back from {@link #toArray}. */
    public static State fromArray(double[] a) {
      if (a.length != 4) {
        throw new IllegalArgumentException(
            "a loss scaler state has 4 values (scale, hysteresis left, iteration, last overflow),"
                + " not "
                + a.length);
      }
      return new State(a[0], (int) a[1], (long) a[2], (long) a[3]);
    }
  }

  /** The state a run starts in. */
  public State start() {
    return new State(dynamic ? initialScale : staticScale, hysteresis, 0, -1);
  }

  /**
   * The state after one step of {@code s} that did or did not overflow; call it for every step,
   * skipped or not.
   */
  public State next(State s, boolean overflow) {
    if (!dynamic) {
      return s;
    }
    double scale = s.scale();
    int hysteresisLeft = s.hysteresisLeft();
    long lastOverflow = s.lastOverflowIteration();
    if (overflow) {
      if (hysteresis == 1 || hysteresisLeft == 1) {
        scale = Math.max(scale / 2, minScale);
      } else {
        hysteresisLeft--;
      }
      lastOverflow = s.iteration();
    } else {
      if (consecutiveHysteresis) {
        hysteresisLeft = hysteresis;
      }
      if ((s.iteration() - lastOverflow) % window == 0) {
        if (!consecutiveHysteresis) {
          hysteresisLeft = hysteresis;
        }
        scale *= 2;
      }
    }
    return new State(scale, hysteresisLeft, s.iteration() + 1, lastOverflow);
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
