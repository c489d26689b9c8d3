package io.sparkner.tokenizer;

/**
 * Character classes as the Rust tokenizers crate defines them, so that the Java mirrors of the
 * normalizers and pre-tokenizers count the same words as the native tokenizer will produce.
 */
final class CharClasses {
  private CharClasses() {}

  /** Rust's char::is_whitespace, i.e. the Unicode White_Space property. */
  static boolean isWhitespace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D)
        || cp == 0x20
        || cp == 0x85
        || cp == 0xA0
        || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A)
        || cp == 0x2028
        || cp == 0x2029
        || cp == 0x202F
        || cp == 0x205F
        || cp == 0x3000;
  }

  /** tokenizers' is_control: categories C* except \t \n \r. */
  static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    switch (Character.getType(cp)) {
      case Character.CONTROL:
      case Character.FORMAT:
      case Character.UNASSIGNED:
      case Character.PRIVATE_USE:
      case Character.SURROGATE:
        return true;
      default:
        return false;
    }
  }

  /** BertPreTokenizer: ASCII punctuation (includes symbols like $ + ^) or Unicode P*. */
  static boolean isPunctuation(int cp) {
    if (cp < 128) {
      return (cp >= 33 && cp <= 47)
          || (cp >= 58 && cp <= 64)
          || (cp >= 91 && cp <= 96)
          || (cp >= 123 && cp <= 126);
    }
    switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION:
      case Character.DASH_PUNCTUATION:
      case Character.START_PUNCTUATION:
      case Character.END_PUNCTUATION:
      case Character.INITIAL_QUOTE_PUNCTUATION:
      case Character.FINAL_QUOTE_PUNCTUATION:
      case Character.OTHER_PUNCTUATION:
        return true;
      default:
        return false;
    }
  }

  /** BertNormalizer's CJK Unified Ideograph blocks (kana and hangul are not included). */
  static boolean isChineseChar(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B920 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
}
