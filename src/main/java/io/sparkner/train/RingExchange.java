package io.sparkner.train;

import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.HalfFloats;
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

  /** Steps whose word-embedding gradient went sparse; steps that fell back to the dense ring. */
  private long sparseSteps;

  private long denseFallbacks;

  /** Whether a sparse step has checked that the untouched rows are zero (the first one does). */
  private boolean untouchedChecked;

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

  /**
   * {@code sparse_gradients}: the word-embedding gradient ({@code touched} names its range and the
   * rows this rank's batch touched) travels as rows, the rest of the flat space as before. The
   * result is bit for bit the dense one: each rank sends its touched rows' ids and fp32 values to
   * every rank ({@link Ring#allGatherBlocks}), and each element of a row is then summed in exactly
   * the order, and with exactly the fp16 roundings, that the ring's reduce-scatter (and, without
   * ZeRO 2, all-gather) gives it: starting at the rank after the element's owner and ending at the
   * owner, a rank that did not touch the row adding a zero. Rows no rank touched stay zero (every
   * rank's own gradient is zero there). Every rank sums every touched row (ZeRO 0/1), or the rows'
   * parts in its shard (ZeRO 2).
   *
   * <p>First the ranks sum their row counts ({@link Ring#allReduceSum}, n doubles); from them every
   * rank computes the same decision: the sparse exchange is used when the most bytes a rank would
   * send for it (ids and fp32 rows of every block but the next rank's) are fewer than the most a
   * rank sends for the embedding's part of the dense collectives (at the wire's 2 or 4 bytes per
   * element); otherwise this step goes dense, as without the hint ({@link #denseFallbacks}).
   */
  @Override
  public void reduceGradients(DirectFloats local, float[] shard, long step, TouchedRows touched) {
    int n = ring.size();
    int size = local.length();
    if (touched.end() > size) {
      throw new IllegalArgumentException(touched + " outside a flat space of " + size);
    }
    if (n == 1) {
      reduceGradients(local, shard, step);
      return;
    }
    int e0 = Math.toIntExact(touched.offset());
    int e1 = Math.toIntExact(touched.end());
    double[] mine = new double[n];
    mine[ring.rank()] = touched.ids().length;
    double[] summed = ring.allReduceSum(mine, "touched word-embedding rows", step);
    int[] counts = new int[n];
    for (int r = 0; r < n; r++) {
      counts[r] = (int) summed[r];
    }
    if (!sparsePays(counts, e0, e1, touched.width(), ring.isHalfPrecisionWire())) {
      denseFallbacks++;
      reduceGradients(local, shard, step);
      return;
    }
    sparseSteps++;
    int shardFrom = (int) shardFrom(size);
    if (shard.length != shardTo(size) - shardFrom) {
      throw new IllegalArgumentException(
          "shard of " + shard.length + " for [" + shardFrom + ", " + shardTo(size) + ")");
    }
    if (!untouchedChecked) {
      checkUntouchedRowsAreZero(local, touched);
      untouchedChecked = true;
    }
    // the rest of the flat space, dense, in the same chunks (the same owners) as without the hint
    denseRange(local, 0, e0, step);
    denseRange(local, e1, size, step);
    // the touched rows: every rank's ids and rows to every rank
    int width = touched.width();
    DirectFloats[] blocks = new DirectFloats[n];
    for (int r = 0; r < n; r++) {
      blocks[r] = DirectFloats.allocate(Math.multiplyExact(counts[r], 1 + width));
    }
    DirectFloats own = blocks[ring.rank()];
    int[] ids = touched.ids();
    float[] row = new float[width];
    for (int i = 0; i < ids.length; i++) {
      own.putInt(i, ids[i]);
      local.get(e0 + ids[i] * width, row, 0, width);
      own.put(ids.length + i * width, row, 0, width);
    }
    ring.allGatherBlocks(blocks, "word-embedding gradient rows", step);
    sumRows(local, blocks, counts, touched);
    local.get(shardFrom, shard, 0, shard.length);
  }

  /**
   * The sparse exchange's decision (see {@link #reduceGradients(DirectFloats, float[], long,
   * TouchedRows)}), the same on every rank: true when the sparse exchange's largest payload per
   * rank is below the dense collectives' largest for the matrix {@code [e0, e1)}.
   */
  boolean sparsePays(int[] counts, int e0, int e1, int width, boolean halfWire) {
    int n = counts.length;
    long total = 0;
    for (int c : counts) {
      total += c;
    }
    long sparse = 0;
    long dense = 0;
    int wire = halfWire ? 2 : 4;
    long e = e1 - e0;
    for (int r = 0; r < n; r++) {
      int next = (r + 1) % n;
      sparse = Math.max(sparse, 4L * (1 + width) * (total - counts[next]));
      long rs = e - overlap(r, e0, e1); // the reduce-scatter sends every chunk but its own
      long ag = e - overlap(next, e0, e1); // the all-gather every chunk but the next rank's
      dense = Math.max(dense, (long) wire * (stage < 2 ? rs + ag : rs));
    }
    return sparse < dense;
  }

  private long overlap(int chunk, int from, int to) {
    return Math.max(0, Math.min(to, bounds[chunk + 1]) - Math.max(from, bounds[chunk]));
  }

  /** The dense collective of this stage over {@code [from, to)} only, in the shards' chunks. */
  private void denseRange(DirectFloats local, int from, int to, long step) {
    if (from >= to) {
      return;
    }
    if (stage < 2) {
      ring.allReduce(local, clip(from, to), "gradients", step);
      return;
    }
    for (long b0 = 0; b0 < local.length(); b0 += bucket) {
      int bFrom = (int) Math.max(b0, from);
      int bTo = (int) Math.min(Math.min(local.length(), b0 + bucket), to);
      if (bFrom < bTo) {
        ring.reduceScatter(
            local, clip(bFrom, bTo), "gradients (bucket " + (b0 / bucket) + ")", step);
      }
    }
  }

  /** The shards' bounds clipped to {@code [from, to)}: each chunk its overlap with a shard. */
  private int[] clip(int from, int to) {
    int[] chunk = new int[bounds.length];
    for (int k = 0; k < bounds.length; k++) {
      chunk[k] = Math.min(to, Math.max(from, bounds[k]));
    }
    return chunk;
  }

  /**
   * Sums the gathered rows into {@code local}: each element as the dense ring sums it (see {@link
   * #reduceGradients(DirectFloats, float[], long, TouchedRows)}), for the elements this rank must
   * hold (all, or its shard under ZeRO 2).
   */
  private void sumRows(DirectFloats local, DirectFloats[] blocks, int[] counts, TouchedRows t) {
    int n = ring.size();
    int width = t.width();
    boolean half = ring.isHalfPrecisionWire();
    int lo = stage < 2 ? 0 : bounds[ring.rank()];
    int hi = stage < 2 ? local.length() : bounds[ring.rank() + 1];
    int[] cursor = new int[n];
    int[] last = new int[n];
    java.util.Arrays.fill(last, -1);
    float[][] x = new float[n][width];
    float[] out = new float[width];
    while (true) {
      int id = Integer.MAX_VALUE;
      for (int r = 0; r < n; r++) {
        if (cursor[r] < counts[r]) {
          int v = blocks[r].getInt(cursor[r]);
          if (v <= last[r] || v >= t.rows()) {
            throw new IllegalStateException(
                "rank "
                    + r
                    + " sent word-embedding row id "
                    + v
                    + " at "
                    + cursor[r]
                    + " (ids must increase and be below "
                    + t.rows()
                    + ")");
          }
          id = Math.min(id, v);
        }
      }
      if (id == Integer.MAX_VALUE) {
        return;
      }
      for (int r = 0; r < n; r++) {
        if (cursor[r] < counts[r] && blocks[r].getInt(cursor[r]) == id) {
          blocks[r].get(counts[r] + cursor[r] * width, x[r], 0, width);
          last[r] = id;
          cursor[r]++;
        } else {
          java.util.Arrays.fill(x[r], 0f);
        }
      }
      int rowFrom = Math.toIntExact(t.offset() + (long) id * width);
      int from = Math.max(rowFrom, lo);
      int to = Math.min(rowFrom + width, hi);
      for (int at = from; at < to; ) {
        int owner = ownerOf(at);
        int segmentEnd = Math.min(to, bounds[owner + 1]);
        for (int j = at - rowFrom; j < segmentEnd - rowFrom; j++) {
          // the reduce-scatter: rank owner+1 starts, each next rank adds the received partial sum
          // (rounded to fp16 on an fp16 wire) to its own value, the owner last
          float acc = x[(owner + 1) % n][j];
          for (int m = 2; m <= n; m++) {
            acc = x[(owner + m) % n][j] + (half ? HalfFloats.round(acc) : acc);
          }
          // the all-gather of ZeRO 0/1 sends the owner's sum, rounded to fp16 on an fp16 wire
          out[j] = stage < 2 && half ? HalfFloats.round(acc) : acc;
        }
        local.put(at, out, at - rowFrom, segmentEnd - at);
        at = segmentEnd;
      }
    }
  }

  /** The shard (the dense collectives' chunk) that holds flat element {@code at}. */
  private int ownerOf(int at) {
    for (int c = 0; c < bounds.length - 1; c++) {
      if (at >= bounds[c] && at < bounds[c + 1]) {
        return c;
      }
    }
    throw new IllegalArgumentException("element " + at + " outside the shards");
  }

  /**
   * The hint's premise, checked once: every row outside {@code touched} is zero in this rank's
   * local gradient (bit for bit), or the sparse exchange would drop it.
   */
  private static void checkUntouchedRowsAreZero(DirectFloats local, TouchedRows t) {
    int width = t.width();
    int[] ids = t.ids();
    int next = 0;
    for (int id = 0; id < t.rows(); id++) {
      if (next < ids.length && ids[next] == id) {
        next++;
        continue;
      }
      int at = Math.toIntExact(t.offset() + (long) id * width);
      for (int j = 0; j < width; j++) {
        if (local.getInt(at + j) != 0) {
          throw new IllegalStateException(
              "sparse_gradients: the word-embedding gradient has a nonzero value ("
                  + local.get(at + j)
                  + ") in row "
                  + id
                  + ", which no input id of this rank's batch touched; the rows cannot be"
                  + " exchanged sparsely (set sparse_gradients to false)");
        }
      }
    }
  }

  /** Steps whose word-embedding gradient was exchanged sparsely. */
  public long sparseSteps() {
    return sparseSteps;
  }

  /** Steps with the sparse hint that went dense because sparse would have sent more. */
  public long denseFallbacks() {
    return denseFallbacks;
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
    gatherParameters(flat, step, null);
  }

  /**
   * The parameter all-gather, reporting each range as its values arrive (the ring's {@link
   * Ring.Progress}) unless {@code progress} is null: the same collective either way, so the same
   * bits. Without ZeRO 1/2 every rank already holds every value: nothing to gather.
   */
  @Override
  public void gatherParameters(DirectFloats flat, long step, Ring.Progress progress) {
    if (stage > 0) {
      ring.allGather(flat, bounds, "parameters", step, progress);
    } else if (progress != null) {
      progress.written(0, flat.length());
    }
  }
}
