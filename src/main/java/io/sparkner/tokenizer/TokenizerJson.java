package io.sparkner.tokenizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Assembles the tokenizer.json trees in the shapes of the real checkpoints, so that code tested
 * against them behaves as with xlm-roberta-base and bert-base-multilingual-cased.
 */
final class TokenizerJson {
  /** {@code <s> <pad> </s> <unk>} before the pieces, {@code <mask>} after, as in XLM-R. */
  static final int UNIGRAM_SPECIALS = 5;

  /** {@code [PAD] [UNK] [CLS] [SEP] [MASK]}. */
  static final int WORDPIECE_SPECIALS = 5;

  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private TokenizerJson() {}

  static ObjectNode unigram(List<UnigramVocabulary.Piece> pieces) {
    int maskId = 4 + pieces.size();
    ObjectNode root = header();
    ArrayNode added = root.putArray("added_tokens");
    added.add(addedToken(0, "<s>", false));
    added.add(addedToken(1, "<pad>", false));
    added.add(addedToken(2, "</s>", false));
    added.add(addedToken(3, "<unk>", false));
    // XLM-R's <mask> swallows the space before it.
    added.add(addedToken(maskId, "<mask>", true));

    // XLM-R uses a Precompiled (nmt_nfkc) charsmap we cannot produce; NFKC is its core. The
    // " {2,}" Replace is XLM-R's own. Both keep alignments, so offsets still point into the
    // original text.
    ObjectNode normalizer = root.putObject("normalizer");
    normalizer.put("type", "Sequence");
    ArrayNode normalizers = normalizer.putArray("normalizers");
    normalizers.addObject().put("type", "NFKC");
    ObjectNode replace = normalizers.addObject();
    replace.put("type", "Replace");
    replace.putObject("pattern").put("Regex", " {2,}");
    replace.put("content", " ");

    // As on the hub: WhitespaceSplit eats the spaces and Metaspace re-adds a ▁ to every word, so
    // a "▁word" token's offsets start at the word, not at the space before it.
    ObjectNode preTokenizer = root.putObject("pre_tokenizer");
    preTokenizer.put("type", "Sequence");
    ArrayNode preTokenizers = preTokenizer.putArray("pretokenizers");
    preTokenizers.addObject().put("type", "WhitespaceSplit");
    preTokenizers.add(metaspace());

    root.set(
        "post_processor",
        template(
            new String[] {"<s>", "$A", "</s>"},
            new String[] {"<s>", "$A", "</s>", "</s>", "$B", "</s>"},
            new int[] {0, 0, 0, 0, 0, 0},
            "<s>",
            0,
            "</s>",
            2));
    root.set("decoder", metaspace());

    ObjectNode model = root.putObject("model");
    model.put("type", "Unigram");
    model.put("unk_id", 3);
    ArrayNode vocab = model.putArray("vocab");
    for (String special : new String[] {"<s>", "<pad>", "</s>", "<unk>"}) {
      vocab.addArray().add(special).add(0.0);
    }
    for (UnigramVocabulary.Piece p : pieces) {
      vocab.addArray().add(p.text()).add(p.score());
    }
    vocab.addArray().add("<mask>").add(0.0);
    model.put("byte_fallback", false);
    return root;
  }

  static ObjectNode wordPiece(List<String> pieces, int maxInputCharsPerWord) {
    String[] specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    ObjectNode root = header();
    ArrayNode added = root.putArray("added_tokens");
    for (int i = 0; i < specials.length; i++) {
      added.add(addedToken(i, specials[i], false));
    }

    ObjectNode normalizer = root.putObject("normalizer");
    normalizer.put("type", "BertNormalizer");
    normalizer.put("clean_text", true);
    normalizer.put("handle_chinese_chars", true);
    normalizer.putNull("strip_accents");
    normalizer.put("lowercase", false);

    root.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
    root.set(
        "post_processor",
        template(
            new String[] {"[CLS]", "$A", "[SEP]"},
            new String[] {"[CLS]", "$A", "[SEP]", "$B", "[SEP]"},
            new int[] {0, 0, 0, 1, 1},
            "[CLS]",
            2,
            "[SEP]",
            3));
    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "WordPiece");
    decoder.put("prefix", WordPieceVocabulary.CONTINUATION);
    decoder.put("cleanup", true);

    ObjectNode model = root.putObject("model");
    model.put("type", "WordPiece");
    model.put("unk_token", "[UNK]");
    model.put("continuing_subword_prefix", WordPieceVocabulary.CONTINUATION);
    model.put("max_input_chars_per_word", maxInputCharsPerWord);
    ObjectNode vocab = model.putObject("vocab");
    int id = 0;
    for (String special : specials) {
      vocab.put(special, id++);
    }
    for (String piece : pieces) {
      if (!vocab.has(piece)) { // a corpus word can never be "[UNK]" (brackets split), but be safe
        vocab.put(piece, id++);
      }
    }
    return root;
  }

  private static ObjectNode header() {
    ObjectNode root = F.objectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    return root;
  }

  private static ObjectNode addedToken(int id, String content, boolean lstrip) {
    ObjectNode t = F.objectNode();
    t.put("id", id);
    t.put("content", content);
    t.put("single_word", false);
    t.put("lstrip", lstrip);
    t.put("rstrip", false);
    t.put("normalized", false);
    t.put("special", true);
    return t;
  }

  /**
   * The legacy Metaspace form of the real XLM-R tokenizer.json ({@code add_prefix_space: true}),
   * which tokenizers 0.21 (inside DJL 0.36) still reads as prepend_scheme "always", split true.
   */
  private static ObjectNode metaspace() {
    ObjectNode m = F.objectNode();
    m.put("type", "Metaspace");
    m.put("replacement", MetaspaceWords.META);
    m.put("add_prefix_space", true);
    return m;
  }

  /** TemplateProcessing, the form both real checkpoints use. */
  private static ObjectNode template(
      String[] single,
      String[] pair,
      int[] pairTypeIds,
      String cls,
      int clsId,
      String sep,
      int sepId) {
    ObjectNode p = F.objectNode();
    p.put("type", "TemplateProcessing");
    ArrayNode s = p.putArray("single");
    for (String item : single) {
      s.add(templateItem(item, 0));
    }
    ArrayNode pr = p.putArray("pair");
    for (int i = 0; i < pair.length; i++) {
      pr.add(templateItem(pair[i], pairTypeIds[i]));
    }
    ObjectNode specials = p.putObject("special_tokens");
    for (Object[] sp : new Object[][] {{cls, clsId}, {sep, sepId}}) {
      ObjectNode t = specials.putObject((String) sp[0]);
      t.put("id", (String) sp[0]);
      t.putArray("ids").add((Integer) sp[1]);
      t.putArray("tokens").add((String) sp[0]);
    }
    return p;
  }

  private static ObjectNode templateItem(String item, int typeId) {
    ObjectNode node = F.objectNode();
    ObjectNode inner;
    if (item.startsWith("$")) {
      inner = node.putObject("Sequence");
      inner.put("id", item.substring(1));
    } else {
      inner = node.putObject("SpecialToken");
      inner.put("id", item);
    }
    inner.put("type_id", typeId);
    return node;
  }
}
