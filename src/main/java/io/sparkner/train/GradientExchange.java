package io.sparkner.train;

import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;

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
   * Sums the replicas' gradients and writes the global sum over this rank's shard {@code
   * [shardFrom, shardTo)} into {@code shard} (of the shard's length, owned by the caller and reused
   * every step). {@code local} is the exchange's to use: under ZeRO 2 it ends holding reduced sums
   * of this rank's shard only, so no rank ever holds the whole reduced gradient.
   */
  void reduceGradients(DirectFloats local, float[] shard, long step);

  /**
   * {@link #reduceGradients(DirectFloats, float[], long)}, told that in {@code local} only the
   * {@code touched} rows of one matrix (the word embeddings) may be nonzero, so that an exchange
   * may send just those rows ({@code sparse_gradients}). The result is the same as without the
   * hint, bit for bit; by default the hint is not used.
   */
  default void reduceGradients(DirectFloats local, float[] shard, long step, TouchedRows touched) {
    reduceGradients(local, shard, step);
  }

  /**
   * The part {@code [from, to)} of a reduced gradient of length {@code length} (as returned by
   * {@link #reduceGradients}) that this rank counts in global sums such as the gradient norm, so
   * that every element is counted by exactly one rank.
   */
  default int[] countedRange(int length) {
    return new int[] {0, length};
  }

  /**
   * How much of the reduced gradient a rank holds after {@link #reduceGradients}: all of it, but
   * under ZeRO 2.
   */
  default long reducedGradientLength(long size) {
    return size;
  }

  /**
   * Sums a few doubles over the replicas, with the same bits on every rank: a step's {@link
   * StepStatistics}, the checkpoint shards' sizes and checksums. Also a barrier: no rank returns
   * before every rank has called it.
   */
  double[] allReduceSum(double[] values, long step);

  /** Every rank's updated shard of {@code flat} (from its master weights) to every rank. */
  void gatherParameters(DirectFloats flat, long step);

  /**
   * {@link #gatherParameters(DirectFloats, long)}, telling {@code progress} of every range of
   * {@code flat} as it holds its final gathered values, on the calling thread while the gather runs
   * (this rank's own shard first, then the pieces as they arrive); the ranges cover the flat space
   * once the call returns. A reader may use a reported range before the gather ends. By default the
   * whole space is reported after the gather.
   */
  default void gatherParameters(DirectFloats flat, long step, Ring.Progress progress) {
    gatherParameters(flat, step);
    progress.written(0, flat.length());
  }

  /**
   * Sums {@code data} over the replicas in place, every rank ending with the same values: the
   * validation predictions, each rank's at its own windows' places and zero elsewhere. Here (one
   * replica) it leaves them as they are.
   */
  default void allReduceSum(DirectFloats data, String what, long step) {}

  /**
   * Runs {@code body}, in which some replicas may work alone for longer than the collective timeout
   * while the others wait for them (rank 0 validating, or writing the model of a checkpoint). Every
   * replica calls it at the same point, each with its own body; the ring's exchange keeps the
   * waiting replicas from timing out until every body has returned. Here (one replica) it just runs
   * the body.
   */
  default void longPhase(String what, long step, Runnable body) {
    body.run();
  }

  /**
   * An exchange that does what {@code inner} does, for a wrapper to change one operation (a fault
   * plan's injected overflow, a test's trace) while every other one, present or added later, still
   * reaches the wrapped exchange.
   */
  abstract class Forwarding implements GradientExchange {
    protected final GradientExchange inner;

    protected Forwarding(GradientExchange inner) {
      this.inner = inner;
    }

    @Override
    public int rank() {
      return inner.rank();
    }

    @Override
    public int replicas() {
      return inner.replicas();
    }

    @Override
    public long shardFrom(long size) {
      return inner.shardFrom(size);
    }

    @Override
    public long shardTo(long size) {
      return inner.shardTo(size);
    }

    @Override
    public void reduceGradients(DirectFloats local, float[] shard, long step) {
      inner.reduceGradients(local, shard, step);
    }

    /**
     * Forwards the hint: a wrapper that changes the local gradients overrides both forms of
     * reduceGradients (and adds the rows it writes to the hint, see {@link TouchedRows#including}).
     */
    @Override
    public void reduceGradients(DirectFloats local, float[] shard, long step, TouchedRows touched) {
      inner.reduceGradients(local, shard, step, touched);
    }

    @Override
    public int[] countedRange(int length) {
      return inner.countedRange(length);
    }

    @Override
    public long reducedGradientLength(long size) {
      return inner.reducedGradientLength(size);
    }

    @Override
    public double[] allReduceSum(double[] values, long step) {
      return inner.allReduceSum(values, step);
    }

    @Override
    public void gatherParameters(DirectFloats flat, long step) {
      inner.gatherParameters(flat, step);
    }

    @Override
    public void gatherParameters(DirectFloats flat, long step, Ring.Progress progress) {
      inner.gatherParameters(flat, step, progress);
    }

    @Override
    public void allReduceSum(DirectFloats data, String what, long step) {
      inner.allReduceSum(data, what, step);
    }

    @Override
    public void longPhase(String what, long step, Runnable body) {
      inner.longPhase(what, step, body);
    }
  }

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
        public void reduceGradients(DirectFloats local, float[] shard, long step) {
          local.get(0, shard, 0, shard.length);
        }

        @Override
        public double[] allReduceSum(double[] values, long step) {
          return values;
        }

        @Override
        public void gatherParameters(DirectFloats flat, long step) {}
      };
}
