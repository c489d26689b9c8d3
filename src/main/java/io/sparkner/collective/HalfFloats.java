package io.sparkner.collective;

import io.sparkner.model.Half;

/** float to IEEE 754 half precision with round-to-nearest-even, and back (via {@link Half}). */
public final class HalfFloats {
  private HalfFloats() {}

  /**
   * The half nearest to {@code f}, ties to even; overflow gives infinity, NaN stays NaN (quiet,
   * keeping the top payload bits), tiny values become subnormal halves or signed zero.
   */
  public static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7FFFFFFF;
    if (abs >= 0x7F800000) { // inf or NaN
      if (abs == 0x7F800000) {
        return (short) (sign | 0x7C00);
      }
      return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x3FF));
    }
    if (abs >= 0x477FF000) { // >= 65520 = halfway between 65504 (max half) and 65536: rounds to inf
      return (short) (sign | 0x7C00);
    }
    if (abs >= 0x38800000) { // >= 2^-14: normal half
      // rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits, ties to even;
      // a carry out of the mantissa correctly bumps the exponent
      int lsb = (abs >>> 13) & 1;
      int rounded = abs + 0xFFF + lsb;
      return (short) (sign | ((rounded - 0x38000000) >>> 13));
    }
    if (abs
        < 0x33000000) { // < 2^-25 (half of the smallest subnormal): zero; exactly 2^-25 ties to 0
      return (short) sign;
    }
    // subnormal half: value = m * 2^-24, m = round(abs_value * 2^24)
    int exp = abs >>> 23; // 102 .. 112
    int mant = (abs & 0x7FFFFF) | 0x800000; // 24 significant bits
    int shift = 126 - exp; // value * 2^24 = mant * 2^(exp - 127 - 23 + 24) = mant >> (126 - exp)
    int m = mant >>> shift;
    int rem = mant & ((1 << shift) - 1);
    int half = 1 << (shift - 1);
    if (rem > half || (rem == half && (m & 1) != 0)) {
      m++; // may become 0x400, the smallest normal: still correct
    }
    return (short) (sign | m);
  }

  public static float toFloat(short h) {
    return Half.toFloat(h);
  }

  /** {@code f} rounded to the nearest half and back. */
  public static float round(float f) {
    return Half.toFloat(fromFloat(f));
  }
}
