package io.sparkner.corpus;

/**
 * A rejected input record, kept with its raw text so that nothing disappears.
 *
 * @param id the record's id where it could be read, else {@code <file>#<record index>}
 * @param source the input it came from: {@code kind:path}
 * @param raw the record as it was in the file
 * @param reason one of {@link Reason}, as its {@link Reason#key()}
 * @param detail what exactly was wrong, for a person
 */
public record Quarantined(String id, String source, String raw, String reason, String detail)
    implements ReadResult {

  private static final int MAX_DETAIL = 300;

  public static Quarantined of(String id, String source, String raw, Reason reason, String detail) {
    return new Quarantined(id, source, raw, reason.key(), shorten(detail));
  }

  /** Parser messages can quote the whole input: keep the first line, bounded. */
  private static String shorten(String detail) {
    if (detail == null) {
      return null;
    }
    int nl = detail.indexOf('\n');
    String d = nl >= 0 ? detail.substring(0, nl) : detail;
    return d.length() > MAX_DETAIL ? d.substring(0, MAX_DETAIL) + "..." : d;
  }
}
