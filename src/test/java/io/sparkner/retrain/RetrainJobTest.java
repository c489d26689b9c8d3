package io.sparkner.retrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.cli.TestAccess;
import io.sparkner.fault.FaultPlan;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sparkner retrain} on real local Spark with the tiny model and the bundled PAN-X ja + ko
 * samples, one registry through a sequence of runs: the first challenger becomes the champion; a
 * better one replaces it; a worse one (learning rate 0 from the random base) does not; a run that
 * fails after evaluation, and one whose corpus cannot be read, leave the champion as it was and are
 * recorded as failed; a run is promoted back by hand.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RetrainJobTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;

  /** The registry the ordered tests share; each test starts from the champion the previous left. */
  private static Path registry() {
    return dir.resolve("registry");
  }

  /**
   * A configuration for the shared registry: PAN-X ja + ko, the tiny model initialised once in the
   * registry.
   */
  static String config(String warmStart, String trainArgs, String corpusPath) {
    return """
    {
      "registry": "%s",
      "corpora": [{"kind": "panx", "path": "%s", "languages": ["ja", "ko"]}],
      "prepare": {"max_length": 128, "stride": 32},
      "base_model": {"init": {"config": "%s", "tokenizer": "%s", "seed": 42}},
      "warm_start": "%s",
      "train": {"args": %s},
      "evaluate": {"split": "test", "batch_size": 64, "languages": ["ja", "ko"]},
      "promotion": {"margin": 0.02, "tolerance": 0.05}
    }
    """
        .formatted(
            registry(),
            corpusPath,
            Path.of("conf/tiny-xlmr-config.json").toAbsolutePath(),
            TestData.tokenizer("unigram"),
            warmStart,
            trainArgs);
  }

  static String panx() {
    return TestData.sample("panx").toString() + "/{lang}";
  }

  /**
   * No learning: the challenger keeps its start weights. From the random base it is a random model.
   */
  static final String NO_LEARNING =
      """
      {"max_steps": 1, "learning_rate": 0.0, "logging_steps": 1, "eval_strategy": "no", "seed": 42}\
      """;

  static final String LEARN =
      """
      {"num_train_epochs": 4, "per_device_train_batch_size": 16, "learning_rate": 0.003, "warmup_ratio": 0.1,
       "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "logging_steps": 20, "eval_strategy": "no", "seed": 42}\
      """;

  static RetrainJob.Outcome run(String config, RetrainJob.Stage failAfter) {
    return RetrainJob.run(
        TestSpark.session(),
        RetrainConfig.parse(config, "test-retrain.json"),
        new RetrainJob.Options(null, FaultPlan.none().withFailAfter(failAfter)),
        quiet());
  }

  static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
  }

  static JsonNode pointer() throws IOException {
    return JSON.readTree(registry().resolve("champion").toFile());
  }

  static JsonNode runJson(String runId) throws IOException {
    return JSON.readTree(registry().resolve("runs").resolve(runId).resolve("run.json").toFile());
  }

  @Test
  @Order(1)
  void theFirstChallengerBecomesTheChampion() throws IOException {
    RetrainJob.Outcome o = run(config("champion", NO_LEARNING, panx()), null);
    assertTrue(o.promoted());
    assertTrue(
        o.decision().reasons().get(0).startsWith("no champion yet"),
        o.decision().reasons().toString());
    assertEquals(o.runId(), pointer().path("run_id").asText());
    assertTrue(
        Files.isRegularFile(registry().resolve("base/model.safetensors")),
        "the initialised base is kept in the registry");
    JsonNode r = runJson(o.runId());
    assertEquals("succeeded", r.path("status").asText());
    assertTrue(r.path("promoted").asBoolean());
    assertEquals("base", r.path("warm_start").path("from").asText());
    assertTrue(r.path("champion").isNull());
    // what the run saw: the corpus files with sizes, the prepared counts, the configuration
    JsonNode ja = r.path("inputs").get(0);
    assertEquals("ja", ja.path("lang").asText());
    assertEquals(3, ja.path("file_count").asInt()); // train, dev, test
    assertTrue(ja.path("bytes").asLong() > 0);
    assertTrue(r.path("prepared").path("by_lang").has("ko"));
    assertEquals("champion", r.path("config").path("warm_start").asText());
    assertTrue(r.path("metrics").path("challenger").path("by_lang").has("ja"));
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      assertTrue(
          Files.isRegularFile(
              Path.of(o.runDir().replaceFirst("^file:", "")).resolve("model").resolve(f)),
          f);
    }
    assertFalse(
        Files.exists(Path.of(o.runDir().replaceFirst("^file:", "")).resolve("model/checkpoints")),
        "checkpoints are not kept by default");
  }

  @Test
  @Order(2)
  void aBetterChallengerIsPromoted() throws IOException {
    String before = pointer().path("run_id").asText();
    RetrainJob.Outcome o = run(config("champion", LEARN, panx()), null);
    System.out.println("better challenger: " + o.decision().reasons());
    JsonNode r = runJson(o.runId());
    assertTrue(o.promoted(), r.path("decision").toString());
    assertTrue(
        o.challenger().microF1() >= o.champion().microF1() + 0.02, r.path("metrics").toString());
    assertEquals(o.runId(), pointer().path("run_id").asText());
    assertEquals("champion", r.path("warm_start").path("from").asText());
    assertEquals(before, r.path("warm_start").path("champion_run").asText());
    assertEquals(before, r.path("champion").path("run_id").asText());
    assertTrue(
        r.path("decision").path("reasons").toString().contains("ko: F1"),
        r.path("decision").toString());
    assertTrue(
        Files.isRegularFile(
            Path.of(o.runDir().replaceFirst("^file:", "")).resolve("eval/champion/report.json")));
    List<JsonNode> history =
        new Registry(
                registry().toString(), TestSpark.session().sparkContext().hadoopConfiguration())
            .history();
    assertEquals(2, history.size());
    assertEquals(before, history.get(1).path("previous").asText());
  }

  @Test
  @Order(3)
  void aWorseChallengerLeavesTheChampion() throws IOException {
    String champion = pointer().path("run_id").asText();
    byte[] pointerBefore = Files.readAllBytes(registry().resolve("champion"));
    RetrainJob.Outcome o = run(config("base", NO_LEARNING, panx()), null);
    System.out.println("worse challenger: " + o.decision().reasons());
    assertFalse(o.promoted());
    assertTrue(
        o.challenger().microF1() < o.champion().microF1(), o.decision().reasons().toString());
    assertTrue(
        o.decision().reasons().get(0).contains("does not beat the champion"),
        o.decision().reasons().toString());
    assertEquals(
        "keep the champion", o.decision().reasons().get(o.decision().reasons().size() - 1));
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        pointerBefore, Files.readAllBytes(registry().resolve("champion")));
    JsonNode r = runJson(o.runId());
    assertEquals("succeeded", r.path("status").asText());
    assertFalse(r.path("promoted").asBoolean());
    assertEquals("base", r.path("warm_start").path("from").asText());
    assertEquals(champion, r.path("champion").path("run_id").asText());
    assertFalse(r.path("decision").path("promote").asBoolean());
  }

  @Test
  @Order(4)
  void aRunThatFailsAfterEvaluationLeavesTheChampionAndIsRecorded() throws IOException {
    byte[] pointerBefore = Files.readAllBytes(registry().resolve("champion"));
    String shortTraining =
        """
        {"max_steps": 4, "learning_rate": 0.003, "logging_steps": 2, "eval_strategy": "no"}\
        """;
    RetrainJob.InjectedFailure e =
        assertThrows(
            RetrainJob.InjectedFailure.class,
            () -> run(config("champion", shortTraining, panx()), RetrainJob.Stage.DECIDE));
    assertTrue(e.getMessage().contains("after stage decide"), e.getMessage());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        pointerBefore, Files.readAllBytes(registry().resolve("champion")));
    JsonNode failed = newestRun();
    assertEquals("failed", failed.path("status").asText());
    assertFalse(failed.path("promoted").asBoolean());
    assertEquals("decide", failed.path("error").path("stage").asText());
    assertTrue(failed.path("error").path("message").asText().contains("injected failure"));
    assertTrue(
        failed.path("metrics").path("challenger").has("micro_f1"),
        "what was measured before the failure is kept");
  }

  @Test
  @Order(5)
  void anUnreadableCorpusFailsTheRunThroughTheCommandLine() throws IOException {
    byte[] pointerBefore = Files.readAllBytes(registry().resolve("champion"));
    Path conf = dir.resolve("missing-corpus.json");
    String missing = dir.resolve("no-such-corpus").toString() + "/{lang}";
    Files.writeString(conf, config("champion", NO_LEARNING, missing));
    TestAccess.Cli r = cli("retrain", "--conf", conf.toString(), "--run-id", "missing-corpus");
    assertEquals(1, r.code(), r.out());
    assertTrue(r.err().contains("no-such-corpus"), r.err());
    assertTrue(r.out().contains("the champion is unchanged"), r.out());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        pointerBefore, Files.readAllBytes(registry().resolve("champion")));
    JsonNode failed = runJson("missing-corpus");
    assertEquals("failed", failed.path("status").asText());
    assertEquals("prepare", failed.path("error").path("stage").asText());
    assertTrue(
        failed.path("error").path("message").asText().contains("no-such-corpus/ja"),
        failed.path("error").toString());

    // the same run id again is refused, not overwritten
    TestAccess.Cli again = cli("retrain", "--conf", conf.toString(), "--run-id", "missing-corpus");
    assertEquals(1, again.code());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  @Test
  @Order(6)
  void aRunIsPromotedBackByHandAndAFailedOneIsRefused() throws IOException {
    List<JsonNode> history =
        new Registry(
                registry().toString(), TestSpark.session().sparkContext().hadoopConfiguration())
            .history();
    String first = history.get(0).path("run_id").asText();
    String current = pointer().path("run_id").asText();
    assertNotEquals(first, current);
    Path conf = dir.resolve("promote.json");
    Files.writeString(conf, config("champion", NO_LEARNING, panx()));
    TestAccess.Cli refused =
        cli("retrain", "--conf", conf.toString(), "--promote", "missing-corpus");
    assertEquals(1, refused.code());
    assertTrue(refused.err().contains("did not succeed"), refused.err());
    TestAccess.Cli ok = cli("retrain", "--conf", conf.toString(), "--promote", first);
    assertEquals(0, ok.code(), ok.err());
    assertEquals(first, pointer().path("run_id").asText());
    assertEquals("manual", pointer().path("how").asText());
  }

  @Test
  @Order(7)
  void aRunWhoseRecordCannotBeWrittenAfterItsPromotionIsReadAsTheChampion() throws IOException {
    org.apache.hadoop.conf.Configuration hc =
        TestSpark.session().sparkContext().hadoopConfiguration();
    hc.set("fs." + FailingFs.SCHEME + ".impl", FailingFs.class.getName());
    hc.setBoolean("fs." + FailingFs.SCHEME + ".impl.disable.cache", true);
    String root = FailingFs.SCHEME + ":" + dir.resolve("failing-registry");
    String config =
        config("champion", NO_LEARNING, panx())
            .replace("\"registry\": \"" + registry() + "\"", "\"registry\": \"" + root + "\"");
    assertTrue(config.contains(root), config);
    // from the moment the promotion is written, every write into the registry fails (the storage is
    // lost)
    FailingFs.arm(
        p -> p.getName().equals("champion") || p.getName().matches("[0-9]{10}\\.json"),
        (op, p) -> p.toUri().getPath().contains("/failing-registry/"),
        -1);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    try {
      assertThrows(
          java.io.UncheckedIOException.class,
          () ->
              RetrainJob.run(
                  TestSpark.session(),
                  RetrainConfig.parse(config, "test-retrain.json"),
                  RetrainJob.Options.defaults(),
                  new PrintStream(console, true, StandardCharsets.UTF_8)));
    } finally {
      FailingFs.disarm();
    }
    Registry reg = new Registry(root, hc);
    String champion = reg.champion().orElseThrow().runId();
    JsonNode r = reg.readRun(champion);
    assertEquals("succeeded", r.path("status").asText(), r.path("promotion").toString());
    assertTrue(r.path("promoted").asBoolean(), r.toString());
    assertTrue(
        console.toString(StandardCharsets.UTF_8).contains("it is the champion"),
        console.toString(StandardCharsets.UTF_8));
    // the promotion is in the history
    assertEquals(champion, reg.history().get(0).path("run_id").asText());
  }

  private static JsonNode newestRun() throws IOException {
    try (var s = Files.list(registry().resolve("runs"))) {
      Path newest =
          s.filter(Files::isDirectory)
              .max(java.util.Comparator.comparing(p -> p.getFileName().toString()))
              .orElseThrow();
      return JSON.readTree(newest.resolve("run.json").toFile());
    }
  }

  static TestAccess.Cli cli(String... args) {
    return TestAccess.cli(args);
  }
}
