package io.sparkner.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CorpusInputTest {

  @Test
  void kindLangAndPath() {
    assertEquals(
        new CorpusInput("panx", "ja", "../shared/data/panx/ja"),
        CorpusInput.parse("panx:ja:../shared/data/panx/ja"));
    assertEquals(
        new CorpusInput("panx", "ja", "/abs/panx/ja"), CorpusInput.parse("panx:ja:/abs/panx/ja"));
    assertEquals(
        new CorpusInput("stockmark", null, "data/ner.json"),
        CorpusInput.parse("stockmark:data/ner.json"));
  }

  @Test
  void uriSchemesAreNotLanguages() {
    assertEquals(
        new CorpusInput("stockmark", null, "s3a://bucket/ner.json"),
        CorpusInput.parse("stockmark:s3a://bucket/ner.json"));
    assertEquals(
        new CorpusInput("panx", "ko", "abfss://c@acct.dfs.core.windows.net/panx/ko"),
        CorpusInput.parse("panx:ko:abfss://c@acct.dfs.core.windows.net/panx/ko"));
    assertEquals(
        new CorpusInput("jsonl", null, "hdfs:///corpora/x.jsonl"),
        CorpusInput.parse("jsonl:hdfs:///corpora/x.jsonl"));
  }

  @Test
  void badSpecsNameTheProblem() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CorpusInput.parse("conllu:x"));
    assertTrue(e.getMessage().contains("unknown kind 'conllu'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> CorpusInput.parse("nokind"));
    assertTrue(e.getMessage().contains("KIND[:LANG]:PATH"), e.getMessage());
  }

  @Test
  void languageFromThePathWhenNotGiven() {
    CorpusInput in = CorpusInput.parse("panx:/data/panx");
    assertEquals("ko", in.langOf("file:/data/panx/ko/train"));
    assertEquals("ja", in.langOf("file:/data/xtreme/train-ja.tsv"));
    assertNull(CorpusInput.parse("stockmark:/x").langOf("file:/corpora/stockmark/ner.json"));
  }
}
