package io.sparkner.fault;

import io.sparkner.collective.SendStall;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The faults a run is told to suffer, for tests and demos of failure handling ({@link #none()}
 * everywhere else): decided on the driver (the hidden options {@code --fail-at-step}, {@code
 * --fail-rank} and {@code --fail-after}, or a test), carried once by a job's options and shipped
 * with the training plan to every rank, where the rank named here acts on it. Immutable: the {@code
 * with...} methods return a changed copy.
 *
 * @param rank the rank the training faults hit (0 unless set)
 * @param failAtStep that rank's task dies once, right after this global step ({@link #NEVER}:
 *     never)
 * @param overflowSteps at these global steps that rank puts an inf into its local gradients (the
 *     replicas' global skip decision), ascending, without duplicates
 * @param ringStall that rank's ring sender stalls once ({@link SendStall}), or null
 * @param failAfterStage a multi-stage job (retrain) fails right after the stage of this name, or
 *     null
 */
public record FaultPlan(
    int rank, long failAtStep, List<Long> overflowSteps, SendStall ringStall, String failAfterStage)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** {@link #failAtStep} when no task is to die. */
  public static final long NEVER = -1;

  private static final FaultPlan NONE = new FaultPlan(0, NEVER, List.of(), null, null);

  public FaultPlan {
    if (rank < 0) {
      throw new IllegalArgumentException("fault rank must be at least 0, got " + rank);
    }
    if (failAtStep < NEVER) {
      throw new IllegalArgumentException(
          "fail-at-step must be a step (0 or more) or " + NEVER + " (never), got " + failAtStep);
    }
    TreeSet<Long> steps = new TreeSet<>();
    for (Long s : overflowSteps == null ? List.<Long>of() : overflowSteps) {
      if (s == null || s < 0) {
        throw new IllegalArgumentException(
            "overflow steps must be steps (0 or more), got " + overflowSteps);
      }
      steps.add(s);
    }
    overflowSteps = List.copyOf(steps);
  }

  /** No faults: what every production run carries. */
  public static FaultPlan none() {
    return NONE;
  }

  /** Whether this plan injects nothing at all. */
  public boolean isNone() {
    return equals(NONE);
  }

  /** The same plan with the training faults on {@code rank}. */
  public FaultPlan withRank(int rank) {
    return new FaultPlan(rank, failAtStep, overflowSteps, ringStall, failAfterStage);
  }

  /**
   * The same plan where the fault rank's task dies once after global step {@code step} ({@link
   * #NEVER}: never).
   */
  public FaultPlan withFailAtStep(long step) {
    return new FaultPlan(rank, step, overflowSteps, ringStall, failAfterStage);
  }

  /** The same plan where the fault rank's local gradients overflow at these global steps. */
  public FaultPlan withOverflowSteps(List<Long> steps) {
    return new FaultPlan(rank, failAtStep, steps, ringStall, failAfterStage);
  }

  /** The same plan where the fault rank's ring sender stalls once ({@code null}: not). */
  public FaultPlan withRingStall(SendStall stall) {
    return new FaultPlan(rank, failAtStep, overflowSteps, stall, failAfterStage);
  }

  /**
   * The same plan where a multi-stage job fails right after {@code stage} ({@code null}: never).
   */
  public FaultPlan withFailAfter(Enum<?> stage) {
    return new FaultPlan(
        rank, failAtStep, overflowSteps, ringStall, stage == null ? null : stage.name());
  }

  /** Whether some task is to die after a step (an attempt then decides whether it is armed). */
  public boolean failsAStep() {
    return failAtStep != NEVER;
  }

  /** Whether {@code rank}'s task is to die right after global step {@code step}. */
  public boolean failsAfter(int rank, long step) {
    return failsAStep() && rank == this.rank && step == failAtStep;
  }

  /** Whether {@code rank}'s local gradients are to overflow at global step {@code step}. */
  public boolean overflowsAt(int rank, long step) {
    return rank == this.rank && overflowSteps.contains(step);
  }

  /** Whether {@code rank}'s local gradients are to overflow at any step. */
  public boolean overflows(int rank) {
    return rank == this.rank && !overflowSteps.isEmpty();
  }

  /** The stall {@code rank}'s ring sender is to simulate, if any. */
  public Optional<SendStall> ringStallOf(int rank) {
    return rank == this.rank ? Optional.ofNullable(ringStall) : Optional.empty();
  }

  /** Whether a multi-stage job is to fail right after {@code stage}. */
  public boolean failsAfter(Enum<?> stage) {
    return failAfterStage != null && stage != null && failAfterStage.equals(stage.name());
  }
}
