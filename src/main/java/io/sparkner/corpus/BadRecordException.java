package io.sparkner.corpus;

/**
 * Thrown instead of quarantining when {@code --fail-fast} is set: names the file and the record.
 */
public final class BadRecordException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BadRecordException(Quarantined q) {
    super(
        "bad input in "
            + q.source()
            + ", record "
            + q.id()
            + ": "
            + q.reason()
            + " ("
            + q.detail()
            + ")");
  }
}
