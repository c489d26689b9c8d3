package io.sparkner.train;

import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;

/**
 * The gradient exchange of N replicas over a {@link Ring}, by DeepSpeed ZeRO stage:
 *
 * <ul>
 *   <li>0: gradients all-reduced; every rank holds and updates the whole optimizer state.
 *   <li>1: gradients all-reduced; rank r owns the 1/N shard r of fp32 master weights and Adam
 *       moments, updates it and all-gathers the parameters.
 *   <li>2: as 1, but gradients are reduce-scattered bucket by bucket ({@code reduce_bucket_size}
 *       elements), so a rank only ever holds its own shard of the reduced gradient.
 * </ul>
 *
 * Shards are the ring's even chunks of the flat parameter space: {@code ceil(Ψ/N)} elements each.
 */
public final class RingExchange implements GradientExchange {
  private final Ring ring;
  private final int stage;
  private final int[] bounds;
  private final long bucket;

  public RingExchange(Ring ring, int zeroStage, long parameters, long reduceBucketSize) {
    if (zeroStage < 0 || zeroStage > 2) {
      throw new IllegalArgumentException(
          "ZeRO stage " + zeroStage + " is not supported (0, 1 or 2; stage 3 is out of scope)");
    }
    this.ring = ring;
    this.stage = zeroStage;
    this.bounds = Ring.evenBounds(0, Math.toIntExact(parameters), ring.size());
    this.bucket = Math.max(1, reduceBucketSize);
  }

  @Override
  public int rank() {
    return ring.rank();
  }

  @Override
  public int replicas() {
    return ring.size();
  }

  @Override
  public long shardFrom(long size) {
    return stage == 0 ? 0 : bounds[ring.rank()];
  }

  @Override
  public long shardTo(long size) {
    return stage == 0 ? size : bounds[ring.rank() + 1];
  }

  @Override
  public void reduceGradients(DirectFloats local, float[] shard, long step) {
    int shardFrom = (int) shardFrom(local.length());
    if (shard.length != shardTo(local.length()) - shardFrom) {
      throw new IllegalArgumentException(
          "shard of " + shard.length + " for [" + shardFrom + ", " + shardTo(local.length()) + ")");
    }
    if (stage < 2) {
      ring.allReduce(local, bounds, "gradients", step);
    } else {
      // ZeRO 2: reduce-scatter bucket by bucket; each bucket's chunks are its overlap with the
      // shards
      for (long b0 = 0; b0 < local.length(); b0 += bucket) {
        int from = (int) b0;
        int to = (int) Math.min(local.length(), b0 + bucket);
        int[] chunk = new int[bounds.length];
        for (int k = 0; k < bounds.length; k++) {
          chunk[k] = Math.min(to, Math.max(from, bounds[k]));
        }
        ring.reduceScatter(local, chunk, "gradients (bucket " + (b0 / bucket) + ")", step);
      }
    }
    local.get(shardFrom, shard, 0, shard.length);
  }

  @Override
  public long reducedGradientLength(long size) {
    return stage < 2 ? size : bounds[ring.rank() + 1] - bounds[ring.rank()];
  }

  @Override
  public int[] countedRange(int length) {
    if (stage == 0) {
      return new int[] {bounds[ring.rank()], bounds[ring.rank() + 1]};
    }
    return new int[] {0, length};
  }

  @Override
  public double[] allReduceSum(double[] values, long step) {
    return ring.allReduceSum(values, "step statistics", step);
  }

  @Override
  public void allReduceSum(DirectFloats data, String what, long step) {
    ring.allReduce(data, Ring.evenBounds(0, data.length(), ring.size()), what, step);
  }

  /**
   * {@link Ring#longPhase}: heartbeats keep the waiting ranks from timing out; ends in a barrier.
   */
  @Override
  public void longPhase(String what, long step, Runnable body) {
    ring.longPhase(what, step, body);
  }

  @Override
  public void gatherParameters(DirectFloats flat, long step) {
    if (stage > 0) {
      ring.allGather(flat, bounds, "parameters", step);
    }
  }
}
