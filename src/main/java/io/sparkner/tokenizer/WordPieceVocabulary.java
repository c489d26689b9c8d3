package io.sparkner.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Learns a BERT-style WordPiece vocabulary (word-initial pieces and {@code ##} continuations).
 *
 * <p>Seeds: every character, {@code ##} + every character that occurs inside a word (both always
 * kept, so a word of known characters never becomes {@code [UNK]}), whole words, word-initial
 * prefixes and {@code ##} substrings that occur at least minFrequency times. Then rounds of
 * "segment every word greedily, longest match first (exactly as the WordPiece model does), count
 * how often each piece is used, drop the least used". Counting usage under the real greedy
 * algorithm removes pieces that longest-match never reaches.
 */
final class WordPieceVocabulary {
  static final String CONTINUATION = "##";

  private static final double SHRINK = 0.75;
  private static final int MAX_ROUNDS = 40;

  private WordPieceVocabulary() {}

  /**
   * Returns the pieces, specials excluded: single characters (by code point), then {@code ##}
   * characters, then longer pieces by descending usage.
   *
   * @param budget number of pieces wanted; exceeded only by the mandatory characters
   */
  static List<String> build(
      SortedMap<String, Long> wordCounts,
      int budget,
      int maxPieceLength,
      int minFrequency,
      int maxInputCharsPerWord) {
    List<CodePointWord> words = new ArrayList<>();
    wordCounts.forEach((w, c) -> words.add(new CodePointWord(w, c)));

    Set<String> chars = new TreeSet<>(Comparator.comparingInt((String s) -> s.codePointAt(0)));
    Set<String> continuationChars =
        new TreeSet<>(Comparator.comparingInt((String s) -> s.codePointAt(2)));
    Map<String, Long> candidateCounts = new HashMap<>();
    for (CodePointWord w : words) {
      int n = w.length();
      chars.add(w.piece(0, 1));
      for (int i = 1; i < n; i++) {
        chars.add(w.piece(i, i + 1));
        continuationChars.add(CONTINUATION + w.piece(i, i + 1));
      }
      if (n > maxInputCharsPerWord) {
        continue; // the model turns such a word into [UNK] whole
      }
      if (n > 1) {
        candidateCounts.merge(w.text, w.count, Long::sum);
      }
      for (int j = 2; j <= Math.min(n - 1, maxPieceLength); j++) {
        candidateCounts.merge(w.piece(0, j), w.count, Long::sum);
      }
      for (int i = 1; i < n; i++) {
        for (int j = i + 2; j <= Math.min(n, i + maxPieceLength); j++) {
          candidateCounts.merge(CONTINUATION + w.piece(i, j), w.count, Long::sum);
        }
      }
    }
    Set<String> required = new HashSet<>(chars);
    required.addAll(continuationChars);
    Set<String> vocab = new HashSet<>(required);
    candidateCounts.forEach(
        (piece, count) -> {
          if (count >= minFrequency) {
            vocab.add(piece);
          }
        });

    int optionalBudget = Math.max(0, budget - required.size());
    Map<String, Long> usage = Map.of();
    for (int round = 0; round < MAX_ROUNDS; round++) {
      usage = usage(words, vocab, maxInputCharsPerWord);
      List<String> optional = new ArrayList<>();
      for (String piece : vocab) {
        if (!required.contains(piece) && usage.getOrDefault(piece, 0L) >= minFrequency) {
          optional.add(piece);
        }
      }
      optional.sort(byUsage(usage));
      int currentOptional = vocab.size() - required.size();
      int limit = Math.max(optionalBudget, (int) (currentOptional * SHRINK));
      List<String> kept = optional.subList(0, Math.min(limit, optional.size()));
      if (kept.size() == currentOptional) {
        break;
      }
      vocab.retainAll(required);
      vocab.addAll(kept);
    }

    List<String> longer = new ArrayList<>();
    for (String piece : vocab) {
      if (!required.contains(piece)) {
        longer.add(piece);
      }
    }
    longer.sort(byUsage(usage));
    List<String> pieces = new ArrayList<>(chars);
    pieces.addAll(continuationChars);
    pieces.addAll(longer);
    return pieces;
  }

  private static Comparator<String> byUsage(Map<String, Long> usage) {
    return Comparator.comparingLong((String p) -> -usage.getOrDefault(p, 0L))
        .thenComparingInt(p -> -p.codePointCount(0, p.length()))
        .thenComparing(Comparator.naturalOrder());
  }

  /** Piece usage under WordPiece's greedy longest-match-first segmentation. */
  private static Map<String, Long> usage(
      List<CodePointWord> words, Set<String> vocab, int maxInputCharsPerWord) {
    Map<String, Long> usage = new HashMap<>();
    List<String> segments = new ArrayList<>();
    for (CodePointWord w : words) {
      int n = w.length();
      if (n > maxInputCharsPerWord) {
        continue;
      }
      segments.clear();
      int start = 0;
      while (start < n) {
        String found = null;
        int end = n;
        for (; end > start; end--) {
          String piece = start == 0 ? w.piece(start, end) : CONTINUATION + w.piece(start, end);
          if (vocab.contains(piece)) {
            found = piece;
            break;
          }
        }
        if (found == null) {
          segments.clear(); // cannot happen: every character is in the vocabulary
          break;
        }
        segments.add(found);
        start = end;
      }
      for (String s : segments) {
        usage.merge(s, w.count, Long::sum);
      }
    }
    return usage;
  }
}
