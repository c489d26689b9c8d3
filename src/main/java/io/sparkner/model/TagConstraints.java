package io.sparkner.model;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which tags may start a chain and which may follow which, for constrained Viterbi decoding. Under
 * IOB2 an {@code I-X} continues an entity of type X, so it may only follow {@code B-X} or {@code
 * I-X}: {@code O → I-X}, {@code B-Y → I-X}, {@code I-Y → I-X} (Y ≠ X) and a leading {@code I-X} are
 * forbidden. IO labels ({@code O}, {@code I-X}) have no constraint. Every tag may end a chain.
 */
public final class TagConstraints {
  private final int size;
  private final boolean[] start;
  private final boolean[][] transition;
  private final boolean unconstrained;

  private TagConstraints(int size, boolean[] start, boolean[][] transition) {
    this.size = size;
    this.start = start;
    this.transition = transition;
    boolean all = true;
    for (int i = 0; i < size; i++) {
      all &= start[i];
      for (int j = 0; j < size; j++) {
        all &= transition[i][j];
      }
    }
    this.unconstrained = all;
  }

  /** No constraint over {@code size} tags. */
  public static TagConstraints none(int size) {
    return new TagConstraints(size, allowed(size), allowedSquare(size));
  }

  private static boolean[] allowed(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("a CRF needs at least one label, got " + size);
    }
    boolean[] a = new boolean[size];
    Arrays.fill(a, true);
    return a;
  }

  private static boolean[][] allowedSquare(int size) {
    boolean[][] a = new boolean[size][];
    for (int i = 0; i < size; i++) {
      a[i] = allowed(size);
    }
    return a;
  }

  /**
   * The IOB2 constraints over a label list ({@code id2label} order): every label must be {@code O},
   * {@code B-X} or {@code I-X}, and every {@code I-X} needs its {@code B-X}.
   *
   * @throws IllegalArgumentException naming the first label that breaks this
   */
  public static TagConstraints iob2(List<String> labels) {
    int n = labels.size();
    boolean[] start = allowed(n);
    boolean[][] transition = allowedSquare(n);
    Set<String> begins = new HashSet<>();
    for (int i = 0; i < n; i++) {
      String l = labels.get(i);
      if (l.startsWith("B-") && l.length() > 2) {
        begins.add(l.substring(2));
      } else if (!l.equals("O") && !(l.startsWith("I-") && l.length() > 2)) {
        throw new IllegalArgumentException(
            "label "
                + i
                + " \""
                + l
                + "\" is not O, B-X or I-X: no IOB2 constraints for "
                + labels);
      }
    }
    for (int j = 0; j < n; j++) {
      String to = labels.get(j);
      if (!to.startsWith("I-")) {
        continue;
      }
      String type = to.substring(2);
      if (!begins.contains(type)) {
        throw new IllegalArgumentException(
            "label "
                + j
                + " \""
                + to
                + "\" has no B-"
                + type
                + " in the IOB2 label list "
                + labels);
      }
      start[j] = false;
      for (int i = 0; i < n; i++) {
        String from = labels.get(i);
        transition[i][j] = from.equals("B-" + type) || from.equals("I-" + type);
      }
    }
    return new TagConstraints(n, start, transition);
  }

  /**
   * {@link #iob2} if any label starts with {@code B-} (an IOB2 list, checked strictly), otherwise
   * {@link #none} (IO labels, or any list without {@code B-} labels).
   */
  public static TagConstraints forLabels(List<String> labels) {
    for (String l : labels) {
      if (l.startsWith("B-")) {
        return iob2(labels);
      }
    }
    return none(labels.size());
  }

  /** The number of tags. */
  public int size() {
    return size;
  }

  /** Whether a chain may start with {@code tag}. */
  public boolean allowsStart(int tag) {
    return start[tag];
  }

  /** Whether {@code to} may follow {@code from}. */
  public boolean allows(int from, int to) {
    return transition[from][to];
  }

  /** Whether a whole tag path is allowed (an empty path is). */
  public boolean allowsPath(int[] tags) {
    if (tags.length == 0) {
      return true;
    }
    if (!start[tags[0]]) {
      return false;
    }
    for (int k = 1; k < tags.length; k++) {
      if (!transition[tags[k - 1]][tags[k]]) {
        return false;
      }
    }
    return true;
  }

  /** True if every start and every transition is allowed. */
  public boolean isUnconstrained() {
    return unconstrained;
  }
}
