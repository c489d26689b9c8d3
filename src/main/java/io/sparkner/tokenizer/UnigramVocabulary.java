package io.sparkner.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Learns a SentencePiece-style Unigram vocabulary: pieces with log-probability scores.
 *
 * <p>Not a full EM trainer. Seeds are every substring (up to maxPieceLength code points) that
 * occurs at least minFrequency times; then rounds of hard EM: Viterbi-segment the corpus with the
 * current scores, count how often each piece is actually used (pieces used fewer than minFrequency
 * times go), rescore as log(usage / total usage), and while over budget drop the pieces whose
 * removal costs the corpus the least log-likelihood (SentencePiece's criterion). Counting usage
 * rather than raw substring frequency prunes redundant fragments (a substring that only occurs
 * inside a longer kept piece is never used) and makes the final scores consistent with the
 * segmentation they produce, so Viterbi prefers long frequent pieces.
 *
 * <p>Every character of the corpus and the bare {@code ▁} are always kept, so nothing seen in
 * training becomes unknown; with CJK text this is what yields XLM-R's lone {@code ▁} token at the
 * start of a sentence whose first character rarely starts one.
 */
final class UnigramVocabulary {
  /** A vocabulary entry: the piece and its log-probability. */
  record Piece(String text, double score) {}

  /** Each round keeps at most this fraction of the optional pieces, for a gradual pruning. */
  private static final double SHRINK = 0.75;

  private static final int MAX_ROUNDS = 40;

  /** Scores are rounded so that the file is compact; 1e-6 is far below any meaningful gap. */
  private static final double ROUNDING = 1e6;

  private UnigramVocabulary() {}

  /**
   * Returns the pieces sorted by descending score (ties by piece), specials excluded.
   *
   * @param budget number of pieces wanted; exceeded only by the mandatory characters
   */
  static List<Piece> build(
      SortedMap<String, Long> wordCounts, int budget, int maxPieceLength, int minFrequency) {
    List<CodePointWord> words = new ArrayList<>(wordCounts.size());
    wordCounts.forEach((w, c) -> words.add(new CodePointWord(w, c)));

    Set<String> required = new TreeSet<>();
    required.add(MetaspaceWords.META);
    Map<String, Long> substringCounts = new HashMap<>();
    for (CodePointWord w : words) {
      int n = w.length();
      for (int i = 0; i < n; i++) {
        required.add(w.piece(i, i + 1));
        for (int j = i + 2; j <= Math.min(n, i + maxPieceLength); j++) {
          substringCounts.merge(w.piece(i, j), w.count, Long::sum);
        }
      }
    }
    Map<String, Long> seedCounts = new HashMap<>();
    for (String r : required) {
      seedCounts.put(r, 0L);
    }
    for (CodePointWord w : words) {
      for (int i = 0; i < w.length(); i++) {
        seedCounts.merge(w.piece(i, i + 1), w.count, Long::sum);
      }
    }
    substringCounts.forEach(
        (piece, count) -> {
          if (count >= minFrequency) {
            seedCounts.put(piece, count);
          }
        });
    Map<String, Double> scores = scoresFrom(seedCounts);

    int optionalBudget = Math.max(0, budget - required.size());
    for (int round = 0; round < MAX_ROUNDS; round++) {
      Map<String, Long> usage = usage(words, scores, maxPieceLength);
      Map<String, Long> used = new HashMap<>();
      for (String r : required) {
        used.put(r, usage.getOrDefault(r, 0L));
      }
      for (String piece : scores.keySet()) {
        if (!required.contains(piece) && usage.getOrDefault(piece, 0L) >= minFrequency) {
          used.put(piece, usage.get(piece));
        }
      }
      Map<String, Double> usedScores = scoresFrom(used);
      List<String> optional = new ArrayList<>();
      Map<String, Double> loss = new HashMap<>();
      for (Map.Entry<String, Long> e : used.entrySet()) {
        if (!required.contains(e.getKey())) {
          optional.add(e.getKey());
          loss.put(e.getKey(), removalLoss(e.getKey(), e.getValue(), usedScores, maxPieceLength));
        }
      }
      optional.sort(
          Comparator.comparingDouble((String p) -> -loss.get(p))
              .thenComparing(Comparator.naturalOrder()));
      int currentOptional = scores.size() - required.size();
      int limit = Math.max(optionalBudget, (int) (currentOptional * SHRINK));
      Map<String, Long> kept = new HashMap<>();
      for (String r : required) {
        kept.put(r, used.get(r));
      }
      for (String piece : optional.subList(0, Math.min(limit, optional.size()))) {
        kept.put(piece, used.get(piece));
      }
      boolean stable = kept.size() == scores.size();
      scores = scoresFrom(kept);
      if (stable && round > 0) {
        break;
      }
    }

    List<Piece> pieces = new ArrayList<>(scores.size());
    scores.forEach((p, s) -> pieces.add(new Piece(p, Math.round(s * ROUNDING) / ROUNDING)));
    pieces.sort(Comparator.comparingDouble((Piece p) -> -p.score()).thenComparing(Piece::text));
    return pieces;
  }

  /**
   * log(count / total). A piece with count 0 (a character always covered by longer pieces) gets the
   * score of half an occurrence, so it stays usable but is never preferred.
   */
  private static Map<String, Double> scoresFrom(Map<String, Long> counts) {
    double total = 0;
    for (long c : counts.values()) {
      total += c;
    }
    double logTotal = Math.log(Math.max(total, 1));
    Map<String, Double> scores = new HashMap<>();
    counts.forEach((p, c) -> scores.put(p, Math.log(c == 0 ? 0.5 : c) - logTotal));
    return scores;
  }

  /**
   * SentencePiece's pruning criterion: how much the corpus log-likelihood drops if the piece is
   * removed and each of its uses is replaced by the best segmentation of the piece into the
   * remaining pieces. A rare "▁" + character piece loses little (the bare ▁ is very likely), a long
   * frequent word loses a lot.
   */
  private static double removalLoss(
      String piece, long usage, Map<String, Double> scores, int maxPieceLength) {
    CodePointWord w = new CodePointWord(piece, usage);
    double[] best = new double[w.length() + 1];
    viterbi(w, scores, maxPieceLength, true, best, new int[w.length() + 1]);
    return usage * (scores.get(piece) - best[w.length()]);
  }

  /** How often each piece is used in the Viterbi segmentation of every word. */
  private static Map<String, Long> usage(
      List<CodePointWord> words, Map<String, Double> scores, int maxPieceLength) {
    Map<String, Long> usage = new HashMap<>();
    for (CodePointWord w : words) {
      int n = w.length();
      int[] from = new int[n + 1];
      viterbi(w, scores, maxPieceLength, false, new double[n + 1], from);
      for (int end = n; end > 0; end = from[end]) {
        usage.merge(w.piece(from[end], end), w.count, Long::sum);
      }
    }
    return usage;
  }

  /**
   * Best segmentation of w: best[i] is the score of the best segmentation of its first i code
   * points, from[i] where its last piece starts. With excludeWhole the whole word may not be a
   * single piece. Ascending start tries the longest piece first; strict > keeps it on ties.
   */
  private static void viterbi(
      CodePointWord w,
      Map<String, Double> scores,
      int maxPieceLength,
      boolean excludeWhole,
      double[] best,
      int[] from) {
    int n = w.length();
    Arrays.fill(best, Double.NEGATIVE_INFINITY);
    best[0] = 0;
    for (int end = 1; end <= n; end++) {
      for (int start = Math.max(0, end - maxPieceLength); start < end; start++) {
        if (best[start] == Double.NEGATIVE_INFINITY || (excludeWhole && start == 0 && end == n)) {
          continue;
        }
        Double s = scores.get(w.piece(start, end));
        if (s != null && best[start] + s > best[end]) {
          best[end] = best[start] + s;
          from[end] = start;
        }
      }
    }
  }
}
