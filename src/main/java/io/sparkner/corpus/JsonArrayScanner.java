package io.sparkner.corpus;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;

/**
 * Cuts a JSON array (or a sequence of JSON values) into the raw text of its top-level elements
 * without parsing them, so that one malformed record can be quarantined with its own text while the
 * records around it are still read. It tracks only strings, escapes and bracket depth.
 *
 * <p>A record whose brackets do not balance would swallow what follows it. When such a chunk fails
 * to parse, {@link #resync} cuts it at the first later line that opens an object at the column
 * where the broken record started (the next record, in one-record-per-line and in pretty-printed
 * files) and reads the rest again, so only the broken record is lost to quarantine.
 */
final class JsonArrayScanner {
  private final Reader in;
  private final StringBuilder pending = new StringBuilder();
  private int pendingAt;
  private int pushedBack = -2;
  private int column;
  private int elementColumn;

  /**
   * Newlines read so far (less those queued again by {@link #resync}), and the last element's first
   * line.
   */
  private int newlines;

  private int elementLine;
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
    elementColumn = column - 1;
    elementLine = newlines + 1;
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

  /**
   * Given the raw text of an element that failed to parse, returns the part that belongs to the
   * broken record and queues the rest to be read again; returns {@code raw} unchanged when no later
   * line opens an object at the record's column.
   */
  String resync(String raw) {
    int lineStart = raw.indexOf('\n');
    while (lineStart >= 0) {
      int i = lineStart + 1;
      int col = 0;
      while (i < raw.length() && (raw.charAt(i) == ' ' || raw.charAt(i) == '\t')) {
        i++;
        col++;
      }
      if (i < raw.length() && raw.charAt(i) == '{' && col == elementColumn) {
        String tail = raw.substring(lineStart + 1);
        if (pushedBack != -2) {
          tail += (char) pushedBack;
          pushedBack = -2;
        }
        pending.insert(pendingAt, tail);
        newlines -= (int) tail.chars().filter(ch -> ch == '\n').count();
        finished = false;
        column = 0;
        return raw.substring(0, lineStart).stripTrailing();
      }
      lineStart = raw.indexOf('\n', lineStart + 1);
    }
    return raw;
  }

  /** The 1-based line of the file on which the element {@link #next} returned last begins. */
  int elementLine() {
    return elementLine;
  }

  private int skipWhitespaceAndCommas() {
    int c = read();
    while (c != -1 && (Character.isWhitespace(c) || c == ',' || c == '\uFEFF')) {
      c = read();
    }
    return c;
  }

  private int read() {
    int c;
    if (pushedBack != -2) {
      c = pushedBack;
      pushedBack = -2;
    } else if (pendingAt < pending.length()) {
      c = pending.charAt(pendingAt++);
      if (pendingAt == pending.length()) {
        pending.setLength(0);
        pendingAt = 0;
      }
    } else {
      try {
        c = in.read();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    column = c == '\n' ? 0 : column + 1;
    if (c == '\n') {
      newlines++;
    }
    return c;
  }
}
