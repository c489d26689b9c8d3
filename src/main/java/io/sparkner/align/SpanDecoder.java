package io.sparkner.align;

import io.sparkner.corpus.Entity;
import java.util.ArrayList;
import java.util.List;

/**
 * Subword labels back to entity spans, the way conlleval reads tags: {@code B-X} starts an entity,
 * {@code I-X} continues one of type X and otherwise starts a new one, {@code O} ends it. Tokens
 * labelled -100 neither start nor end an entity: special tokens and a bare {@code ▁} cover nothing
 * and are skipped; a later subword of a word (when only first subwords are labelled) extends the
 * entity it directly follows, so the entity ends where its last word ends.
 */
public final class SpanDecoder {
  private SpanDecoder() {}

  public static List<Entity> decode(int[] labelIds, int[] starts, int[] ends, Labels labels) {
    List<Entity> out = new ArrayList<>();
    String type = null;
    int start = -1;
    int end = -1;
    for (int i = 0; i < labelIds.length; i++) {
      int id = labelIds[i];
      if (starts[i] < 0 || starts[i] == ends[i]) {
        continue;
      }
      if (id < 0) {
        if (type != null && starts[i] == end) {
          end = ends[i];
        }
        continue;
      }
      String name = labels.name(id);
      if (name.equals("O")) {
        if (type != null) {
          out.add(new Entity(start, end, type));
          type = null;
        }
        continue;
      }
      String t = name.substring(2);
      if (name.startsWith("I-") && t.equals(type)) {
        end = Math.max(end, ends[i]);
        continue;
      }
      if (type != null) {
        out.add(new Entity(start, end, type));
      }
      type = t;
      start = starts[i];
      end = ends[i];
    }
    if (type != null) {
      out.add(new Entity(start, end, type));
    }
    return out;
  }
}
