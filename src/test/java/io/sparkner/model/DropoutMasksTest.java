package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Keyed dropout masks: the keep rate and scale of inverted dropout, the same mask for an example's
 * real tokens whatever the batch is padded to and whichever row it sits in, other masks for another
 * example, step, site or seed, no dependence on libtorch's global generator or the calling thread,
 * and gradients that flow through kept elements only.
 */
class DropoutMasksTest {

  /** The mask {@code hidden} multiplies a tensor of ones with. */
  static float[] hiddenMask(
      DropoutMasks m, int rows, int length, int width, double rate, int site) {
    try (NDManager nd = NDManager.newBaseManager()) {
      NDArray ones = nd.ones(new Shape(rows, length, width));
      return m.hidden(ones, rate, site).toFloatArray();
    }
  }

  static float[] attentionMask(
      DropoutMasks m, int rows, int heads, int length, double rate, int site) {
    try (NDManager nd = NDManager.newBaseManager()) {
      NDArray ones = nd.ones(new Shape(rows, heads, length, length));
      return m.attention(ones, rate, site).toFloatArray();
    }
  }

  @Test
  void keepsOneMinusRateScaledByItsInverse() {
    for (double rate : new double[] {0.1, 0.5}) {
      float[] mask =
          hiddenMask(DropoutMasks.of(42, 3, new int[] {0, 1, 2, 3}), 4, 100, 256, rate, 5);
      float scale = (float) (1 / (1 - rate));
      long kept = 0;
      for (float v : mask) {
        assertTrue(v == 0f || v == scale, "mask value " + v);
        kept += v == 0f ? 0 : 1;
      }
      double fraction = (double) kept / mask.length;
      // 102,400 draws: the standard deviation of the fraction is <= 0.0016
      assertEquals(1 - rate, fraction, 0.01, "kept fraction at rate " + rate);
    }
  }

  @Test
  void anExamplesMaskDoesNotDependOnPaddingRowOrBatch() {
    int width = 8;
    // example 5 alone, padded to 4 tokens; then in row 1 of a batch padded to 9
    float[] alone = hiddenMask(DropoutMasks.of(1, 7, new int[] {5}), 1, 4, width, 0.3, 2);
    float[] inBatch = hiddenMask(DropoutMasks.of(1, 7, new int[] {2, 5}), 2, 9, width, 0.3, 2);
    assertArrayEquals(alone, Arrays.copyOfRange(inBatch, 9 * width, 9 * width + 4 * width));
    int heads = 3;
    float[] a = attentionMask(DropoutMasks.of(1, 7, new int[] {5}), 1, heads, 4, 0.3, 4);
    float[] b = attentionMask(DropoutMasks.of(1, 7, new int[] {2, 5}), 2, heads, 9, 0.3, 4);
    for (int h = 0; h < heads; h++) {
      for (int q = 0; q < 4; q++) {
        int from = ((heads + h) * 9 + q) * 9;
        assertArrayEquals(
            Arrays.copyOfRange(a, (h * 4 + q) * 4, (h * 4 + q) * 4 + 4),
            Arrays.copyOfRange(b, from, from + 4),
            "head " + h + " query " + q);
      }
    }
  }

  @Test
  void anotherExampleStepSiteOrSeedGetsAnotherMask() {
    float[] base = hiddenMask(DropoutMasks.of(1, 7, new int[] {5}), 1, 16, 16, 0.5, 2);
    assertFalse(
        Arrays.equals(base, hiddenMask(DropoutMasks.of(1, 7, new int[] {6}), 1, 16, 16, 0.5, 2)),
        "example");
    assertFalse(
        Arrays.equals(base, hiddenMask(DropoutMasks.of(1, 8, new int[] {5}), 1, 16, 16, 0.5, 2)),
        "step");
    assertFalse(
        Arrays.equals(base, hiddenMask(DropoutMasks.of(1, 7, new int[] {5}), 1, 16, 16, 0.5, 3)),
        "site");
    assertFalse(
        Arrays.equals(base, hiddenMask(DropoutMasks.of(2, 7, new int[] {5}), 1, 16, 16, 0.5, 2)),
        "seed");
    assertArrayEquals(
        base, hiddenMask(DropoutMasks.of(1, 7, new int[] {5}), 1, 16, 16, 0.5, 2), "same key");
  }

  @Test
  void masksIgnoreLibtorchsGlobalGeneratorAndTheThread() throws Exception {
    ai.djl.engine.Engine.getInstance().setRandomSeed(1);
    float[] first = hiddenMask(DropoutMasks.of(9, 1, new int[] {0, 1}), 2, 8, 32, 0.2, 0);
    ai.djl.engine.Engine.getInstance().setRandomSeed(2);
    float[] other =
        CompletableFuture.supplyAsync(
                () -> hiddenMask(DropoutMasks.of(9, 1, new int[] {0, 1}), 2, 8, 32, 0.2, 0))
            .get();
    assertArrayEquals(first, other);
  }

  /**
   * The masks of a few fixed keys, element by element (1 kept, 0 dropped): the key derivation and
   * the generator are part of every trained model's result, and a run resumed under other code must
   * draw the masks the interrupted run drew. Negative seed, a step above 2^32, the largest position
   * and a late site included.
   */
  @Test
  void theMasksOfFixedKeysNeverChange() {
    assertEquals(
        "101111010100110011001100100111111000000000001001",
        kept(hiddenMask(DropoutMasks.of(42, 3, new int[] {0, 7}), 2, 3, 8, 0.5, 0)));
    assertEquals(
        "111010100101111111101000100010010001001111101101",
        kept(hiddenMask(DropoutMasks.of(42, 3, new int[] {0, 7}), 2, 3, 8, 0.5, 5)));
    assertEquals(
        "11111111111111111111111111111101",
        kept(hiddenMask(DropoutMasks.of(-1, 1L << 40, new int[] {65535}), 1, 2, 16, 0.1, 37)));
    assertEquals(
        "101001111111110101",
        kept(attentionMask(DropoutMasks.of(7, 0, new int[] {3}), 1, 2, 3, 0.3, 4)));
  }

  private static String kept(float[] mask) {
    StringBuilder s = new StringBuilder(mask.length);
    for (float v : mask) {
      s.append(v == 0f ? '0' : '1');
    }
    return s.toString();
  }

  @Test
  void gradientsFlowThroughKeptElementsOnly() {
    try (NDManager nd = NDManager.newBaseManager()) {
      NDArray x = nd.randomUniform(-1, 1, new Shape(2, 5, 6));
      x.setRequiresGradient(true);
      DropoutMasks m = DropoutMasks.of(3, 4, new int[] {0, 1});
      float[] mask = hiddenMask(m, 2, 5, 6, 0.4, 1);
      try (Autograd.Scope rec = Autograd.recording()) {
        NDArray y = m.hidden(x, 0.4, 1);
        assertArrayEquals(mul(x.toFloatArray(), mask), y.toFloatArray(), 1e-6f);
        Autograd.backward(y.sum());
      }
      assertArrayEquals(mask, x.getGradient().toFloatArray(), 1e-6f);
    }
  }

  @Test
  void halfPrecisionInputsGetHalfPrecisionMasks() {
    try (NDManager nd = NDManager.newBaseManager()) {
      NDArray x = nd.ones(new Shape(1, 4, 8)).toType(DataType.FLOAT16, false);
      NDArray y = DropoutMasks.of(1, 1, new int[] {0}).hidden(x, 0.5, 0);
      assertEquals(DataType.FLOAT16, y.getDataType());
      for (float v : y.toType(DataType.FLOAT32, false).toFloatArray()) {
        assertTrue(v == 0f || v == 2f, "value " + v);
      }
    }
  }

  @Test
  void evaluationAndRateZeroLeaveTheInputAlone() {
    try (NDManager nd = NDManager.newBaseManager()) {
      NDArray x = nd.ones(new Shape(1, 4, 8));
      assertSame(x, DropoutMasks.NONE.hidden(x, 0.5, 0));
      assertSame(x, DropoutMasks.of(1, 1, new int[] {0}).hidden(x, 0.0, 0));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> DropoutMasks.of(1, 1, new int[] {0, 1}).hidden(x, 0.5, 0));
      assertTrue(e.getMessage().contains("2 rows"), e.getMessage());
    }
  }

  private static float[] mul(float[] a, float[] b) {
    float[] out = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] * b[i];
    }
    return out;
  }
}
