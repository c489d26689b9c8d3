package io.sparkner.tokenizer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Objects;
import java.util.SortedMap;

/**
 * Writes Hugging Face {@code tokenizer.json} files learned from a corpus.
 *
 * <p>No pretrained XLM-R or BERT tokenizer can be downloaded where sparkner is built and tested,
 * yet the alignment code must be exercised against the real native tokenizer (DJL HuggingFace
 * tokenizers) with the real pipeline shapes: an XLM-R-like SentencePiece Unigram ({@link
 * Kind#UNIGRAM}) and a cased multilingual BERT-like WordPiece ({@link Kind#WORDPIECE}). The
 * vocabularies are learned by frequency counting plus usage-based pruning, not by a full EM
 * trainer: good enough to produce realistic subword splits, including XLM-R's bare {@code ▁} token
 * before CJK text.
 *
 * <p>Deterministic: the same texts and options always give byte-identical output.
 */
public final class TokenizerBuilder {

  /** Which tokenizer family to build. */
  public enum Kind {
    /** XLM-RoBERTa shape: NFKC, Metaspace {@code ▁}, Unigram, {@code <s> X </s>}. */
    UNIGRAM,
    /**
     * Cased multilingual BERT shape: BertNormalizer, BertPreTokenizer, WordPiece, {@code [CLS] X
     * [SEP]}.
     */
    WORDPIECE
  }

  /** Training options; public fields with defaults so callers set only what they need. */
  public static final class Options {
    /**
     * Target vocabulary size including special tokens. Every character of the corpus is always kept
     * (so that nothing seen in training becomes unknown), so a corpus with more distinct characters
     * than this yields a larger vocabulary.
     */
    public int vocabSize = 8000;

    /** Longest multi-character piece, in code points ({@code ▁} counts, {@code ##} does not). */
    public int maxPieceLength = 8;

    /** A multi-character piece must be used at least this often to stay in the vocabulary. */
    public int minFrequency = 2;

    /** WordPiece only: longer words become {@code [UNK]} (BERT's default is 100). */
    public int maxInputCharsPerWord = 100;

    void validate() {
      if (vocabSize < 1) {
        throw new IllegalArgumentException("vocabSize must be positive: " + vocabSize);
      }
      if (maxPieceLength < 1) {
        throw new IllegalArgumentException("maxPieceLength must be positive: " + maxPieceLength);
      }
      if (minFrequency < 1) {
        throw new IllegalArgumentException("minFrequency must be positive: " + minFrequency);
      }
      if (maxInputCharsPerWord < 1) {
        throw new IllegalArgumentException(
            "maxInputCharsPerWord must be positive: " + maxInputCharsPerWord);
      }
    }
  }

  private TokenizerBuilder() {}

  /**
   * Returns the tokenizer.json text for the given texts. Deterministic: same texts + options give
   * byte-identical output.
   *
   * @param texts raw texts, as they will later be given to the tokenizer (null entries skipped)
   * @param options null for the defaults
   */
  public static String build(Kind kind, Iterable<String> texts, Options options) {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(texts, "texts");
    Options opts = options == null ? new Options() : options;
    opts.validate();
    ObjectNode json;
    switch (kind) {
      case UNIGRAM:
        {
          SortedMap<String, Long> words = MetaspaceWords.count(texts);
          List<UnigramVocabulary.Piece> pieces =
              UnigramVocabulary.build(
                  words,
                  opts.vocabSize - TokenizerJson.UNIGRAM_SPECIALS,
                  opts.maxPieceLength,
                  opts.minFrequency);
          json = TokenizerJson.unigram(pieces);
          break;
        }
      case WORDPIECE:
        {
          SortedMap<String, Long> words = BertWords.count(texts);
          List<String> pieces =
              WordPieceVocabulary.build(
                  words,
                  opts.vocabSize - TokenizerJson.WORDPIECE_SPECIALS,
                  opts.maxPieceLength,
                  opts.minFrequency,
                  opts.maxInputCharsPerWord);
          json = TokenizerJson.wordPiece(pieces, opts.maxInputCharsPerWord);
          break;
        }
      default:
        throw new IllegalArgumentException("unknown kind " + kind);
    }
    return JsonLayout.write(json);
  }
}
