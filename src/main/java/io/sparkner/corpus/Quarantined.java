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

  public static Quarantined of(String id, String source, String raw, Reason reason, String detail) {
    return new Quarantined(id, source, raw, reason.key(), detail);
  }
}
