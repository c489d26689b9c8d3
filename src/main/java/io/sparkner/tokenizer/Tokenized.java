package io.sparkner.tokenizer;

/**
 * A text's subword tokens without special tokens: ids, the code-point span each token covers in the
 * original text (trimmed of whitespace, so a bare {@code ▁} or a space token covers nothing: {@code
 * start == end}), and the index of the pre-tokenizer word each token belongs to.
 */
public record Tokenized(int[] ids, int[] starts, int[] ends, int[] wordIds) {
  public int size() {
    return ids.length;
  }
}
