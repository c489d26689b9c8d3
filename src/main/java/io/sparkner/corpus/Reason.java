package io.sparkner.corpus;

import java.util.Locale;

/** Why a record went to quarantine. The keys are what {@code summary.json} counts. */
public enum Reason {
  MALFORMED_JSON,
  MISSING_FIELD,
  SPAN_OUT_OF_RANGE,
  SPAN_REVERSED,
  NAME_MISMATCH,
  OVERLAPPING_ENTITIES,
  UNKNOWN_TYPE,
  EMPTY_TEXT,
  BAD_CONLL_LINE,
  /**
   * Bytes that are not UTF-8: the record is kept with U+FFFD in their place, the detail names them.
   */
  INVALID_UTF8;

  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }
}
