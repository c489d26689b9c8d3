package io.sparkner.corpus;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;

/**
 * Cuts a JSON array (or a sequence of JSON values) into the raw text of its top-level elements
 * without parsing them, so that one malformed record can be quarantined with its own text while
 * the records around it are still read. It tracks only strings, escapes and bracket depth.
 *
 * <p>A record whose brackets do not balance swallows what follows it up to the point where the
 * depth returns to zero (or the end of the file): that text comes out as one raw element, which
 * then fails to parse and is quarantined whole.
 */
final class JsonArrayScanner {
  private final Reader in;
  private int pushedBack = -2;
  private boolean arrayOpened;
  private boolean finished;

  JsonArrayScanner(Reader in) {
    this.in = in;
  }

  /** The raw text of the next element, or null after the last one. */
  String next() {
    if (finished) {
      return null;
    }
    int c = skipWhitespaceAndCommas();
    if (c == -1) {
      finished = true;
      return null;
    }
    if (!arrayOpened && c == '[') {
      arrayOpened = true;
      c = skipWhitespaceAndCommas();
      if (c == -1) {
        finished = true;
        return null;
      }
    }
    if (c == ']' && arrayOpened) {
      finished = true; // anything after the closing bracket is ignored only if it is whitespace
      int rest = skipWhitespaceAndCommas();
      if (rest != -1) {
        StringBuilder tail = new StringBuilder().appendCodePoint(rest);
        for (int d = read(); d != -1; d = read()) {
          tail.append((char) d);
        }
        return tail.toString();
      }
      return null;
    }
    StringBuilder sb = new StringBuilder();
    int depth = 0;
    boolean inString = false;
    boolean escaped = false;
    while (c != -1) {
      if (inString) {
        sb.append((char) c);
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          inString = false;
        }
      } else if (c == '"') {
        inString = true;
        sb.append('"');
      } else if (c == '{' || c == '[') {
        depth++;
        sb.append((char) c);
      } else if (c == '}' || c == ']') {
        if (depth == 0) {
          // the array's closing bracket right after a scalar element
          pushedBack = c;
          break;
        }
        depth--;
        sb.append((char) c);
        if (depth == 0) {
          break;
        }
      } else if (depth == 0 && (c == ',' || c == '\n')) {
        break;
      } else {
        sb.append((char) c);
      }
      c = read();
    }
    if (c == -1 && sb.length() == 0) {
      finished = true;
      return null;
    }
    return sb.toString();
  }

  private int skipWhitespaceAndCommas() {
    int c = read();
    while (c != -1 && (Character.isWhitespace(c) || c == ',' || c == '\uFEFF')) {
      c = read();
    }
    return c;
  }

  private int read() {
    if (pushedBack != -2) {
      int c = pushedBack;
      pushedBack = -2;
      return c;
    }
    try {
      return in.read();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
