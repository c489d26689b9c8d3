package io.sparkner.eval.metrics;

import io.sparkner.align.Labels;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token tags to entity chunks, with the semantics of seqeval.
 *
 * <p>{@link Mode#DEFAULT} reads tags the way conlleval and seqeval's default {@code get_entities}
 * do: a chunk starts at {@code B-X} or {@code S-X}, at {@code I-X}/{@code E-X} after {@code O},
 * {@code E-} or {@code S-}, and at any tag whose type differs from the previous tag's; it ends
 * before {@code O}, {@code B-}, {@code S-}, a type change, after {@code E-}/{@code S-}, and at the
 * end of the sequence. So an {@code I-X} without a {@code B-X} is an entity, and {@code B-PER
 * I-LOC} is two entities. This is also how {@link io.sparkner.align.SpanDecoder} decodes labels.
 *
 * <p>{@link Mode#STRICT} is seqeval's {@code mode='strict', scheme=IOB2}: only well-formed IOB2
 * chunks count, a chunk begins with {@code B-X} and continues with {@code I-X} of the same type; an
 * {@code I-X} that does not continue a chunk of type X belongs to no entity ({@code B-PER I-LOC} is
 * PER alone, {@code O I-PER} is nothing). {@code E-}/{@code S-} tags are rejected there, as seqeval
 * rejects them for IOB2.
 *
 * <p>Ignored positions ({@code null} tags, or label id {@link Labels#IGNORE}) are skipped entirely:
 * they neither start, continue nor end a chunk, so {@code B-PER, ignored, I-PER} is one chunk over
 * 0..3. A chunk's {@code end} is one past its last scored token (a trailing ignored position is not
 * included). The type of a tag is everything after the first {@code -}, so {@code B-ORG-P} is of
 * type {@code ORG-P}; a bare {@code B}/{@code I} is of type {@code _} (as seqeval).
 */
public final class Chunker {
  private Chunker() {}

  public enum Mode {
    /** seqeval's default (conlleval-compatible) {@code get_entities}. */
    DEFAULT,
    /** seqeval {@code mode='strict', scheme=IOB2}. */
    STRICT
  }

  /** An entity over token positions {@code [start, end)} of one sequence. */
  public record Chunk(String type, int start, int end) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Chunk {
      if (type == null || start < 0 || end <= start) {
        throw new IllegalArgumentException("bad chunk " + type + " [" + start + ", " + end + ")");
      }
    }

    @Override
    public String toString() {
      return "(" + type + ", " + start + ", " + end + ")";
    }
  }

  /** Chunks of {@code tags} in {@link Mode#DEFAULT}. */
  public static List<Chunk> chunks(List<String> tags) {
    return chunks(tags, Mode.DEFAULT);
  }

  /** Chunks of {@code tags}; a {@code null} tag marks an ignored position. */
  public static List<Chunk> chunks(List<String> tags, Mode mode) {
    Scanner s = new Scanner(mode);
    for (int i = 0; i < tags.size(); i++) {
      String tag = tags.get(i);
      if (tag != null) {
        s.accept(i, tag);
      }
    }
    return s.finish();
  }

  /**
   * Chunks of label ids, {@code labelNames.get(id)} being the tag of id; positions labelled {@link
   * Labels#IGNORE} (-100) are skipped.
   */
  public static List<Chunk> chunks(int[] labelIds, List<String> labelNames, Mode mode) {
    Scanner s = new Scanner(mode);
    for (int i = 0; i < labelIds.length; i++) {
      int id = labelIds[i];
      if (id == Labels.IGNORE) {
        continue;
      }
      if (id < 0 || id >= labelNames.size()) {
        throw new IllegalArgumentException(
            "label id " + id + " at position " + i + " is not in " + labelNames);
      }
      s.accept(i, labelNames.get(id));
    }
    return s.finish();
  }

  public static List<Chunk> chunks(int[] labelIds, Labels labels, Mode mode) {
    return chunks(labelIds, labels.labels(), mode);
  }

  /**
   * {@code predicted} with {@link Labels#IGNORE} wherever {@code gold} has it: a model predicts a
   * label for every position, but only the positions scored in the gold labels count, so
   * predictions are chunked over the same positions as the gold labels.
   */
  public static int[] maskLike(int[] predicted, int[] gold) {
    if (predicted.length != gold.length) {
      throw new IllegalArgumentException(
          "predicted has " + predicted.length + " labels, gold " + gold.length);
    }
    int[] out = Arrays.copyOf(predicted, predicted.length);
    for (int i = 0; i < gold.length; i++) {
      if (gold[i] == Labels.IGNORE) {
        out[i] = Labels.IGNORE;
      }
    }
    return out;
  }

  /**
   * The entity type of a tag: {@code X} for {@code B-X}, {@code I-X}, {@code E-X}, {@code S-X};
   * {@code O} for {@code O}.
   */
  public static String typeOf(String tag) {
    char p = prefix(tag);
    return p == 'O' ? "O" : type(tag);
  }

  static char prefix(String tag) {
    if (tag.isEmpty()) {
      throw new IllegalArgumentException("empty tag");
    }
    char p = tag.charAt(0);
    boolean known = p == 'O' || p == 'B' || p == 'I' || p == 'E' || p == 'S';
    if (!known || (tag.length() > 1 && (p == 'O' || tag.charAt(1) != '-'))) {
      throw new IllegalArgumentException("invalid tag: " + tag);
    }
    return p;
  }

  static String type(String tag) {
    return tag.length() > 2 ? tag.substring(2) : "_";
  }

  /** Left-to-right chunk builder over the scored positions of one sequence. */
  private static final class Scanner {
    private final Mode mode;
    private final List<Chunk> out = new ArrayList<>();
    private char prevPrefix = 'O';
    private String prevType = "";

    /** The open chunk: its type (null when none), first and last scored position. */
    private String openType;

    private int openStart;
    private int openLast;

    Scanner(Mode mode) {
      this.mode = mode;
    }

    void accept(int position, String tag) {
      char p = prefix(tag);
      String t = p == 'O' ? "" : type(tag);
      if (mode == Mode.STRICT) {
        strict(position, p, t, tag);
      } else {
        conlleval(position, p, t);
      }
      prevPrefix = p;
      prevType = t;
    }

    private void conlleval(int position, char p, String t) {
      boolean typeChange = !t.equals(prevType);
      boolean ends =
          prevPrefix == 'E'
              || prevPrefix == 'S'
              || ((prevPrefix == 'B' || prevPrefix == 'I') && (p == 'B' || p == 'S' || p == 'O'))
              || (prevPrefix != 'O' && typeChange);
      boolean starts =
          p == 'B'
              || p == 'S'
              || ((p == 'I' || p == 'E')
                  && (prevPrefix == 'O' || prevPrefix == 'E' || prevPrefix == 'S'))
              || (p != 'O' && typeChange);
      if (ends) {
        close();
      }
      if (starts) {
        open(t, position);
      } else if (p != 'O') {
        openLast = position; // continues the open chunk (every non-O tag is inside one)
      }
    }

    private void strict(int position, char p, String t, String tag) {
      if (p == 'E' || p == 'S') {
        throw new IllegalArgumentException("invalid tag for IOB2: " + tag);
      }
      if (p == 'I' && openType != null && openType.equals(t)) {
        openLast = position;
        return;
      }
      close();
      if (p == 'B') {
        open(t, position);
      }
    }

    private void open(String type, int position) {
      openType = type;
      openStart = position;
      openLast = position;
    }

    private void close() {
      if (openType != null) {
        out.add(new Chunk(openType, openStart, openLast + 1));
        openType = null;
      }
    }

    List<Chunk> finish() {
      close();
      return out;
    }
  }
}
