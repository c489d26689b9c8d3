package io.sparkner.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.tokenizer.TokenizerBuilder.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Builds tokenizers and checks them with the real native tokenizer (DJL), no mocks. */
class TokenizerBuilderTest {
  static final Path FIXTURES = Path.of("src/test/resources/tokenizers");
  static final Map<String, String> DJL_OPTIONS =
      Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

  /** Outside the BMP before an entity, full-width brackets, Latin, digits, CJK, kana. */
  static final String MIXED =
      "😀 𠮷野家（よしのや）は2024年に Anders Lindström とBerlin で会った。" + " 松友美佐紀 Straße 42 서울특별시";

  static HuggingFaceTokenizer unigram;
  static HuggingFaceTokenizer wordPiece;
  static JsonNode unigramJson;
  static JsonNode wordPieceJson;

  @BeforeAll
  static void load() throws IOException {
    System.setProperty("ai.djl.offline", "true");
    unigram = HuggingFaceTokenizer.newInstance(fixture(Kind.UNIGRAM), DJL_OPTIONS);
    wordPiece = HuggingFaceTokenizer.newInstance(fixture(Kind.WORDPIECE), DJL_OPTIONS);
    ObjectMapper mapper = new ObjectMapper();
    unigramJson = mapper.readTree(fixture(Kind.UNIGRAM).toFile());
    wordPieceJson = mapper.readTree(fixture(Kind.WORDPIECE).toFile());
  }

  @AfterAll
  static void close() {
    unigram.close();
    wordPiece.close();
  }

  static Path fixture(Kind kind) {
    return FIXTURES.resolve(FixtureGenerator.fixtureName(kind)).resolve("tokenizer.json");
  }

  // ---------------------------------------------------------------- specials and loading

  @Test
  void unigramSpecialTokenIdsAreXlmRobertas() {
    JsonNode vocab = unigramJson.at("/model/vocab");
    int maskId = vocab.size() - 1;
    assertEquals("<mask>", vocab.get(maskId).get(0).asText());
    String[] specials = {"<s>", "<pad>", "</s>", "<unk>"};
    for (int i = 0; i < specials.length; i++) {
      assertEquals(specials[i], vocab.get(i).get(0).asText());
      assertEquals(0.0, vocab.get(i).get(1).asDouble());
    }
    assertEquals(3, unigramJson.at("/model/unk_id").asInt());
    // The native tokenizer agrees: specials in the text map to their ids.
    Encoding e = unigram.encode("<pad> <unk> <mask>", false, false);
    assertArrayEquals(new long[] {1, 3, maskId}, e.getIds());

    Encoding withSpecials = unigram.encode("Berlin", true, false);
    long[] ids = withSpecials.getIds();
    assertEquals("<s>", withSpecials.getTokens()[0]);
    assertEquals(0, ids[0]);
    assertEquals("</s>", withSpecials.getTokens()[ids.length - 1]);
    assertEquals(2, ids[ids.length - 1]);
    assertEquals(1, withSpecials.getSpecialTokenMask()[0]);
    // DJL reports no span for special tokens.
    assertNull(withSpecials.getCharTokenSpans()[0]);
    assertNull(withSpecials.getCharTokenSpans()[ids.length - 1]);
  }

  @Test
  void wordPieceSpecialTokenIdsAreBerts() {
    JsonNode vocab = wordPieceJson.at("/model/vocab");
    String[] specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < specials.length; i++) {
      assertEquals(i, vocab.get(specials[i]).asInt());
    }
    Encoding e = wordPiece.encode("[PAD] [UNK] [CLS] [SEP] [MASK]", false, false);
    assertArrayEquals(new long[] {0, 1, 2, 3, 4}, e.getIds());

    Encoding withSpecials = wordPiece.encode("Berlin", true, false);
    long[] ids = withSpecials.getIds();
    assertEquals("[CLS]", withSpecials.getTokens()[0]);
    assertEquals(2, ids[0]);
    assertEquals("[SEP]", withSpecials.getTokens()[ids.length - 1]);
    assertEquals(3, ids[ids.length - 1]);
    assertNull(withSpecials.getCharTokenSpans()[0]);
  }

  // ---------------------------------------------------------------- offsets

  @Test
  void unigramSpansAreCodePointOffsetsIntoTheOriginalText() {
    Encoding e = unigram.encode(MIXED, true, false);
    String[] tokens = e.getTokens();
    CharSpan[] spans = e.getCharTokenSpans();
    StringBuilder covered = new StringBuilder();
    for (int i = 0; i < tokens.length; i++) {
      if (e.getSpecialTokenMask()[i] == 1) {
        continue;
      }
      String text = codePoints(MIXED, spans[i]);
      if (tokens[i].equals("▁")) {
        // Bare ▁ (as on the hub's xlm-roberta): it reports the span of the first code point
        // of the token after it, so it must not be counted as covering text.
        assertEquals(spans[i + 1].getStart(), spans[i].getStart(), "bare ▁ at " + i);
        assertEquals(spans[i + 1].getStart() + 1, spans[i].getEnd(), "bare ▁ at " + i);
        continue;
      }
      covered.append(text);
      if (e.getIds()[i] == 3) {
        assertFalse(text.isBlank());
        continue;
      }
      // Re-normalise the covered original text: it is exactly the piece (minus its ▁).
      String piece = tokens[i].startsWith("▁") ? tokens[i].substring(1) : tokens[i];
      assertEquals(piece, Normalizer.normalize(text, Normalizer.Form.NFKC), "token " + i);
    }
    assertEquals(withoutWhitespace(MIXED), covered.toString());
    assertTrue(List.of(tokens).contains("("), "full-width bracket normalised to (");
  }

  @Test
  void wordPieceSpansAreCodePointOffsetsIntoTheOriginalText() {
    Encoding e = wordPiece.encode(MIXED, true, false);
    String[] tokens = e.getTokens();
    CharSpan[] spans = e.getCharTokenSpans();
    StringBuilder covered = new StringBuilder();
    for (int i = 0; i < tokens.length; i++) {
      if (e.getSpecialTokenMask()[i] == 1) {
        continue;
      }
      String text = codePoints(MIXED, spans[i]);
      covered.append(text);
      if (e.getIds()[i] == 1) {
        assertFalse(text.isBlank());
        continue;
      }
      String piece = tokens[i].startsWith("##") ? tokens[i].substring(2) : tokens[i];
      assertEquals(piece, text, "token " + i);
    }
    assertEquals(withoutWhitespace(MIXED), covered.toString());
    assertTrue(List.of(tokens).contains("（"), "BertNormalizer keeps full-width brackets");
  }

  @Test
  void unknownCharactersBecomeUnkWithTheirSpan() {
    // Neither ☃ nor 😀 occurs in the samples.
    assertFalse(unigramPieces().contains("☃"));
    assertFalse(wordPieceJson.at("/model/vocab").has("☃"));
    String text = "in 😀 Berlin ☃";

    Encoding u = unigram.encode(text, false, false);
    List<String> uTokens = List.of(u.getTokens());
    int smiley = uTokens.indexOf("😀");
    assertEquals(3, u.getIds()[smiley]);
    assertSpan(3, 4, u.getCharTokenSpans()[smiley]);
    int snowman = uTokens.lastIndexOf("☃");
    assertEquals(3, u.getIds()[snowman]);
    assertSpan(12, 13, u.getCharTokenSpans()[snowman]);

    Encoding w = wordPiece.encode(text, false, false);
    assertArrayEquals(new String[] {"in", "[UNK]", "Be", "##r", "##lin", "[UNK]"}, tokenShapes(w));
    assertEquals(1, w.getIds()[1]);
    assertSpan(3, 4, w.getCharTokenSpans()[1]);
    assertSpan(12, 13, w.getCharTokenSpans()[w.getIds().length - 1]);
  }

  // ---------------------------------------------------------------- unigram shape

  @Test
  void unigramStartsJapaneseWithABareMetaspace() {
    String text = "松友美佐紀は、日本のバドミントン選手。";
    assertFalse(unigramPieces().contains("▁松"));
    Encoding e = unigram.encode(text, true, false);
    String[] tokens = e.getTokens();
    assertEquals("<s>", tokens[0]);
    assertEquals("▁", tokens[1]);
    assertEquals(4, e.getIds()[1], "bare ▁ is the first piece after the specials");
    assertEquals("松", tokens[2]);
    // What DJL reports: the bare ▁ (inserted by Metaspace's prefix) gets the span of the
    // character after it, [0, 1), the same as "松" -- not an empty span.
    assertSpan(0, 1, e.getCharTokenSpans()[1]);
    assertSpan(0, 1, e.getCharTokenSpans()[2]);
  }

  @Test
  void unigramSplitsLatinAtSpacesWithMetaspacePieces() {
    String text = "Anders Lindström lives in Berlin";
    Encoding e = unigram.encode(text, false, false);
    String[] tokens = e.getTokens();
    CharSpan[] spans = e.getCharTokenSpans();
    int[] wordStarts = {0, 7, 17, 23, 26};
    int word = 0;
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i].startsWith("▁")) {
        assertEquals(wordStarts[word++], spans[i].getStart(), "word starts at " + tokens[i]);
      } else {
        assertTrue(spans[i].getStart() >= wordStarts[word - 1]);
      }
      assertFalse(codePoints(text, spans[i]).contains(" "), "no token crosses a space");
    }
    assertEquals(wordStarts.length, word);
    assertEquals("▁Anders", tokens[0]);
    assertSpan(0, 6, spans[0]);
    assertTrue(List.of(tokens).contains("▁Berlin"));
  }

  @Test
  void unigramScoresAreLogProbabilitiesThatPreferLongPieces() {
    JsonNode vocab = unigramJson.at("/model/vocab");
    double total = 0;
    for (int i = 4; i < vocab.size() - 1; i++) {
      double score = vocab.get(i).get(1).asDouble();
      assertTrue(score < 0, "log-probability " + vocab.get(i));
      total += Math.exp(score);
    }
    assertEquals(1.0, total, 0.01, "probabilities of the pieces sum to about 1");
    // A frequent word is one piece, not characters.
    assertArrayEquals(new String[] {"▁Berlin"}, unigram.encode("Berlin", false, false).getTokens());
  }

  // ---------------------------------------------------------------- wordpiece shape

  @Test
  void wordPieceSplitsCjkCharactersAndContinuesLatinWords() {
    Encoding e = wordPiece.encode("東京都千代田区の Lindström", false, false);
    String[] tokens = e.getTokens();
    assertArrayEquals(
        new String[] {"東", "京", "都", "千", "代", "田", "区"},
        List.of(tokens).subList(0, 7).toArray(String[]::new));
    List<String> latin = List.of(tokens).subList(8, tokens.length);
    assertFalse(latin.get(0).startsWith("##"));
    assertTrue(
        latin.size() > 1 && latin.stream().skip(1).allMatch(t -> t.startsWith("##")),
        "continuations of Lindström: " + latin);
    // Punctuation, including full-width, is split off.
    String[] bracketed = wordPiece.encode("（Berlin）", false, false).getTokens();
    assertEquals("（", bracketed[0]);
    assertEquals("）", bracketed[bracketed.length - 1]);
  }

  // ---------------------------------------------------------------- determinism and fixtures

  @Test
  void buildingTwiceGivesIdenticalJson() throws IOException {
    List<String> texts = SampleTexts.load(Path.of("data"));
    for (Kind kind : Kind.values()) {
      String first = TokenizerBuilder.build(kind, texts, FixtureGenerator.options(kind));
      String second =
          TokenizerBuilder.build(kind, new ArrayList<>(texts), FixtureGenerator.options(kind));
      assertEquals(first, second, kind.toString());
      // The committed fixtures are exactly what the generator writes.
      assertEquals(
          Files.readString(fixture(kind), StandardCharsets.UTF_8),
          first,
          kind + " fixture is stale: run FixtureGenerator (see tokenizers/README.md)");
    }
  }

  @Test
  void smallCorpusRespectsTheBudgetAndLoads(@TempDir Path dir) throws IOException {
    List<String> texts =
        List.of("Berlin ist groß.", "Berlin liegt an der Spree.", "東京と Berlin", "東京都");
    TokenizerBuilder.Options options = new TokenizerBuilder.Options();
    options.vocabSize = 60;
    for (Kind kind : Kind.values()) {
      String json = TokenizerBuilder.build(kind, texts, options);
      JsonNode vocab = new ObjectMapper().readTree(json).at("/model/vocab");
      Set<Integer> chars = new HashSet<>();
      texts.forEach(t -> t.codePoints().filter(c -> c != ' ').forEach(chars::add));
      assertTrue(vocab.size() <= Math.max(60, 2 * chars.size() + 5), kind + " " + vocab.size());
      Path file = dir.resolve(kind + ".json");
      Files.writeString(file, json, StandardCharsets.UTF_8);
      try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(file, DJL_OPTIONS)) {
        Encoding e = t.encode("Berlin 東京", false, false);
        for (long id : e.getIds()) {
          assertNotEquals(kind == Kind.UNIGRAM ? 3 : 1, id, "no unknowns for seen characters");
        }
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  static Set<String> unigramPieces() {
    Set<String> pieces = new HashSet<>();
    unigramJson.at("/model/vocab").forEach(entry -> pieces.add(entry.get(0).asText()));
    return pieces;
  }

  /** Tokens with unknowns shown as [UNK] (DJL reports the token string of the unk piece). */
  static String[] tokenShapes(Encoding e) {
    String[] tokens = e.getTokens().clone();
    for (int i = 0; i < tokens.length; i++) {
      if (e.getIds()[i] == 1) {
        tokens[i] = "[UNK]";
      }
    }
    return tokens;
  }

  static String codePoints(String text, CharSpan span) {
    int start = text.offsetByCodePoints(0, span.getStart());
    int end = text.offsetByCodePoints(start, span.getEnd() - span.getStart());
    return text.substring(start, end);
  }

  static String withoutWhitespace(String text) {
    return text.replaceAll("\\s+", "");
  }

  static void assertSpan(int start, int end, CharSpan span) {
    assertEquals(start + "," + end, span.getStart() + "," + span.getEnd());
  }
}
