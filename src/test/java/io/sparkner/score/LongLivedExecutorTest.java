package io.sparkner.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.TestData;
import io.sparkner.cache.VersionedCache;
import io.sparkner.model.Checkpoints;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an executor that lives as long as a notebook's cluster needs: a checkpoint rewritten at the
 * same path is scored fresh and the old one closed once unused; no text of a row in logs or in the
 * errors that reach the caller.
 */
class LongLivedExecutorTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private static long clock = System.currentTimeMillis() / 1000 * 1000 - 3_600_000;

  /**
   * Copies the checkpoint files in place at {@code to}, each with a modification time later than
   * any before.
   */
  private static void install(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    for (String f : Checkpoints.FILES) {
      Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      touch(to.resolve(f));
    }
  }

  private static void touch(Path f) throws IOException {
    clock += 2000;
    Files.setLastModifiedTime(f, FileTime.fromMillis(clock));
  }

  private static List<ScoringModel> loadedAt(Path model) {
    return ModelCache.loaded().stream()
        .filter(m -> m.path().endsWith(model.toString()))
        .collect(Collectors.toList());
  }

  @Test
  void threeVersionsAtOnePathAreScoredFreshAndEachOldOneIsClosedOnceNoTaskHoldsIt()
      throws IOException {
    ScoreFixtures.Gold gold = ScoreFixtures.gold();
    List<PreparedData.GoldDocument> docs = new ArrayList<>();
    docs.addAll(gold.models().get(0).documents().subList(0, 6));
    docs.addAll(gold.models().get(1).documents().subList(0, 6));
    List<String> texts =
        docs.stream().map(PreparedData.GoldDocument::text).collect(Collectors.toList());
    Path model = dir.resolve("ner");
    NerTagger tagger = new NerTagger().setModelPath(model.toString());
    Configuration conf = NerTaggerTest.spark().sparkContext().hadoopConfiguration();

    // version 1: gold model 0, which reproduces the gold entities of the first six documents
    install(gold.models().get(0).model(), model);
    Map<String, List<TaggedEntity>> v1 =
        NerTaggerTest.entities(tagger.transform(NerTaggerTest.texts(texts)), "entities");
    for (int i = 0; i < 6; i++) {
      assertEquals(docs.get(i).entities(), NerTaggerTest.spans(v1.get("r" + i)), docs.get(i).id());
    }
    List<ScoringModel> first = loadedAt(model);
    assertEquals(1, first.size(), "one model at the path");
    ScoringModel one = first.get(0);
    assertFalse(one.isClosed());
    // a task of an earlier job still scoring with version 1 holds it
    VersionedCache.Lease<ScoringModel> running =
        ModelCache.acquire(
            one.path(), ModelCache.version(one.path(), conf), Device.cpu(), DataType.FLOAT32, conf);
    assertEquals(one, running.get());

    // version 2: gold model 1, written over the same path
    install(gold.models().get(1).model(), model);
    Map<String, List<TaggedEntity>> v2 =
        NerTaggerTest.entities(tagger.transform(NerTaggerTest.texts(texts)), "entities");
    for (int i = 6; i < 12; i++) {
      assertEquals(
          docs.get(i).entities(),
          NerTaggerTest.spans(v2.get("r" + i)),
          "version 2 is scored, not version 1: " + docs.get(i).id());
    }
    assertNotEquals(v1, v2, "the two versions tag these texts differently");
    List<ScoringModel> second = loadedAt(model);
    assertEquals(1, second.size(), "the old version is evicted: " + second);
    ScoringModel two = second.get(0);
    assertNotSame(one, two);
    assertFalse(one.isClosed(), "version 1 stays open while a task holds it");
    running.close();
    assertTrue(one.isClosed(), "version 1 is closed when its last task lets go");
    assertTrue(one.tokenizer().isClosed(), "its tokenizer too");

    // version 3: only tokenizer.json rewritten (same tokens, reformatted): a new version as well
    Path tok = model.resolve(Checkpoints.TOKENIZER);
    Files.writeString(
        tok,
        new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .writeValueAsString(JSON.readTree(tok.toFile())));
    touch(tok);
    Map<String, List<TaggedEntity>> v3 =
        NerTaggerTest.entities(tagger.transform(NerTaggerTest.texts(texts)), "entities");
    assertEquals(v2, v3);
    List<ScoringModel> third = loadedAt(model);
    assertEquals(1, third.size(), third.toString());
    assertNotSame(two, third.get(0), "a rewritten tokenizer.json is part of the model's version");
    assertTrue(two.isClosed(), "version 2 is closed: no task holds it any more");
    assertFalse(third.get(0).isClosed());
  }

  /** A copy of gold model 0 whose tokenizer.json is {@code tokenizer}. */
  private Path withTokenizer(String name, String tokenizer) throws IOException {
    Path model = dir.resolve(name);
    install(ScoreFixtures.gold().first().model(), model);
    Files.writeString(model.resolve(Checkpoints.TOKENIZER), tokenizer);
    return model;
  }

  private static final String SECRET = "山田太郎の携帯は090-1234-5678";

  /** Whether {@code s} holds the secret text or a recognisable part of it. */
  private static void assertNoSecret(String s) {
    for (String part : List.of(SECRET, "山田", "太郎", "携帯", "090-1234", "5678")) {
      assertFalse(s.contains(part), "'" + part + "' leaked into: " + s);
    }
  }

  @Test
  void aTextTheTokenizerFailsOnIsLoggedWithItsRowAndLengthOnly() throws IOException {
    // a word-level tokenizer without its [UNK] token fails on every word it does not know
    String wordLevel =
        "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],\"normalizer\":null,"
            + "\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,"
            + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":5,\"b\":6},\"unk_token\":\"[UNK]\"}}";
    Path model = withTokenizer("word-level", wordLevel);
    NerTagger tagger = new NerTagger().setModelPath(model.toString());
    TaggingCounts counts =
        TaggingCounts.register(NerTaggerTest.spark().sparkContext(), "tokenizer failure counts");
    Map<String, List<TaggedEntity>> found;
    String logs;
    try (LogCapture capture = new LogCapture()) {
      found =
          NerTaggerTest.entities(
              tagger.tag(NerTaggerTest.texts(List.of("a b", SECRET)).coalesce(1), counts),
              "entities");
      logs = capture.text();
    }
    assertTrue(found.get("r0") != null);
    assertNull(found.get("r1"), "a text the tokenizer fails on gets null entities");
    assertEquals(Map.of("tokenizer_error", 1L), counts.unscorable());
    assertTrue(
        logs.contains(
            "cannot tokenize row 1 of partition 0, a text of " + SECRET.length() + " UTF-16 units"),
        logs);
    assertTrue(
        logs.contains("WordLevel error"),
        "the tokenizer's own message is kept when it quotes nothing: " + logs);
    assertNoSecret(logs);
  }

  @Test
  void aFailureWhileTaggingReachesTheCallerWithTypeNamesAndPositionsButNoneOfTheText()
      throws IOException {
    // the classic misconfiguration: a token added to the tokenizer, the embeddings not resized
    ObjectNode tok = (ObjectNode) JSON.readTree(TestData.tokenizer("unigram").toFile());
    ObjectNode added = tok.withArray("added_tokens").addObject();
    added
        .put("id", 9000)
        .put("content", "携帯")
        .put("single_word", false)
        .put("lstrip", false)
        .put("rstrip", false)
        .put("normalized", true)
        .put("special", false);
    Path model = withTokenizer("added-token", JSON.writeValueAsString(tok));
    NerTagger tagger = new NerTagger().setModelPath(model.toString());
    StringWriter chain = new StringWriter();
    String logs;
    Throwable thrown;
    try (LogCapture capture = new LogCapture()) {
      thrown =
          assertThrows(
              Exception.class,
              () ->
                  tagger
                      .transform(NerTaggerTest.texts(List.of("東京", SECRET)).coalesce(1))
                      .collectAsList());
      logs = capture.text();
    }
    thrown.printStackTrace(new PrintWriter(chain, true));
    RedactedException redacted = null;
    List<String> types = new ArrayList<>();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t instanceof RedactedException r) {
        redacted = redacted == null ? r : redacted;
        types.add(r.originalType());
      }
    }
    assertTrue(redacted != null, "the caller gets the redacted chain: " + chain);
    assertTrue(redacted.getMessage().contains("rows 0 to 1 of partition 0"), redacted.getMessage());
    assertTrue(
        types.stream().anyMatch(t -> t.startsWith("ai.djl")),
        "the chain keeps the type names: " + types);
    assertNoSecret(chain.toString());
    assertNoSecret(logs);
  }

  @Test
  void redactionKeepsTypesAndMessagesThatQuoteNoTextAndWithholdsTheRest() {
    String text = "Tel 090-1234-5678, 山田太郎";
    RuntimeException quoting;
    try {
      Integer.parseInt(text);
      throw new AssertionError("unreachable");
    } catch (NumberFormatException e) {
      quoting = new IllegalStateException("while reading " + text.substring(4, 12), e);
    }
    RuntimeException neutral = new IndexOutOfBoundsException("Index 7 out of bounds for length 3");
    RedactedException r =
        RedactedException.of(
            "tagging row 3 of partition 1 failed",
            new RuntimeException(neutral.getMessage(), quoting),
            List.of("東京", text));
    StringWriter all = new StringWriter();
    r.printStackTrace(new PrintWriter(all, true));
    assertFalse(all.toString().contains("090"), all.toString());
    assertFalse(all.toString().contains("山田"), all.toString());
    List<String> messages = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (Throwable t = r; t != null; t = t.getCause()) {
      messages.add(t.getMessage());
      types.add(((RedactedException) t).originalType());
    }
    assertEquals(
        List.of(
            "tagging row 3 of partition 1 failed",
            "java.lang.RuntimeException: Index 7 out of bounds for length 3",
            "java.lang.IllegalStateException: " + RedactedException.WITHHELD,
            "java.lang.NumberFormatException: " + RedactedException.WITHHELD),
        messages);
    assertEquals(
        List.of(
            "java.lang.RuntimeException",
            "java.lang.RuntimeException",
            "java.lang.IllegalStateException",
            "java.lang.NumberFormatException"),
        types);
    assertEquals(
        quoting.getCause().getStackTrace().length,
        r.getCause().getCause().getCause().getStackTrace().length,
        "stack traces are kept");
  }

  @Test
  void aCheckpointRewrittenAfterTheDriverReadItFailsTheTaskSayingSo() throws IOException {
    Path model = dir.resolve("moving");
    install(ScoreFixtures.gold().first().model(), model);
    Configuration conf = NerTaggerTest.spark().sparkContext().hadoopConfiguration();
    String path = HadoopFiles.qualify(model.toString(), conf);
    String seen = ModelCache.version(path, conf);
    touch(model.resolve(Checkpoints.WEIGHTS));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> ModelCache.acquire(path, seen, Device.cpu(), DataType.FLOAT32, conf));
    assertTrue(e.getMessage().contains("rewritten after the job started"), e.getMessage());
  }
}
