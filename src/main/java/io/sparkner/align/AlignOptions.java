package io.sparkner.align;

import java.io.Serializable;

/**
 * @param maxLength the model input length, special tokens included (HF {@code max_length})
 * @param stride tokens shared by consecutive windows of a long text (HF {@code stride})
 * @param labelAllSubwords label every subword (true), or only the first subword of each word and
 *     -100 the rest (the other common Hugging Face recipe)
 */
public record AlignOptions(int maxLength, int stride, boolean labelAllSubwords)
    implements Serializable {

  public static AlignOptions defaults() {
    return new AlignOptions(256, 64, true);
  }
}
