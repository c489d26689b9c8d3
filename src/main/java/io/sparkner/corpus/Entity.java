package io.sparkner.corpus;

import java.io.Serializable;

/**
 * A labelled span {@code [start, end)} of a document's text, counted in Unicode code points (as in
 * the corpus files, Python and Spark SQL {@code substring}), never in UTF-16 chars.
 */
public record Entity(int start, int end, String type) implements Serializable, Comparable<Entity> {

  @Override
  public int compareTo(Entity o) {
    return start != o.start ? Integer.compare(start, o.start) : Integer.compare(end, o.end);
  }
}
