package io.sparkner.train;

import io.sparkner.model.Example;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * What planning an epoch needs of the training windows, and nothing more: for every window, in the
 * (id, window) order of the {@code features} table, its length in tokens and its number of labelled
 * tokens (the loss of a global batch is divided by their sum), 8 bytes per window; and a digest of
 * all of them for the run's fingerprint. The token arrays stay in storage until the rank that
 * trains a window reads it ({@link TrainingFeed}).
 */
public final class WindowPlan implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int[] lengths;
  private final int[] labelled;
  private final String digest;

  WindowPlan(int[] lengths, int[] labelled, String digest) {
    if (lengths.length != labelled.length) {
      throw new IllegalArgumentException(
          lengths.length + " window lengths but " + labelled.length + " labelled counts");
    }
    this.lengths = lengths;
    this.labelled = labelled;
    this.digest = digest;
  }

  /** The plan of windows held in memory, in the order given. */
  public static WindowPlan of(List<Example> windows) {
    int n = windows.size();
    int[] lengths = new int[n];
    int[] labelled = new int[n];
    long[] digests = new long[n];
    for (int i = 0; i < n; i++) {
      Example e = windows.get(i);
      lengths[i] = e.inputIds().length;
      labelled[i] = e.labelled();
      digests[i] = digest(e);
    }
    return new WindowPlan(lengths, labelled, digestOf(digests));
  }

  public int size() {
    return lengths.length;
  }

  /** Tokens of window {@code i}. */
  public int length(int i) {
    return lengths[i];
  }

  /** Tokens of window {@code i} that take part in the loss. */
  public int labelled(int i) {
    return labelled[i];
  }

  int[] lengths() {
    return lengths;
  }

  /**
   * SHA-256 (16 hex digits) of the windows in order: of their count and each window's {@link
   * #digest(Example)}.
   */
  public String digest() {
    return digest;
  }

  /**
   * The first 8 bytes of the SHA-256 of one window: its id, window number, token ids and labels.
   */
  static long digest(Example e) {
    MessageDigest d = sha256();
    d.update(e.id().getBytes(StandardCharsets.UTF_8));
    ByteBuffer buf = ByteBuffer.allocate(4 * (3 + e.inputIds().length + e.labels().length));
    buf.putInt(e.window()).putInt(e.inputIds().length);
    for (int x : e.inputIds()) {
      buf.putInt(x);
    }
    buf.putInt(e.labels().length);
    for (int x : e.labels()) {
      buf.putInt(x);
    }
    d.update(buf.array());
    return ByteBuffer.wrap(d.digest()).getLong();
  }

  static String digestOf(long[] windowDigests) {
    MessageDigest d = sha256();
    d.update(ByteBuffer.allocate(4).putInt(windowDigests.length).array());
    ByteBuffer buf = ByteBuffer.allocate(8 * 1024);
    for (long x : windowDigests) {
      if (!buf.hasRemaining()) {
        d.update(buf.array());
        buf.clear();
      }
      buf.putLong(x);
    }
    d.update(buf.array(), 0, buf.position());
    return HexFormat.of().formatHex(d.digest()).substring(0, 16);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
