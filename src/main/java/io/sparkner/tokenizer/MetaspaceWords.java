package io.sparkner.tokenizer;

import java.text.Normalizer;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Java mirror of the Unigram tokenizer's normalizer and pre-tokenizer, used to count the words the
 * model will see: NFKC, split on whitespace, and {@code ▁} prepended to every word (WhitespaceSplit
 * then Metaspace, as in the hub's xlm-roberta tokenizer.json).
 *
 * <p>It must agree with the JSON pipeline written by {@link TokenizerJson#unigram}, otherwise the
 * vocabulary would be learned on strings the tokenizer never produces.
 */
final class MetaspaceWords {
  static final String META = "\u2581";

  private MetaspaceWords() {}

  /** Word (each starting with {@code ▁}) to number of occurrences, sorted for determinism. */
  static SortedMap<String, Long> count(Iterable<String> texts) {
    SortedMap<String, Long> counts = new TreeMap<>();
    for (String text : texts) {
      if (text == null) {
        continue;
      }
      String normalized = Normalizer.normalize(text, Normalizer.Form.NFKC);
      StringBuilder word = new StringBuilder(META);
      int i = 0;
      while (i <= normalized.length()) {
        int cp = i < normalized.length() ? normalized.codePointAt(i) : ' ';
        i += Character.charCount(cp);
        // Whitespace ends a word; so does a literal ▁, where Metaspace (split: true) cuts too.
        if (CharClasses.isWhitespace(cp) || cp == META.codePointAt(0)) {
          if (word.length() > META.length()) {
            counts.merge(word.toString(), 1L, Long::sum);
          }
          word.setLength(META.length());
        } else {
          word.appendCodePoint(cp);
        }
      }
    }
    return counts;
  }
}
