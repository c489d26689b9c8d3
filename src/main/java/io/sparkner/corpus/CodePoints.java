package io.sparkner.corpus;

/**
 * Code-point indexing over a Java (UTF-16) string: corpus spans count code points, so a character
 * outside the BMP (😀, 𠮷) is one position although it is two Java chars.
 */
public final class CodePoints {
  private final String text;
  private final int[]
      charIndex; // charIndex[cp] = UTF-16 index of code point cp; [length] = text.length()

  public CodePoints(String text) {
    this.text = text;
    int n = text.codePointCount(0, text.length());
    charIndex = new int[n + 1];
    int c = 0;
    for (int cp = 0; cp < n; cp++) {
      charIndex[cp] = c;
      c += Character.charCount(text.codePointAt(c));
    }
    charIndex[n] = text.length();
  }

  /** Number of code points. */
  public int length() {
    return charIndex.length - 1;
  }

  /** The text of code points {@code [start, end)}. */
  public String substring(int start, int end) {
    return text.substring(charIndex[start], charIndex[end]);
  }

  /** The code point at code-point position {@code i}. */
  public int codePointAt(int i) {
    return text.codePointAt(charIndex[i]);
  }

  public String text() {
    return text;
  }
}
