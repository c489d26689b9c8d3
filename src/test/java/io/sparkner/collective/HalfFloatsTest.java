package io.sparkner.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.model.Half;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {
  private static short h(int bits) {
    return (short) bits;
  }

  @Test
  void everyHalfRoundTrips() {
    for (int bits = 0; bits < 0x10000; bits++) {
      float f = Half.toFloat(h(bits));
      if (Float.isNaN(f)) {
        assertTrue(
            Float.isNaN(Half.toFloat(HalfFloats.fromFloat(f))), "NaN " + Integer.toHexString(bits));
        continue;
      }
      assertEquals(
          bits, HalfFloats.fromFloat(f) & 0xFFFF, "half " + Integer.toHexString(bits) + " = " + f);
    }
  }

  /**
   * Every rounding boundary: the midpoint of two adjacent halves goes to the even one, its float
   * neighbours to the nearer.
   */
  @Test
  void roundsToNearestTiesToEvenAtEveryMidpoint() {
    for (int sign : new int[] {0, 0x8000}) {
      for (int bits = 0; bits <= 0x7BFF; bits++) {
        float a = Half.toFloat(h(sign | bits));
        float b =
            bits == 0x7BFF ? (sign == 0 ? 65536f : -65536f) : Half.toFloat(h(sign | (bits + 1)));
        float mid = (float) (((double) a + b) / 2); // 12 significant bits: exact in float
        assertEquals(((double) a + b) / 2, mid, 0.0);
        int even = (bits & 1) == 0 ? bits : bits + 1;
        assertEquals(
            sign | even, HalfFloats.fromFloat(mid) & 0xFFFF, "tie between " + a + " and " + b);
        float below = sign == 0 ? Math.nextDown(mid) : Math.nextUp(mid);
        float above = sign == 0 ? Math.nextUp(mid) : Math.nextDown(mid);
        assertEquals(
            sign | bits, HalfFloats.fromFloat(below) & 0xFFFF, "just below the midpoint of " + a);
        assertEquals(
            sign | (bits + 1),
            HalfFloats.fromFloat(above) & 0xFFFF,
            "just above the midpoint of " + a);
      }
    }
  }

  @Test
  void specialValues() {
    assertEquals(0x7BFF, HalfFloats.fromFloat(65504f) & 0xFFFF);
    assertEquals(0x7BFF, HalfFloats.fromFloat(Math.nextDown(65520f)) & 0xFFFF);
    assertEquals(0x7C00, HalfFloats.fromFloat(65520f) & 0xFFFF);
    assertEquals(0x7C00, HalfFloats.fromFloat(1e10f) & 0xFFFF);
    assertEquals(0xFC00, HalfFloats.fromFloat(-1e10f) & 0xFFFF);
    assertEquals(0x7C00, HalfFloats.fromFloat(Float.POSITIVE_INFINITY) & 0xFFFF);
    assertEquals(0xFC00, HalfFloats.fromFloat(Float.NEGATIVE_INFINITY) & 0xFFFF);
    assertTrue(Float.isNaN(HalfFloats.round(Float.NaN)));
    assertEquals(0x0000, HalfFloats.fromFloat(0x1p-25f) & 0xFFFF, "2^-25 ties to zero");
    assertEquals(0x0001, HalfFloats.fromFloat(Math.nextUp(0x1p-25f)) & 0xFFFF);
    assertEquals(0x0001, HalfFloats.fromFloat(0x1p-24f) & 0xFFFF);
    assertEquals(0x0000, HalfFloats.fromFloat(1e-30f) & 0xFFFF);
    assertEquals(0x8000, HalfFloats.fromFloat(-1e-30f) & 0xFFFF);
    assertEquals(0x8000, HalfFloats.fromFloat(-0f) & 0xFFFF);
    assertEquals(0x0400, HalfFloats.fromFloat(0x1p-14f) & 0xFFFF, "smallest normal");
    assertEquals(0x3C00, HalfFloats.fromFloat(1f) & 0xFFFF);
    assertEquals(0xC000, HalfFloats.fromFloat(-2f) & 0xFFFF);
    assertEquals(0x3555, HalfFloats.fromFloat(1f / 3) & 0xFFFF);
  }

  @Test
  void randomFloatsLandOnTheNearestHalf() {
    Random rnd = new Random(7);
    for (int k = 0; k < 1_000_000; k++) {
      float f = Float.intBitsToFloat(rnd.nextInt());
      if (Float.isNaN(f) || Math.abs(f) >= 65520f) {
        continue;
      }
      short got = HalfFloats.fromFloat(f);
      double err = Math.abs((double) Half.toFloat(got) - f);
      // neither neighbour of the result is nearer
      for (int d : new int[] {-1, 1}) {
        int nb = (got & 0x7FFF) + d;
        if (nb < 0 || nb > 0x7BFF) {
          continue;
        }
        double other = Math.abs((double) Half.toFloat((short) ((got & 0x8000) | nb)) - f);
        assertTrue(
            err <= other,
            f
                + " -> "
                + Half.toFloat(got)
                + " but "
                + Half.toFloat((short) ((got & 0x8000) | nb))
                + " is nearer");
      }
    }
  }
}
