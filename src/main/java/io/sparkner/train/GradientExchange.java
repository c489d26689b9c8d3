package io.sparkner.train;

/**
 * What the replicas of one training run tell each other. One replica exchanges nothing; the
 * distributed trainer (a Spark barrier stage) swaps in ring collectives, and with ZeRO each rank
 * owns a shard {@code [shardFrom, shardTo)} of the flat parameter space.
 */
public interface GradientExchange {
  int rank();

  int replicas();

  /** Start of this rank's shard of the optimizer state in the flat parameter space. */
  long shardFrom(long size);

  /** End (exclusive) of this rank's shard. */
  long shardTo(long size);

  /**
   * Sums the replicas' gradients; afterwards at least this rank's shard of {@code flat} holds the
   * global sum (all of it without ZeRO 2).
   */
  void reduceGradients(float[] flat, long step);

  /** Sums a few doubles over the replicas (overflow flags, squared norms, token counts). */
  double[] allReduceSum(double[] values, long step);

  /** Every rank's updated shard of {@code flat} (from its master weights) to every rank. */
  void gatherParameters(float[] flat, long step);

  /** A single replica: everything is already global. */
  GradientExchange SINGLE =
      new GradientExchange() {
        @Override
        public int rank() {
          return 0;
        }

        @Override
        public int replicas() {
          return 1;
        }

        @Override
        public long shardFrom(long size) {
          return 0;
        }

        @Override
        public long shardTo(long size) {
          return size;
        }

        @Override
        public void reduceGradients(float[] flat, long step) {}

        @Override
        public double[] allReduceSum(double[] values, long step) {
          return values;
        }

        @Override
        public void gatherParameters(float[] flat, long step) {}
      };
}
