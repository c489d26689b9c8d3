package io.sparkner.train;

import io.sparkner.collective.DirectFloats;
import io.sparkner.fault.FaultPlan;

/**
 * The runtime side of a {@link FaultPlan} on one rank: the training loop knows nothing of faults;
 * the rank's run asks this after each step ({@link #afterStep}) and trains through {@link
 * #exchange}, which puts the plan's overflows into this rank's local gradients.
 */
final class RankFaults {
  private final FaultPlan plan;
  private final int rank;
  private final boolean armed;

  /**
   * @param armed whether this attempt honours the plan's task failure (only the first attempt does:
   *     the relaunched one must get through); overflows are injected on every attempt
   */
  RankFaults(FaultPlan plan, int rank, boolean armed) {
    this.plan = plan;
    this.rank = rank;
    this.armed = armed;
  }

  /** Dies as the plan says: right after the global step it names, on its rank, when armed. */
  void afterStep(long step) {
    if (armed && plan.failsAfter(rank, step)) {
      throw new RankTraining.InjectedFailure(
          "injected failure of rank " + rank + " after step " + step + " (--fail-at-step)");
    }
  }

  /**
   * {@code exchange} itself, or, where this rank's gradients are to overflow, one that injects the
   * overflows.
   */
  GradientExchange exchange(GradientExchange exchange) {
    return plan.overflows(rank) ? new Overflowing(exchange) : exchange;
  }

  /**
   * An exchange that puts an inf into the local gradients at the plan's overflow steps, then
   * reduces as usual.
   */
  private final class Overflowing extends GradientExchange.Forwarding {
    Overflowing(GradientExchange inner) {
      super(inner);
    }

    @Override
    public void reduceGradients(DirectFloats local, float[] shard, long step) {
      if (plan.overflowsAt(rank, step)) {
        local.put(0, Float.POSITIVE_INFINITY);
      }
      inner.reduceGradients(local, shard, step);
    }

    /** The same injection with the sparse hint: the injected element's row is sent too. */
    @Override
    public void reduceGradients(DirectFloats local, float[] shard, long step, TouchedRows touched) {
      if (plan.overflowsAt(rank, step)) {
        local.put(0, Float.POSITIVE_INFINITY);
        touched = touched.including(0);
      }
      inner.reduceGradients(local, shard, step, touched);
    }
  }
}
