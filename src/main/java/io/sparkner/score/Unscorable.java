package io.sparkner.score;

/**
 * Why a row's text could not be scored. Such a row keeps its place in the output with null entities
 * (never a failed job, never a dropped row), and the reason is counted.
 */
public enum Unscorable {
  /** More code points than the tagger's {@code maxChars}: a guard against pathological rows. */
  TEXT_LONGER_THAN_MAX_CHARS("text_longer_than_max_chars"),
  /**
   * The tokenizer failed on the text (logged with the exception). Not expected: Spark holds strings
   * as UTF-8, so even an unpaired surrogate arrives as {@code ?}; kept so that a tokenizer failure
   * costs one row, not the job.
   */
  TOKENIZER_ERROR("tokenizer_error");

  private final String key;

  Unscorable(String key) {
    this.key = key;
  }

  /** The name used in counts and {@code summary.json}. */
  public String key() {
    return key;
  }
}
