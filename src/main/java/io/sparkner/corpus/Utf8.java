package io.sparkner.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Strict UTF-8 for corpus files. {@link #reader} decodes with a {@link CodingErrorAction#REPORT}
 * decoder and, instead of replacing an invalid byte silently with U+FFFD, keeps it as a lone low
 * surrogate {@code U+DC80..U+DCFF} (the byte plus {@code 0xDC00}, as Python's surrogateescape): a
 * character no valid UTF-8 decodes to. A reader finds such characters in a record with {@link
 * #firstInvalid} and quarantines the record as {@code invalid_utf8}, naming the bytes; the rest of
 * the file is read as usual.
 */
public final class Utf8 {
  private static final char ESCAPE = '\uDC00';

  private Utf8() {}

  /** A reader of {@code in} that marks invalid bytes as described above. */
  public static Reader reader(InputStream in) {
    return new StrictReader(in);
  }

  /**
   * The index of the first invalid byte's mark in {@code s}, or -1 when the text was valid UTF-8.
   */
  public static int firstInvalid(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (isMark(s, i)) {
        return i;
      }
    }
    return -1;
  }

  /** {@code s} with each invalid byte shown as U+FFFD: what the quarantine keeps as raw text. */
  public static String visible(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      b.append(isMark(s, i) ? '\uFFFD' : s.charAt(i));
    }
    return b.toString();
  }

  /**
   * What is wrong, for a quarantine detail: the first invalid bytes in hex and the character
   * position (in the record) where they are, never the text around them.
   */
  public static String describe(String s, String where) {
    int first = firstInvalid(s);
    StringBuilder bytes = new StringBuilder();
    int count = 0;
    for (int i = first; i < s.length() && isMark(s, i) && count < 8; i++, count++) {
      bytes
          .append(count == 0 ? "" : " ")
          .append(String.format(Locale.ROOT, "0x%02X", s.charAt(i) - ESCAPE));
    }
    long total = 0;
    for (int i = first; i < s.length(); i++) {
      total += isMark(s, i) ? 1 : 0;
    }
    return where
        + ": invalid UTF-8 byte"
        + (count > 1 ? "s " : " ")
        + bytes
        + " at character "
        + first
        + (total > count ? " (" + total + " invalid bytes in all)" : "");
  }

  /** A lone low surrogate in the marks' range; the low half of a valid pair is not a mark. */
  private static boolean isMark(String s, int i) {
    char c = s.charAt(i);
    return c >= '\uDC80'
        && c <= '\uDCFF'
        && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
  }

  /** See {@link Utf8}. */
  private static final class StrictReader extends Reader {
    private final InputStream in;
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteBuffer bytes = ByteBuffer.allocate(1 << 16).flip();
    private final CharBuffer chars = CharBuffer.allocate(1 << 16).flip();
    private boolean eof;
    private boolean done;

    StrictReader(InputStream in) {
      this.in = in;
    }

    @Override
    public int read(char[] cbuf, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!chars.hasRemaining() && !fill()) {
        return -1;
      }
      int n = Math.min(len, chars.remaining());
      chars.get(cbuf, off, n);
      return n;
    }

    /** Decodes at least one character into {@code chars}; false at the end of the input. */
    private boolean fill() throws IOException {
      if (done) {
        return false;
      }
      chars.clear();
      while (true) {
        CoderResult r = decoder.decode(bytes, chars, eof);
        if (r.isError()) {
          if (chars.remaining() < r.length()) {
            break; // hand out what is decoded; the same error comes back on the next fill
          }
          for (int i = 0; i < r.length(); i++) {
            chars.put((char) (ESCAPE | (bytes.get() & 0xFF)));
          }
          continue;
        }
        if (r.isOverflow()) {
          break;
        }
        // underflow: every complete sequence is decoded
        if (eof) {
          decoder.flush(chars);
          done = true;
          break;
        }
        if (chars.position() > 0) {
          break;
        }
        bytes.compact();
        int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
        if (n < 0) {
          eof = true;
        } else {
          bytes.position(bytes.position() + n);
        }
        bytes.flip();
      }
      chars.flip();
      return chars.hasRemaining();
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
