package io.sparkner.train;

import io.sparkner.model.TaskCompute;
import java.io.Serializable;

/**
 * AdamW (decoupled weight decay, as {@code torch.optim.AdamW} and the HF Trainer use it) over a
 * contiguous range {@code [from, to)} of the flat parameter space: the whole space on one replica,
 * a 1/N shard under ZeRO 1 and 2. Holds that range's fp32 master weights and the moments m and v:
 * 12 bytes per parameter of the range. The hyper-parameters but the learning rate are fixed for the
 * run; the learning rate comes with each update (it follows the schedule).
 */
public final class AdamW implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long from;
  private final float[] master;
  private final float[] m;
  private final float[] v;
  private final boolean[] decay;
  private final Hyperparameters hyper;
  private long step;
  // the elements from tailFrom on (the range's part of the CRF head) learn at lr × tailFactor
  private int tailFrom;
  private double tailFactor = 1;

  /**
   * The fixed hyper-parameters of a run, as {@code torch.optim.AdamW} names them.
   *
   * @param beta1 the decay rate of the first moment
   * @param beta2 the decay rate of the second moment
   * @param eps added to the denominator
   * @param weightDecay the decoupled weight decay (0: none), applied to the elements whose {@code
   *     decay} flag is set
   */
  public record Hyperparameters(double beta1, double beta2, double eps, double weightDecay)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * A resolved configuration's. Adam with coupled weight decay (DeepSpeed "Adam" with {@code
     * adam_w_mode} false) runs with no weight decay at all: L2 in the gradient is not applied.
     */
    public static Hyperparameters of(TrainConfig c) {
      return new Hyperparameters(
          c.beta1(), c.beta2(), c.eps(), c.decoupledWeightDecay() ? c.weightDecay() : 0);
    }
  }

  /**
   * @param master the range's initial values (kept, not copied)
   * @param decay per element of the range, whether weight decay applies
   */
  public AdamW(long from, float[] master, boolean[] decay, Hyperparameters hyper) {
    this(from, master, decay, hyper, 1);
  }

  /**
   * @param master the range's initial values (kept, not copied)
   * @param decay per element of the range, whether weight decay applies
   * @param threads how many threads an update may use (the calling task's CPU share, {@link
   *     io.sparkner.model.TaskCompute#cpuThreads}); the result is the same for any number
   */
  public AdamW(long from, float[] master, boolean[] decay, Hyperparameters hyper, int threads) {
    this.threads = Math.max(1, threads);
    this.from = from;
    this.master = master;
    this.m = new float[master.length];
    this.v = new float[master.length];
    this.decay = decay;
    this.hyper = hyper;
    this.tailFrom = master.length;
  }

  /**
   * Lets the range's elements from {@code localFrom} on learn at {@code factor} times the learning
   * rate, as a parameter group with its own learning rate under the same schedule (a CRF's {@code
   * crf_learning_rate}).
   */
  public void scaleTail(int localFrom, double factor) {
    if (localFrom < 0 || localFrom > master.length || !(factor > 0)) {
      throw new IllegalArgumentException(
          "tail from " + localFrom + " of " + master.length + " at factor " + factor);
    }
    this.tailFrom = localFrom;
    this.tailFactor = factor;
  }

  public long from() {
    return from;
  }

  public long to() {
    return from + master.length;
  }

  public float[] master() {
    return master;
  }

  public long step() {
    return step;
  }

  /** Bytes of optimizer state this replica holds: master weights, m and v in float32. */
  public long stateBytes() {
    return 4L * (master.length + m.length + v.length);
  }

  /**
   * One update with {@code grad} (the range's gradients, already unscaled and clipped) at learning
   * rate {@code lr}, as torch.optim.AdamW: p -= lr·wd·p; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
   * p -= lr·m̂/(√v̂+ε).
   */
  public void update(float[] grad, double lr) {
    step++;
    double bc1 = 1 - Math.pow(hyper.beta1(), step);
    double bc2 = 1 - Math.pow(hyper.beta2(), step);
    float stepSize = (float) (lr / bc1);
    float sqrtBc2 = (float) Math.sqrt(bc2);
    float decayFactor = (float) (1 - lr * hyper.weightDecay());
    // each element's update depends on that element alone: ranges run on up to `threads` threads
    // (the task's libtorch intra-op threads are idle meanwhile), with the same result
    int n = tailFrom;
    int chunks = n < PARALLEL_MIN ? 1 : Math.min(n / (PARALLEL_MIN / 2), threads);
    TaskCompute.forRanges(n, chunks, (a, b) -> update(grad, a, b, stepSize, sqrtBc2, decayFactor));
    if (tailFrom < master.length) {
      double tailLr = lr * tailFactor;
      update(
          grad,
          tailFrom,
          master.length,
          (float) (tailLr / bc1),
          sqrtBc2,
          (float) (1 - tailLr * hyper.weightDecay()));
    }
  }

  /** Below this many elements an update runs on the calling thread alone. */
  private static final int PARALLEL_MIN = 1 << 18;

  /** How many threads an update may use. */
  private final int threads;

  private void update(
      float[] grad, int from, int to, float stepSize, float sqrtBc2, float decayFactor) {
    float b1 = (float) hyper.beta1();
    float b2 = (float) hyper.beta2();
    float oneMinusB1 = (float) (1 - hyper.beta1());
    float oneMinusB2 = (float) (1 - hyper.beta2());
    float e = (float) hyper.eps();
    for (int i = from; i < to; i++) {
      float g = grad[i];
      float p = decay[i] ? master[i] * decayFactor : master[i];
      float mi = b1 * m[i] + oneMinusB1 * g;
      float vi = b2 * v[i] + oneMinusB2 * g * g;
      m[i] = mi;
      v[i] = vi;
      master[i] = p - stepSize * mi / ((float) Math.sqrt(vi) / sqrtBc2 + e);
    }
  }

  /** The moments, for checkpoints. */
  public float[] firstMoment() {
    return m;
  }

  public float[] secondMoment() {
    return v;
  }

  public void restore(long steps, float[] firstMoment, float[] secondMoment) {
    this.step = steps;
    System.arraycopy(firstMoment, 0, m, 0, m.length);
    System.arraycopy(secondMoment, 0, v, 0, v.length);
  }
}
