package io.sparkner.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.cache.VersionedCache;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tokenizer.json rewritten at the same path is loaded anew, and the old tokenizer closed once
 * unused.
 */
class TokenizerCacheTest {
  @TempDir Path dir;

  private static void put(String kind, Path file, long mtime) throws IOException {
    Files.copy(TestData.tokenizer(kind), file, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(file, FileTime.fromMillis(mtime));
  }

  @Test
  void aRewrittenTokenizerIsLoadedAnewAndTheOldOneClosedAfterItsLastLease() throws IOException {
    Configuration conf = new Configuration();
    Path file = dir.resolve("tokenizer.json");
    long t = System.currentTimeMillis() / 1000 * 1000 - 60_000;
    put("unigram", file, t);
    VersionedCache.Lease<TokenizerHandle> first = TokenizerCache.acquire(dir.toString(), conf);
    int[] unigram = first.get().tokenize("東京都に住む").ids();
    put("wordpiece", file, t + 2000);
    try (VersionedCache.Lease<TokenizerHandle> second =
        TokenizerCache.acquire(dir.toString(), conf)) {
      int[] wordpiece = second.get().tokenize("東京都に住む").ids();
      assertFalse(
          Arrays.equals(unigram, wordpiece),
          "the rewritten file is used, not the cached tokenizer of the old one");
      try (TokenizerHandle direct = TokenizerHandle.load(TestData.tokenizer("wordpiece"))) {
        assertEquals(Arrays.toString(direct.tokenize("東京都に住む").ids()), Arrays.toString(wordpiece));
      }
    }
    assertFalse(first.get().isClosed(), "a task still holding the old tokenizer keeps it");
    TokenizerHandle old = first.get();
    first.close();
    assertTrue(old.isClosed(), "closed once its last holder let go");
  }

  private static List<String> features(String out) {
    return TestSpark.session()
        .read()
        .parquet(out + "/features")
        .select("id", "window", "input_ids")
        .collectAsList()
        .stream()
        .map(Row::toString)
        .sorted()
        .collect(Collectors.toList());
  }

  @Test
  void prepareWithATokenizerRewrittenBetweenTwoRunsUsesTheNewOne() throws IOException {
    Path corpus = dir.resolve("docs.jsonl");
    Files.writeString(
        corpus,
        "{\"id\":\"d1\",\"text\":\"山田太郎は東京都に住んでいる。\",\"entities\":[{\"start\":0,\"end\":4,\"type\":\"PER\"}]}\n"
            + "{\"id\":\"d2\",\"text\":\"大阪の株式会社に勤める。\",\"entities\":[]}\n");
    Path tokenizers = dir.resolve("tok");
    Files.createDirectories(tokenizers);
    long t = System.currentTimeMillis() / 1000 * 1000 - 60_000;
    put("unigram", tokenizers.resolve("tokenizer.json"), t);
    Path reference = dir.resolve("wordpiece");
    Files.createDirectories(reference);
    put("wordpiece", reference.resolve("tokenizer.json"), t);
    List<String> runs = List.of("unigram-run", "rewritten-run", "reference-run");
    for (String run : runs) {
      if (run.equals("rewritten-run")) {
        put("wordpiece", tokenizers.resolve("tokenizer.json"), t + 2000);
      }
      Path tokenizer = run.equals("reference-run") ? reference : tokenizers;
      PrepareJob.run(
          TestSpark.session(),
          new PrepareOptions(
              List.of(CorpusInput.parse("jsonl:" + corpus)),
              tokenizer.toString(),
              dir.resolve(run).toString(),
              ReadOptions.defaults(),
              LabelScheme.IOB2,
              new AlignOptions(64, 16, true),
              true));
    }
    List<String> before = features(dir.resolve("unigram-run").toString());
    List<String> after = features(dir.resolve("rewritten-run").toString());
    assertNotEquals(before, after, "the second run must not reuse the tokenizer of the first");
    assertEquals(features(dir.resolve("reference-run").toString()), after);
  }
}
