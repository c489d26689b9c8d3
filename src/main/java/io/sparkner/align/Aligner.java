package io.sparkner.align;

import io.sparkner.corpus.CodePoints;
import io.sparkner.corpus.Entity;
import io.sparkner.tokenizer.Tokenized;
import io.sparkner.tokenizer.TokenizerHandle;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a document's entity spans into subword labels with the checkpoint's own tokenizer, cut into
 * windows of the model's input length.
 *
 * <p>A subword gets the label of the entity it overlaps (the larger overlap where it touches two):
 * {@code B-X} on the entity's first labelled subword, {@code I-X} after (IOB2). Special tokens and
 * subwords that cover no character (a bare {@code ▁}, a space) get -100. An entity whose start or
 * end falls inside a subword, or that no subword covers, cannot be represented exactly: it is still
 * labelled on the subwords it overlaps, and reported as misaligned. With only first subwords
 * labelled, the same holds for a boundary inside a word.
 */
public final class Aligner {
  private final TokenizerHandle tokenizer;
  private final Labels labels;
  private final AlignOptions options;
  private final int capacity;

  /** One model input. Offsets are code points into the document text; -1 for special tokens. */
  public record Window(int index, int[] inputIds, int[] labels, int[] starts, int[] ends) {}

  /** An entity that the subword boundaries cannot represent exactly. */
  public record Misaligned(String id, Entity entity, String text, String problem)
      implements Serializable {}

  public record Result(List<Window> windows, List<Misaligned> misaligned, int tokens) {}

  public Aligner(TokenizerHandle tokenizer, Labels labels, AlignOptions options) {
    this.tokenizer = tokenizer;
    this.labels = labels;
    this.options = options;
    this.capacity = options.maxLength() - tokenizer.specialTokenCount();
    Windowing.ranges(0, capacity, options.stride()); // validates maxLength and stride up front
  }

  /**
   * @param entities sorted by start, not overlapping (as {@code documents} holds them)
   */
  public Result align(String id, String text, List<Entity> entities) {
    Tokenized tok = tokenizer.tokenize(text);
    int[] tokenLabels = new int[tok.size()];
    List<Misaligned> misaligned = label(id, text, tok, entities, tokenLabels);
    List<Window> windows = new ArrayList<>();
    int[] prefix = tokenizer.prefixIds();
    int[] suffix = tokenizer.suffixIds();
    for (int[] r : Windowing.ranges(tok.size(), capacity, options.stride())) {
      int len = prefix.length + (r[1] - r[0]) + suffix.length;
      int[] ids = new int[len];
      int[] lab = new int[len];
      int[] starts = new int[len];
      int[] ends = new int[len];
      int k = 0;
      for (int p : prefix) {
        ids[k] = p;
        lab[k] = Labels.IGNORE;
        starts[k] = ends[k] = -1;
        k++;
      }
      for (int i = r[0]; i < r[1]; i++) {
        ids[k] = tok.ids()[i];
        lab[k] = tokenLabels[i];
        starts[k] = tok.starts()[i];
        ends[k] = tok.ends()[i];
        k++;
      }
      for (int s : suffix) {
        ids[k] = s;
        lab[k] = Labels.IGNORE;
        starts[k] = ends[k] = -1;
        k++;
      }
      windows.add(new Window(windows.size(), ids, lab, starts, ends));
    }
    return new Result(windows, misaligned, tok.size());
  }

  /**
   * Which tokens carry a label (the others get -100): every token that covers a character, or with
   * {@code allSubwords} false only the first of them in each word (a token of the same word as the
   * last labelled token is not). Scoring decodes the same positions a model was trained on.
   */
  public static boolean[] labelled(Tokenized tok, boolean allSubwords) {
    boolean[] out = new boolean[tok.size()];
    int lastLabelledWord = Integer.MIN_VALUE;
    for (int i = 0; i < tok.size(); i++) {
      int s = tok.starts()[i];
      if (s < 0 || s == tok.ends()[i]) {
        continue;
      }
      int word = tok.wordIds()[i];
      if (!allSubwords && word >= 0 && word == lastLabelledWord) {
        continue;
      }
      lastLabelledWord = word;
      out[i] = true;
    }
    return out;
  }

  private List<Misaligned> label(
      String id, String text, Tokenized tok, List<Entity> ents, int[] out) {
    int e = 0;
    int m = ents.size();
    boolean[] seen = new boolean[m];
    boolean[] covered = new boolean[m];
    boolean[] startInside = new boolean[m];
    boolean[] endInside = new boolean[m];
    boolean[] labelled = labelled(tok, options.labelAllSubwords());
    for (int i = 0; i < tok.size(); i++) {
      int s = tok.starts()[i];
      int t = tok.ends()[i];
      if (s < 0 || s == t) {
        out[i] = Labels.IGNORE;
        continue;
      }
      while (e < m && ents.get(e).end() <= s) {
        e++;
      }
      int best = -1;
      int bestOverlap = 0;
      for (int j = e; j < m && ents.get(j).start() < t; j++) {
        Entity x = ents.get(j);
        covered[j] = true;
        if (s < x.start()) {
          startInside[j] = true;
        }
        if (t > x.end()) {
          endInside[j] = true;
        }
        int overlap = Math.min(t, x.end()) - Math.max(s, x.start());
        if (overlap > bestOverlap) {
          best = j;
          bestOverlap = overlap;
        }
      }
      if (!labelled[i]) {
        out[i] = Labels.IGNORE; // a later subword of a word whose first subword carries the label
        if (best >= 0) {
          seen[best] = true;
        }
        continue;
      }
      if (best < 0) {
        out[i] = labels.outside();
      } else {
        out[i] = labels.id(ents.get(best).type(), !seen[best]);
        seen[best] = true;
      }
    }
    boolean[] startInWord = new boolean[m];
    boolean[] endInWord = new boolean[m];
    if (!options.labelAllSubwords()) {
      wordBoundaries(tok, labelled, ents, startInWord, endInWord);
    }
    List<Misaligned> bad = new ArrayList<>();
    CodePoints cps = null;
    for (int j = 0; j < m; j++) {
      if (covered[j] && !startInside[j] && !endInside[j] && !startInWord[j] && !endInWord[j]) {
        continue;
      }
      if (cps == null) {
        cps = new CodePoints(text);
      }
      Entity x = ents.get(j);
      String problem =
          !covered[j]
              ? "no subword covers it"
              : startInside[j] || endInside[j]
                  ? boundary(startInside[j], endInside[j]) + " inside a subword"
                  : boundary(startInWord[j], endInWord[j])
                      + " inside a word (only the first subword of each word is labelled)";
      bad.add(new Misaligned(id, x, cps.substring(x.start(), x.end()), problem));
    }
    return bad;
  }

  private static String boundary(boolean start, boolean end) {
    return start && end ? "start and end" : start ? "start" : "end";
  }

  /**
   * With only first subwords labelled, a word is labelled as a whole (its first subword's label,
   * decoded back over the word): an entity whose start or end falls inside a word, between two of
   * its subwords, cannot be represented. Marks those entities; a word is a labelled token and the
   * unlabelled tokens of the same word that follow it.
   */
  private static void wordBoundaries(
      Tokenized tok, boolean[] labelled, List<Entity> ents, boolean[] startIn, boolean[] endIn) {
    int e = 0;
    for (int i = 0; i < tok.size(); i++) {
      if (!labelled[i]) {
        continue;
      }
      int s = tok.starts()[i];
      int t = tok.ends()[i];
      for (int k = i + 1;
          k < tok.size() && !labelled[k] && tok.wordIds()[k] == tok.wordIds()[i];
          k++) {
        t = Math.max(t, tok.ends()[k]);
      }
      while (e < ents.size() && ents.get(e).end() <= s) {
        e++;
      }
      for (int j = e; j < ents.size() && ents.get(j).start() < t; j++) {
        startIn[j] |= s < ents.get(j).start();
        endIn[j] |= t > ents.get(j).end();
      }
    }
  }
}
