package io.sparkner.train;

import io.sparkner.model.Example;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A training window as compact bytes, the form it travels in from the {@code features} table to the
 * rank that trains it ({@link TrainingFeed}): the id in UTF-8, then the window number and every
 * token's id, label and code-point span as variable-length integers (labels and spans zigzag, for
 * their -100 and -1). A window of 128 tokens takes about 500 bytes instead of the 2 KB of its int
 * arrays, and the bytes are cheap for any Spark serializer to move.
 */
final class WindowCodec {
  private WindowCodec() {}

  static byte[] encode(Example e) {
    byte[] id = e.id().getBytes(StandardCharsets.UTF_8);
    int n = e.inputIds().length;
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 + id.length + 6 * n);
    unsigned(out, id.length);
    out.write(id, 0, id.length);
    unsigned(out, e.window());
    unsigned(out, n);
    for (int i = 0; i < n; i++) {
      unsigned(out, e.inputIds()[i]);
      signed(out, e.labels()[i]);
      signed(out, e.starts()[i]);
      signed(out, e.ends()[i]);
    }
    return out.toByteArray();
  }

  static Example decode(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int idLength = unsigned(in);
    String id = new String(bytes, in.position(), idLength, StandardCharsets.UTF_8);
    in.position(in.position() + idLength);
    int window = unsigned(in);
    int n = unsigned(in);
    int[] ids = new int[n];
    int[] labels = new int[n];
    int[] starts = new int[n];
    int[] ends = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = unsigned(in);
      labels[i] = signed(in);
      starts[i] = signed(in);
      ends[i] = signed(in);
    }
    if (in.hasRemaining()) {
      throw new IllegalStateException(
          "window " + id + "#" + window + ": " + in.remaining() + " bytes after its last token");
    }
    return new Example(id, window, ids, labels, starts, ends);
  }

  private static void signed(ByteArrayOutputStream out, int v) {
    unsigned(out, (v << 1) ^ (v >> 31));
  }

  private static void unsigned(ByteArrayOutputStream out, int v) {
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }

  private static int signed(ByteBuffer in) {
    int v = unsigned(in);
    return (v >>> 1) ^ -(v & 1);
  }

  private static int unsigned(ByteBuffer in) {
    int v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      byte b = in.get();
      v |= (b & 0x7F) << shift;
      if (b >= 0) {
        return v;
      }
    }
    throw new IllegalStateException("a variable-length integer longer than 5 bytes");
  }
}
