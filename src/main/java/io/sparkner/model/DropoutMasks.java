package io.sparkner.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Dropout masks that are a pure function of (seed, global step, the example's position in the
 * global batch, site, element), never of libtorch's process-global generator.
 *
 * <p>libtorch's default generator is shared by every thread of a JVM: replicas that are threads of
 * one executor (local mode, a multi-GPU executor) would draw each other's masks in whatever order
 * the threads interleave, and a replica relaunched after a failure would not see the masks of the
 * uninterrupted run. Keyed masks make training with dropout reproducible byte for byte, resumable
 * to the uninterrupted weights, and independent of the number of replicas: an example gets the same
 * masks whichever rank and micro-batch it lands in, so N replicas reach the weights of one.
 *
 * <p>A mask element is kept with probability {@code 1 - rate} and scaled by {@code 1 / (1 - rate)}
 * (inverted dropout, as {@code torch.nn.functional.dropout}). Its random number is SplitMix64 at a
 * counter that names the element in a layout that does not depend on the batch's padded length:
 * {@code t * hidden + h} for hidden states [batch, length, hidden], {@code (head * 2^16 + query) *
 * 2^16 + key} for attention probabilities [batch, heads, length, length]. So the masks of an
 * example's real tokens are the same whatever it is padded to.
 *
 * <p>Sites: 0 the embeddings; for layer {@code i}, {@code 1 + 3i} the attention probabilities,
 * {@code 2 + 3i} the attention output, {@code 3 + 3i} the feed-forward output; {@code 1 + 3L} the
 * classifier's input.
 */
public final class DropoutMasks {
  /** No dropout: evaluation and prediction. */
  public static final DropoutMasks NONE = new DropoutMasks(0, 0, new int[0], false);

  /** SplitMix64's increment (2^64 / φ, odd). */
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  /**
   * Added to the scaled seed before the first mix: {@link #mix} maps 0 to 0, so without it seed 0
   * would start the chain at a fixed point. Another non-zero constant would have done as well; this
   * one is fixed for good (see {@link #maskKey}).
   */
  private static final long KEY_OFFSET = 0x632BE59BD9B4E019L;

  private static final int POSITION_BITS = 16;

  private final long seed;
  private final long step;
  private final int[] rows;
  private final boolean active;

  private DropoutMasks(long seed, long step, int[] rows, boolean active) {
    this.seed = seed;
    this.step = step;
    this.rows = rows;
    this.active = active;
  }

  /**
   * Masks for one micro-batch of training.
   *
   * @param seed the run's seed
   * @param step the global step
   * @param rows for each row of the micro-batch, the example's position in the global batch
   */
  public static DropoutMasks of(long seed, long step, int[] rows) {
    return new DropoutMasks(seed, step, rows.clone(), true);
  }

  /** Whether dropout is applied (training). */
  public boolean active() {
    return active;
  }

  /** The embeddings' site. */
  public static int embeddingSite() {
    return 0;
  }

  /** The attention probabilities of layer {@code layer}. */
  public static int attentionSite(int layer) {
    return 1 + 3 * layer;
  }

  /** The attention output (before the residual) of layer {@code layer}. */
  public static int attentionOutputSite(int layer) {
    return 2 + 3 * layer;
  }

  /** The feed-forward output (before the residual) of layer {@code layer}. */
  public static int outputSite(int layer) {
    return 3 + 3 * layer;
  }

  /** The classifier's input, after {@code layers} layers. */
  public static int classifierSite(int layers) {
    return 1 + 3 * layers;
  }

  /** Hidden states [batch, length, hidden] with dropout at {@code site}. */
  public NDArray hidden(NDArray x, double rate, int site) {
    if (!active || rate <= 0) {
      return x;
    }
    Shape s = x.getShape();
    int b = checkRows(s);
    int length = Math.toIntExact(s.get(1));
    int width = Math.toIntExact(s.get(2));
    Math.multiplyExact(Math.multiplyExact(b, length), width); // the mask's floats fit an int
    int n = length * width;
    return apply(
        x, s, (mask, r) -> fill(mask, r * n, maskKey(seed, step, rows[r], site), 0, n, rate));
  }

  /** Attention probabilities [batch, heads, length, length] with dropout at {@code site}. */
  public NDArray attention(NDArray probs, double rate, int site) {
    if (!active || rate <= 0) {
      return probs;
    }
    Shape s = probs.getShape();
    int b = checkRows(s);
    int heads = Math.toIntExact(s.get(1));
    int queries = Math.toIntExact(s.get(2));
    int keys = Math.toIntExact(s.get(3));
    if (queries >= 1 << POSITION_BITS || keys >= 1 << POSITION_BITS) {
      throw new IllegalArgumentException(
          "attention dropout supports sequences shorter than " + (1 << POSITION_BITS) + ": " + s);
    }
    Math.multiplyExact(Math.multiplyExact(b, heads), Math.multiplyExact(queries, keys));
    int perRow = heads * queries * keys;
    return apply(
        probs,
        s,
        (mask, r) -> {
          long key = maskKey(seed, step, rows[r], site);
          int k = r * perRow;
          for (int h = 0; h < heads; h++) {
            for (int q = 0; q < queries; q++) {
              long first = (((long) h << POSITION_BITS) + q) << POSITION_BITS;
              fill(mask, k, key, first, keys, rate);
              k += keys;
            }
          }
        });
  }

  /** Writes one row's mask elements into the mask of the whole batch. */
  private interface RowFill {
    void fill(FloatBuffer mask, int row);
  }

  /**
   * {@code x} times its mask. On the CPU the mask is written straight into the memory of a tensor
   * libtorch allocates (no Java array, no copy, freed with the step's manager); elsewhere it is
   * built in a Java buffer and copied in. A row's mask elements depend on that row alone, so rows
   * fill their own ranges on as many threads as the task's libtorch may use ({@link
   * TaskCompute#cpuThreads}: its intra-op threads wait for the mask meanwhile); the mask is the
   * same as filled in order.
   */
  private NDArray apply(NDArray x, Shape s, RowFill rowFill) {
    NDManager manager = x.getManager();
    NDArray mask = null;
    FloatBuffer out = null;
    if (x.getDevice().equals(Device.cpu()) && manager.getDevice().equals(Device.cpu())) {
      mask = manager.create(s, DataType.FLOAT32); // uninitialised; every element is written below
      ByteBuffer view = mask.toByteBuffer(true);
      if (view.isDirect()) {
        out = view.order(ByteOrder.nativeOrder()).asFloatBuffer();
      } else {
        mask.close(); // a copy, not the tensor's memory: build the mask in Java instead
        mask = null;
      }
    }
    FloatBuffer target = out != null ? out : FloatBuffer.allocate(Math.toIntExact(s.size()));
    TaskCompute.forRanges(
        rows.length,
        rows.length > 1 ? TaskCompute.cpuThreads() : 1,
        (from, to) -> {
          for (int r = from; r < to; r++) {
            rowFill.fill(target, r);
          }
        });
    if (mask == null) {
      mask = manager.create(target, s, DataType.FLOAT32);
    }
    if (x.getDataType() != DataType.FLOAT32) {
      mask = mask.toType(x.getDataType(), false);
    }
    return x.mul(mask);
  }

  private int checkRows(Shape s) {
    long b = s.get(0);
    if (b != rows.length) {
      throw new IllegalArgumentException(
          "dropout masks for " + rows.length + " rows applied to a batch of shape " + s);
    }
    return rows.length;
  }

  /**
   * The key of one example's masks at one site: the start of the SplitMix64 stream {@link #fill}
   * draws that example's mask elements from. Each of (seed, global step, position of the example in
   * the global batch, site) in turn is multiplied by {@link #GOLDEN}, added to the key so far and
   * mixed; the chain starts from {@link #KEY_OFFSET}. Every model trained with dropout depends on
   * these values, and a resumed run must draw what the interrupted run drew: they never change
   * (DropoutMasksTest pins them).
   */
  static long maskKey(long seed, long step, int position, int site) {
    long z = mix(seed * GOLDEN + KEY_OFFSET);
    z = mix(z + step * GOLDEN);
    z = mix(z + position * GOLDEN);
    return mix(z + site * GOLDEN);
  }

  /**
   * Elements {@code first .. first + n - 1} of a row's counter space into {@code out[at..]}: the
   * element at counter {@code c} draws {@code mix(key + (c + 1) · GOLDEN)}, SplitMix64's output
   * number {@code c} from state {@code key}.
   */
  private static void fill(FloatBuffer out, int at, long key, long first, int n, double rate) {
    // keep when the top 24 bits, as a fraction of 2^24, are >= rate: P(keep) = 1 - rate
    long threshold = (long) Math.ceil(rate * (1 << 24));
    float scale = (float) (1.0 / (1.0 - rate));
    long state = key + (first + 1) * GOLDEN;
    for (int i = 0; i < n; i++) {
      out.put(at + i, (mix(state) >>> 40) >= threshold ? scale : 0f);
      state += GOLDEN;
    }
  }

  /** SplitMix64's finaliser (Stafford's variant 13): a bijection of 64-bit values. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
