package io.sparkner.tokenizer;

import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Java mirror of BERT's BertNormalizer (clean_text, handle_chinese_chars, no lowercasing, no accent
 * stripping) and BertPreTokenizer (split on whitespace, each punctuation character its own word),
 * used to count the words the WordPiece model will see.
 */
final class BertWords {
  private BertWords() {}

  /** Word to number of occurrences, sorted for determinism. */
  static SortedMap<String, Long> count(Iterable<String> texts) {
    SortedMap<String, Long> counts = new TreeMap<>();
    for (String text : texts) {
      if (text == null) {
        continue;
      }
      StringBuilder word = new StringBuilder();
      int i = 0;
      while (i < text.length()) {
        int cp = text.codePointAt(i);
        i += Character.charCount(cp);
        if (cp == 0 || cp == 0xFFFD || CharClasses.isControl(cp)) {
          continue; // clean_text drops these
        }
        if (CharClasses.isWhitespace(cp)) {
          flush(word, counts);
        } else if (CharClasses.isChineseChar(cp) || CharClasses.isPunctuation(cp)) {
          flush(word, counts); // handle_chinese_chars / punctuation: a word of its own
          counts.merge(new String(Character.toChars(cp)), 1L, Long::sum);
        } else {
          word.appendCodePoint(cp);
        }
      }
      flush(word, counts);
    }
    return counts;
  }

  private static void flush(StringBuilder word, SortedMap<String, Long> counts) {
    if (word.length() > 0) {
      counts.merge(word.toString(), 1L, Long::sum);
      word.setLength(0);
    }
  }
}
