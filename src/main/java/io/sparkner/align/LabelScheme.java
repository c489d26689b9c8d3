package io.sparkner.align;

/**
 * How entity spans become token labels. {@code IOB2}: {@code B-X} on the first subword of an
 * entity, {@code I-X} on the rest. {@code IO}: {@code I-X} on every subword, the char-level scheme
 * of the original Hugging Face example (adjacent entities of one type merge when decoded).
 */
public enum LabelScheme {
  IOB2,
  IO
}
