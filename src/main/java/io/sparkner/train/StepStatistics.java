package io.sparkner.train;

/**
 * What the replicas sum after reducing a step's gradients, so that every rank takes the same
 * decisions from the same totals: how many ranks saw inf/NaN gradients (the step is skipped if any
 * did), the sum of squares of the reduced gradient (its global norm, each element counted by
 * exactly one rank, see {@link GradientExchange#countedRange}), the summed cross-entropy and the
 * number of tokens of the global batch.
 *
 * <p>On the wire (see {@link #allReduce}) these are four doubles in the order of the components;
 * {@link io.sparkner.collective.Ring#allReduceSum} sums them in rank order, so the totals are
 * bit-identical on every rank. Counts travel as doubles, exact below 2^53.
 *
 * @param overflowedRanks ranks whose counted gradients held inf or NaN (0 or 1 for one rank)
 * @param sumOfSquares the sum of squares of the (still scaled) counted gradients, in double
 * @param lossSum the summed cross-entropy of the rank's micro-batches
 * @param tokens the tokens (padding excluded) the rank's micro-batches held
 */
public record StepStatistics(
    int overflowedRanks, double sumOfSquares, double lossSum, long tokens) {
  /**
   * One rank's share: its overflow flag follows from {@code sumOfSquares} ({@link
   * LossScaler#overflowed}).
   */
  public static StepStatistics local(double sumOfSquares, double lossSum, long tokens) {
    return new StepStatistics(
        LossScaler.overflowed(sumOfSquares) ? 1 : 0, sumOfSquares, lossSum, tokens);
  }

  /**
   * The sums over all replicas of this rank's share, through {@link GradientExchange#allReduceSum}.
   */
  public StepStatistics allReduce(GradientExchange exchange, long step) {
    double[] sum =
        exchange.allReduceSum(new double[] {overflowedRanks, sumOfSquares, lossSum, tokens}, step);
    return new StepStatistics((int) sum[0], sum[1], sum[2], (long) sum[3]);
  }

  /** Whether any rank overflowed: every rank skips the step. */
  public boolean overflowed() {
    return overflowedRanks > 0;
  }
}
