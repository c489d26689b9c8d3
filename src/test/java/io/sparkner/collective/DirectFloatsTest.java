package io.sparkner.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class DirectFloatsTest {

  @Test
  void viewsShareTheMemoryAndBulkCopiesAreAbsolute() {
    DirectFloats d = DirectFloats.of(new float[] {1, 2, 3, 4, 5});
    assertEquals(5, d.length());

    // a byte view of [1, 3): little-endian floats, writes land in d
    ByteBuffer b = d.bytes(1, 2);
    assertTrue(b.isDirect());
    assertEquals(0, b.position());
    assertEquals(8, b.limit());
    assertEquals(2f, b.getFloat(0));
    b.putFloat(4, 30f);
    assertEquals(30f, d.get(2));

    // a float view
    d.floats(3, 2).put(0, 40f);
    assertEquals(40f, d.get(3));

    // bulk copies do not move anything: the same call twice gives the same result
    float[] out = new float[3];
    d.get(2, out, 0, 3);
    d.get(2, out, 0, 3);
    assertArrayEquals(new float[] {30, 40, 5}, out);
    d.put(0, new float[] {9, 8, 7}, 1, 2);
    assertArrayEquals(new float[] {8, 7, 30, 40, 5}, d.toArray());
    assertArrayEquals(new float[] {7, 30}, d.toArray(1, 3));

    d.fill(1, 4, -1f);
    assertArrayEquals(new float[] {8, -1, -1, -1, 5}, d.toArray());
  }

  @Test
  void putBytesCopiesATensorsFloatsFromItsPosition() {
    DirectFloats d = DirectFloats.allocate(4);
    ByteBuffer src = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN);
    src.putFloat(0, 0.5f).putFloat(4, 1.5f).putFloat(8, 2.5f).putFloat(12, 3.5f);
    src.position(4); // the last three
    d.putBytes(1, src);
    assertArrayEquals(new float[] {0, 1.5f, 2.5f, 3.5f}, d.toArray());
    assertEquals(4, src.position(), "the source's position is left alone");
    assertThrows(IllegalArgumentException.class, () -> d.putBytes(0, ByteBuffer.allocate(6)));
    assertThrows(IndexOutOfBoundsException.class, () -> d.putBytes(2, src.duplicate()));
  }
}
