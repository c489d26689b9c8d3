package io.sparkner.align;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Merges the overlapping windows of one text back into one prediction per token: a token that
 * appears in two windows (the {@code stride} overlap of {@link Windowing}) is taken from the window
 * where it is most central, i.e. farthest from that window's nearer edge, where the model saw the
 * most context on both sides; on a tie the earlier window wins. Evaluation and scoring both merge
 * with this class, so a token is counted and decoded the same way in both.
 *
 * <p>A token is identified by its code-point span in the text, since that is what a window of the
 * {@code features} table carries (two tokens with the same span, e.g. two that cover nothing at the
 * same place, are one). Special tokens ({@code start < 0}) take no part.
 */
public final class WindowMerge {
  /**
   * A kept token: its span, and the window (as numbered by the caller) and position holding its
   * prediction.
   */
  public record Token(int start, int end, int window, int position) {}

  /**
   * The only window so far (the common case: most texts fit in one), kept as given until a second
   * arrives.
   */
  private int onlyWindow = -1;

  private int[] onlyStarts;
  private int[] onlyEnds;

  /** start << 32 | end → {start, end, window, position, centrality}; ordered by start, then end. */
  private TreeMap<Long, int[]> tokens;

  /**
   * Adds one window. The arrays are kept, not copied, until {@link #tokens()}: do not change them.
   *
   * @param window the caller's number for this window, returned in {@link Token#window()}
   * @param starts per position the code-point start of the token, -1 for special tokens
   * @param ends per position the code-point end of the token
   */
  public void add(int window, int[] starts, int[] ends) {
    if (tokens == null && onlyStarts == null) {
      onlyWindow = window;
      onlyStarts = starts;
      onlyEnds = ends;
      return;
    }
    if (tokens == null) {
      tokens = new TreeMap<>();
      put(onlyWindow, onlyStarts, onlyEnds);
      onlyStarts = onlyEnds = null;
    }
    put(window, starts, ends);
  }

  private void put(int window, int[] starts, int[] ends) {
    int content = content(starts);
    int pos = 0;
    for (int i = 0; i < starts.length; i++) {
      if (starts[i] < 0) {
        continue;
      }
      int centrality = Math.min(pos, content - 1 - pos);
      pos++;
      long key = ((long) starts[i] << 32) | ends[i];
      int[] prev = tokens.get(key);
      if (prev == null || centrality > prev[4]) {
        tokens.put(key, new int[] {starts[i], ends[i], window, i, centrality});
      }
    }
  }

  private static int content(int[] starts) {
    int content = 0;
    for (int s : starts) {
      content += s >= 0 ? 1 : 0;
    }
    return content;
  }

  /** The merged tokens in text order (by start, then end). */
  public List<Token> tokens() {
    if (tokens == null && onlyStarts != null) {
      List<Token> single = single();
      if (single != null) {
        return single;
      }
      tokens = new TreeMap<>();
      put(onlyWindow, onlyStarts, onlyEnds);
      onlyStarts = onlyEnds = null;
    }
    List<Token> out = new ArrayList<>(tokens == null ? 0 : tokens.size());
    if (tokens != null) {
      for (int[] t : tokens.values()) {
        out.add(new Token(t[0], t[1], t[2], t[3]));
      }
    }
    return out;
  }

  /**
   * One window's tokens without the map, when they come in text order (as a tokenizer's do): the
   * same result as the map, where of two tokens with the same span the more central one stays. Null
   * when the window is not in text order.
   */
  private List<Token> single() {
    int content = content(onlyStarts);
    List<Token> out = new ArrayList<>(content);
    long prevKey = Long.MIN_VALUE;
    int prevCentrality = -1;
    int pos = 0;
    for (int i = 0; i < onlyStarts.length; i++) {
      if (onlyStarts[i] < 0) {
        continue;
      }
      int centrality = Math.min(pos, content - 1 - pos);
      pos++;
      long key = ((long) onlyStarts[i] << 32) | onlyEnds[i];
      if (key < prevKey) {
        return null;
      }
      Token t = new Token(onlyStarts[i], onlyEnds[i], onlyWindow, i);
      if (key > prevKey) {
        out.add(t);
        prevCentrality = centrality;
      } else if (centrality > prevCentrality) {
        out.set(out.size() - 1, t);
        prevCentrality = centrality;
      }
      prevKey = key;
    }
    return out;
  }
}
