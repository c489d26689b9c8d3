package io.sparkner.align;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Overlapping windows back to one prediction per token: the most central window wins. */
class WindowMergeTest {
  @Test
  void aTokenInTwoWindowsComesFromTheOneWhereItIsMostCentral() {
    // tokens t0..t5 (spans [i, i+1)); window A = t0..t3, window B = t2..t5, both framed by specials
    WindowMerge m = new WindowMerge();
    m.add(7, new int[] {-1, 0, 1, 2, 3, -1}, new int[] {-1, 1, 2, 3, 4, -1});
    m.add(8, new int[] {-1, 2, 3, 4, 5, -1}, new int[] {-1, 3, 4, 5, 6, -1});
    List<WindowMerge.Token> t = m.tokens();
    assertEquals(6, t.size());
    assertEquals(new WindowMerge.Token(0, 1, 7, 1), t.get(0));
    assertEquals(new WindowMerge.Token(1, 2, 7, 2), t.get(1));
    // t2: centrality 1 in A (position 2 of 4), 0 in B (its first): A
    assertEquals(new WindowMerge.Token(2, 3, 7, 3), t.get(2));
    // t3: 0 in A (its last), 1 in B: B
    assertEquals(new WindowMerge.Token(3, 4, 8, 2), t.get(3));
    assertEquals(new WindowMerge.Token(5, 6, 8, 4), t.get(5));
  }

  @Test
  void onATieTheEarlierWindowWins() {
    WindowMerge m = new WindowMerge();
    m.add(0, new int[] {0, 1, 2}, new int[] {1, 2, 3});
    m.add(1, new int[] {1, 2, 3}, new int[] {2, 3, 4});
    // token [1,2): centrality 1 in window 0 (middle of 3), 0 in window 1; token [2,3): 0 and 1
    assertEquals(
        List.of(
            new WindowMerge.Token(0, 1, 0, 0),
            new WindowMerge.Token(1, 2, 0, 1),
            new WindowMerge.Token(2, 3, 1, 1),
            new WindowMerge.Token(3, 4, 1, 2)),
        m.tokens());
    WindowMerge tie = new WindowMerge();
    tie.add(0, new int[] {0, 1}, new int[] {1, 2});
    tie.add(1, new int[] {0, 1}, new int[] {1, 2});
    assertEquals(0, tie.tokens().get(0).window());
    assertEquals(0, tie.tokens().get(1).window());
  }

  @Test
  void aSingleWindowMergesAsTheMapWould() {
    // two tokens that cover nothing at the same place (same span): the more central one stays
    int[] starts = {-1, 0, 2, 2, 2, 3, -1};
    int[] ends = {-1, 2, 2, 2, 3, 4, -1};
    WindowMerge one = new WindowMerge();
    one.add(5, starts, ends);
    assertEquals(
        List.of(
            new WindowMerge.Token(0, 2, 5, 1),
            new WindowMerge.Token(2, 2, 5, 3),
            new WindowMerge.Token(2, 3, 5, 4),
            new WindowMerge.Token(3, 4, 5, 5)),
        one.tokens());
    // out of text order: sorted like the map sorts
    WindowMerge unordered = new WindowMerge();
    unordered.add(0, new int[] {3, 0}, new int[] {4, 2});
    assertEquals(
        List.of(new WindowMerge.Token(0, 2, 0, 1), new WindowMerge.Token(3, 4, 0, 0)),
        unordered.tokens());
    assertEquals(List.of(), new WindowMerge().tokens());
  }
}
