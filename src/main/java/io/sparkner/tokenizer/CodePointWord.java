package io.sparkner.tokenizer;

/**
 * A word with its occurrence count and code-point boundaries, so that pieces are cut on code points
 * (never inside a surrogate pair) and lengths are counted as the tokenizer counts them.
 */
final class CodePointWord {
  final String text;
  final long count;

  /** UTF-16 index of each code point, plus text.length() at the end. */
  private final int[] bounds;

  CodePointWord(String text, long count) {
    this.text = text;
    this.count = count;
    int n = text.codePointCount(0, text.length());
    bounds = new int[n + 1];
    int index = 0;
    for (int k = 0; k < n; k++) {
      bounds[k] = index;
      index += Character.charCount(text.codePointAt(index));
    }
    bounds[n] = text.length();
  }

  /** Number of code points. */
  int length() {
    return bounds.length - 1;
  }

  /** Code points [start, end). */
  String piece(int start, int end) {
    return text.substring(bounds[start], bounds[end]);
  }
}
