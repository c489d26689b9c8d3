package io.sparkner.align;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.corpus.Entity;
import io.sparkner.tokenizer.TokenizerHandle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Golden alignment cases with the committed test tokenizers (XLM-R-shaped unigram, BERT-shaped
 * wordpiece); the token ids and spans below are what those tokenizer.json files produce.
 */
class AlignerTest {
  static final int X = Labels.IGNORE;
  static final String SEED_EXAMPLE = "松友美佐紀は、日本のバドミントン選手。";
  static final List<Entity> SEED_ENTITIES =
      List.of(new Entity(0, 5, "PER"), new Entity(7, 9, "LOC"));

  static TokenizerHandle unigram;
  static TokenizerHandle wordpiece;
  static final Labels IOB2 = new Labels(LabelScheme.IOB2, List.of("PER", "LOC", "ORG"));
  // O, B-LOC, I-LOC, B-ORG, I-ORG, B-PER, I-PER
  static final int O = 0, BL = 1, IL = 2, BO = 3, IO_ = 4, BP = 5, IP = 6;

  @BeforeAll
  static void load() {
    unigram = TokenizerHandle.load(TestData.tokenizer("unigram"));
    wordpiece = TokenizerHandle.load(TestData.tokenizer("wordpiece"));
  }

  @AfterAll
  static void close() {
    unigram.close();
    wordpiece.close();
  }

  static Aligner.Result align(
      TokenizerHandle t, Labels l, AlignOptions o, String text, List<Entity> e) {
    return new Aligner(t, l, o).align("doc", text, e);
  }

  static List<Entity> decode(Aligner.Window w, Labels l) {
    return SpanDecoder.decode(w.labels(), w.starts(), w.ends(), l);
  }

  @Test
  void seedExampleWithTheXlmrShapedTokenizer() {
    Aligner.Result r = align(unigram, IOB2, AlignOptions.defaults(), SEED_EXAMPLE, SEED_ENTITIES);
    assertEquals(1, r.windows().size());
    Aligner.Window w = r.windows().get(0);
    // <s> ▁ 松 友 美 佐 紀 は、 日本 のバドミントン 選手。 </s>
    assertArrayEquals(
        new int[] {0, 4, 538, 1442, 430, 1294, 4014, 73, 124, 5325, 3201, 2}, w.inputIds());
    // the bare ▁ covers no character: -100, like the special tokens
    assertArrayEquals(new int[] {X, X, BP, IP, IP, IP, IP, O, BL, O, O, X}, w.labels());
    assertArrayEquals(new int[] {-1, 0, 0, 1, 2, 3, 4, 5, 7, 9, 16, -1}, w.starts());
    assertArrayEquals(new int[] {-1, 0, 1, 2, 3, 4, 5, 7, 9, 16, 19, -1}, w.ends());
    assertEquals(List.of(), r.misaligned());
    assertEquals(SEED_ENTITIES, decode(w, IOB2));
  }

  @Test
  void seedExampleWithTheBertShapedTokenizer() {
    Aligner.Window w =
        align(wordpiece, IOB2, AlignOptions.defaults(), SEED_EXAMPLE, SEED_ENTITIES)
            .windows()
            .get(0);
    assertEquals(2, w.inputIds()[0]); // [CLS]
    assertEquals(3, w.inputIds()[w.inputIds().length - 1]); // [SEP]
    // [CLS] 松 友 美 佐 紀 は 、 日 本 のバ ド ミン トン 選 手 。 [SEP]
    assertArrayEquals(
        new int[] {X, BP, IP, IP, IP, IP, O, O, BL, IL, O, O, O, O, O, O, O, X}, w.labels());
    assertEquals(SEED_ENTITIES, decode(w, IOB2));
  }

  @Test
  void latinWordsWithSpacesAndABareMetaspaceInside() {
    String text = "Anders Lindström lives in Berlin";
    List<Entity> ents = List.of(new Entity(0, 16, "PER"), new Entity(26, 32, "LOC"));
    Aligner.Window w = align(unigram, IOB2, AlignOptions.defaults(), text, ents).windows().get(0);
    // <s> ▁Anders ▁Lind st r ö m ▁ li ve s ▁in ▁Berlin </s>; ▁Lind starts at 7, after the space
    assertArrayEquals(new int[] {X, BP, IP, IP, IP, IP, IP, X, O, O, O, O, BL, X}, w.labels());
    assertEquals(7, w.starts()[2]);
    assertEquals(ents, decode(w, IOB2));
  }

  @Test
  void onlyFirstSubwordsLabelledAndDecodedBackOverWholeWords() {
    String text = "Anders Lindström lives in Berlin";
    List<Entity> ents = List.of(new Entity(0, 16, "PER"), new Entity(26, 32, "LOC"));
    AlignOptions firstOnly = new AlignOptions(256, 64, false);
    Aligner.Window w = align(wordpiece, IOB2, firstOnly, text, ents).windows().get(0);
    // [CLS] And ##ers Lin ##ds ##t ##r ##ö ##m li ##ves in Be ##r ##lin [SEP]
    assertArrayEquals(new int[] {X, BP, X, IP, X, X, X, X, X, O, X, O, BL, X, X, X}, w.labels());
    assertEquals(ents, decode(w, IOB2));
  }

  @Test
  void withFirstSubwordsOnlyAnEntityBoundaryInsideAWordIsReported() {
    // "Lin" ends and "ers" starts between two subwords of one word: every subword aligns
    String text = "Anders Lindström lives in Berlin";
    List<Entity> ents =
        List.of(new Entity(3, 6, "PER"), new Entity(7, 10, "PER"), new Entity(26, 32, "LOC"));
    assertEquals(
        List.of(), align(wordpiece, IOB2, AlignOptions.defaults(), text, ents).misaligned());
    // labelled by words, "ers" is lost (its word's first subword is outside it) and "Lin" takes the
    // whole of "Lindström"; both are reported, Berlin is not
    Aligner.Result r = align(wordpiece, IOB2, new AlignOptions(256, 64, false), text, ents);
    assertEquals(
        List.of("start inside a word", "end inside a word"),
        r.misaligned().stream()
            .map(m -> m.problem().substring(0, m.problem().indexOf(" (")))
            .toList());
    assertEquals(
        List.of(ents.get(0), ents.get(1)), r.misaligned().stream().map(m -> m.entity()).toList());
    assertTrue(
        r.misaligned().get(0).problem().contains("first subword"), r.misaligned().get(0).problem());
  }

  @Test
  void ioSchemeLabelsEverySubwordInside() {
    Labels io = new Labels(LabelScheme.IO, List.of("PER", "LOC"));
    assertEquals(List.of("O", "I-LOC", "I-PER"), io.labels());
    Aligner.Window w =
        align(unigram, io, AlignOptions.defaults(), SEED_EXAMPLE, SEED_ENTITIES).windows().get(0);
    assertArrayEquals(new int[] {X, X, 2, 2, 2, 2, 2, 0, 1, 0, 0, X}, w.labels());
    assertEquals(SEED_ENTITIES, decode(w, io));
  }

  @Test
  void surrogatesDigitsAndFullWidthBrackets() {
    // 😀 and 𠮷 are outside the BMP: one code point each, two Java chars each
    String text = "😀𠮷野家は2024年に（株）トヨタと東京都で会った。";
    List<Entity> ents =
        List.of(new Entity(1, 4, "ORG"), new Entity(11, 17, "ORG"), new Entity(18, 20, "LOC"));
    // BERT-shaped: CJK characters are their own words, every boundary aligns
    Aligner.Result bert = align(wordpiece, IOB2, AlignOptions.defaults(), text, ents);
    Aligner.Window w = bert.windows().get(0);
    assertEquals(List.of(), bert.misaligned());
    assertEquals(ents, decode(w, IOB2));
    assertEquals(1, w.starts()[2]); // 𠮷 is code point 1 (the unknown-token [UNK] keeps its span)
    assertEquals(1, w.inputIds()[2]);
    assertEquals(BO, w.labels()[2]);

    // XLM-R-shaped: the two unknown characters fuse into one <unk> [0,2) and 東京都 is one piece,
    // so two entity boundaries fall inside subwords: labelled where they overlap, and reported
    Aligner.Result xlmr = align(unigram, IOB2, AlignOptions.defaults(), text, ents);
    List<String> problems = new ArrayList<>();
    for (Aligner.Misaligned m : xlmr.misaligned()) {
      problems.add(m.text() + ": " + m.problem());
    }
    assertEquals(List.of("𠮷野家: start inside a subword", "東京: end inside a subword"), problems);
    Aligner.Window u = xlmr.windows().get(0);
    assertEquals(3, u.inputIds()[2]); // <unk> over 😀𠮷
    assertEquals(BO, u.labels()[2]);
    assertEquals(
        List.of(new Entity(0, 4, "ORG"), new Entity(11, 17, "ORG"), new Entity(18, 21, "LOC")),
        decode(u, IOB2));
  }

  @Test
  void longTextIsCutIntoOverlappingWindowsNotTruncated() {
    StringBuilder sb = new StringBuilder();
    List<Entity> ents = new ArrayList<>();
    int n = 20;
    for (int i = 0; i < n; i++) {
      int base = i * 19; // the sentence has 19 code points
      sb.append(SEED_EXAMPLE);
      ents.add(new Entity(base, base + 5, "PER"));
      ents.add(new Entity(base + 7, base + 9, "LOC"));
    }
    Aligner.Result r = align(wordpiece, IOB2, new AlignOptions(64, 16, true), sb.toString(), ents);
    assertEquals(16 * n, r.tokens());
    // capacity 62 content tokens, step 46: windows start at 0, 46, ..., 276
    assertEquals(7, r.windows().size());
    Map<String, Integer> merged = new LinkedHashMap<>(); // token offsets -> label, each token once
    for (int k = 0; k < r.windows().size(); k++) {
      Aligner.Window w = r.windows().get(k);
      assertEquals(k, w.index());
      assertTrue(w.inputIds().length <= 64);
      assertEquals(2, w.inputIds()[0]);
      assertEquals(3, w.inputIds()[w.inputIds().length - 1]);
      if (k > 0) {
        Aligner.Window prev = r.windows().get(k - 1);
        // the last 16 content tokens of the previous window are the first 16 of this one
        for (int j = 0; j < 16; j++) {
          int a = prev.inputIds().length - 1 - 16 + j;
          assertEquals(prev.starts()[a], w.starts()[1 + j]);
          assertEquals(prev.labels()[a], w.labels()[1 + j]);
        }
      }
      for (int j = 0; j < w.inputIds().length; j++) {
        if (w.starts()[j] >= 0) {
          Integer before = merged.put(w.starts()[j] + ":" + w.ends()[j], w.labels()[j]);
          assertTrue(before == null || before == w.labels()[j]);
        }
      }
    }
    assertEquals(16 * n, merged.size()); // every token is in some window: nothing truncated
    int[] labels = new int[merged.size()];
    int[] starts = new int[merged.size()];
    int[] ends = new int[merged.size()];
    int i = 0;
    for (Map.Entry<String, Integer> e : merged.entrySet()) {
      String[] se = e.getKey().split(":");
      starts[i] = Integer.parseInt(se[0]);
      ends[i] = Integer.parseInt(se[1]);
      labels[i++] = e.getValue();
    }
    assertEquals(ents, SpanDecoder.decode(labels, starts, ends, IOB2));
  }

  @Test
  void windowOptionsAreValidated() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Aligner(wordpiece, IOB2, new AlignOptions(64, 62, true)));
    assertTrue(e.getMessage().contains("stride"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Aligner(wordpiece, IOB2, new AlignOptions(2, 0, true)));
    assertTrue(e.getMessage().contains("capacity"), e.getMessage());
  }

  @Test
  void decoderReadsTagsLikeConlleval() {
    Labels l = IOB2;
    int[] s = {0, 1, 2, 3, 4, 5, 6};
    int[] e = {1, 2, 3, 4, 5, 6, 7};
    // I- after O starts an entity; a type change inside a chunk starts a new one; an entity at the
    // end
    int[] tags = {O, IP, IP, IL, O, BO, IO_};
    assertEquals(
        List.of(new Entity(1, 3, "PER"), new Entity(3, 4, "LOC"), new Entity(5, 7, "ORG")),
        SpanDecoder.decode(tags, s, e, l));
    // B- right after B- of the same type: two entities
    assertEquals(
        List.of(new Entity(0, 1, "PER"), new Entity(1, 2, "PER")),
        SpanDecoder.decode(new int[] {BP, BP}, new int[] {0, 1}, new int[] {1, 2}, l));
  }
}
