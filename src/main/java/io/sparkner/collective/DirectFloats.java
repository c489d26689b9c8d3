package io.sparkner.collective;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A float32 vector in off-heap memory, little-endian: the trainer's flat gradient and parameter
 * spaces. A socket sends from and receives into such memory directly, so the ring collectives move
 * these buffers without copying them through the Java heap (a {@code float[]} costs one copy per
 * send and per receive, which on a fast link is as much CPU as the transfer itself). Not
 * thread-safe; the element and bulk accessors are absolute and leave no position behind.
 *
 * <p>Off-heap: a trainer holds two of these (8 bytes per parameter, 2.2 GB for XLM-R base), which
 * count towards the executor's memory overhead, not its heap.
 */
public final class DirectFloats {
  private final ByteBuffer bytes;
  private final FloatBuffer floats;
  private final int length;

  private DirectFloats(int length) {
    if (length < 0) {
      throw new IllegalArgumentException("length " + length);
    }
    this.length = length;
    this.bytes =
        ByteBuffer.allocateDirect(Math.multiplyExact(length, Float.BYTES))
            .order(ByteOrder.LITTLE_ENDIAN);
    this.floats = bytes.asFloatBuffer();
  }

  /** A zero-filled vector. */
  public static DirectFloats allocate(int length) {
    return new DirectFloats(length);
  }

  /** A copy of {@code values}. */
  public static DirectFloats of(float[] values) {
    DirectFloats d = new DirectFloats(values.length);
    d.put(0, values, 0, values.length);
    return d;
  }

  public int length() {
    return length;
  }

  public float get(int i) {
    return floats.get(i);
  }

  public void put(int i, float v) {
    floats.put(i, v);
  }

  /**
   * Element {@code i}'s 32 bits as an int (an element may hold an int, e.g. a row id, that a
   * collective moves as raw bytes).
   */
  public int getInt(int i) {
    return bytes.getInt(Math.multiplyExact(i, Float.BYTES));
  }

  /** Sets element {@code i}'s 32 bits to the int {@code v}. */
  public void putInt(int i, int v) {
    bytes.putInt(Math.multiplyExact(i, Float.BYTES), v);
  }

  /** Copies {@code [from, from + n)} into {@code dst[off, off + n)}. */
  public void get(int from, float[] dst, int off, int n) {
    floats.get(from, dst, off, n);
  }

  /** Copies {@code src[off, off + n)} to {@code [at, at + n)}. */
  public void put(int at, float[] src, int off, int n) {
    floats.put(at, src, off, n);
  }

  /**
   * Copies the remaining bytes of {@code src} (float32, little-endian) to elements from {@code at}.
   */
  public void putBytes(int at, ByteBuffer src) {
    if (src.remaining() % Float.BYTES != 0) {
      throw new IllegalArgumentException(src.remaining() + " bytes are not whole floats");
    }
    bytes.put(Math.multiplyExact(at, Float.BYTES), src, src.position(), src.remaining());
  }

  /** Sets {@code [from, to)} to {@code v}. */
  public void fill(int from, int to, float v) {
    for (int i = from; i < to; i++) {
      floats.put(i, v);
    }
  }

  /** The elements as a new array. */
  public float[] toArray() {
    return toArray(0, length);
  }

  /** Elements {@code [from, to)} as a new array. */
  public float[] toArray(int from, int to) {
    float[] out = new float[to - from];
    floats.get(from, out, 0, out.length);
    return out;
  }

  /** Elements {@code [from, from + n)} as a float view of this memory (no copy). */
  public FloatBuffer floats(int from, int n) {
    return floats.slice(from, n);
  }

  /**
   * Elements {@code [from, from + n)} as a byte view of this memory (no copy), little-endian,
   * position 0 and limit {@code 4n}: what a channel writes from or reads into.
   */
  public ByteBuffer bytes(int from, int n) {
    return bytes
        .slice(Math.multiplyExact(from, Float.BYTES), Math.multiplyExact(n, Float.BYTES))
        .order(ByteOrder.LITTLE_ENDIAN);
  }
}
