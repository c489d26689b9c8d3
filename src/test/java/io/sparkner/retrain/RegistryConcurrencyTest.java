package io.sparkner.retrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry as two retrain drivers see it: two {@link Registry} instances (no shared lock, as
 * two JVMs) on one directory, interleaved so that both read the champion before either writes;
 * failures injected between a promotion's writes and into the replacement of a file.
 */
class RegistryConcurrencyTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @AfterEach
  void disarm() {
    RacingFs.gate = null;
    FailingFs.disarm();
  }

  private String model(String run) throws IOException {
    Path m = dir.resolve("registry/runs/" + run + "/model");
    Files.createDirectories(m);
    Files.writeString(m.resolve("config.json"), "{}");
    return m.toUri().toString();
  }

  private Registry.Champion champion(String run, double f1) throws IOException {
    return new Registry.Champion(run, model(run), Registry.now(), f1, "retrain");
  }

  /**
   * Both drivers promote against {@code expected}, both having read the registry before either
   * writes.
   */
  private List<Boolean> race(
      Registry one,
      Registry two,
      Registry.Champion a,
      Registry.Champion b,
      Optional<Registry.Champion> expected)
      throws Exception {
    RacingFs.gate(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Boolean> fa = pool.submit(() -> one.promote(a, expected));
      Future<Boolean> fb = pool.submit(() -> two.promote(b, expected));
      List<Boolean> out = new ArrayList<>(List.of(fa.get(), fb.get()));
      RacingFs.gate = null;
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void twoDriversPromotingAgainstTheSameChampionCannotBothWin() throws Exception {
    Configuration conf = RacingFs.conf();
    String root = dir.resolve("registry").toString();
    Registry one = new Registry(root, conf);
    Registry two = new Registry(root, conf);

    // the first promotion of an empty registry: both see no champion
    List<Boolean> first = race(one, two, champion("a", 0.5), champion("b", 0.6), Optional.empty());
    assertEquals(
        1, first.stream().filter(won -> won).count(), "exactly one driver promotes, got " + first);
    String winner = first.get(0) ? "a" : "b";
    assertEquals(winner, one.champion().orElseThrow().runId());
    assertEquals(winner, two.champion().orElseThrow().runId());

    // then both against that champion
    Optional<Registry.Champion> current = one.champion();
    List<Boolean> second = race(one, two, champion("c", 0.7), champion("d", 0.8), current);
    assertEquals(
        1,
        second.stream().filter(won -> won).count(),
        "exactly one driver promotes, got " + second);
    String winner2 = second.get(0) ? "c" : "d";
    assertEquals(winner2, two.champion().orElseThrow().runId());

    // the history has each winner once, each naming the champion it replaced
    List<JsonNode> history = one.history();
    assertEquals(
        List.of(winner, winner2), history.stream().map(h -> h.path("run_id").asText()).toList());
    assertEquals(winner, history.get(1).path("previous").asText());
    // the copy that notebooks read names the champion
    assertEquals(
        winner2, JSON.readTree(dir.resolve("registry/champion").toFile()).path("run_id").asText());
    try (var s = Files.walk(dir.resolve("registry"))) {
      assertEquals(
          List.of(),
          s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList(),
          "no temporary file is left");
    }
  }

  @Test
  void theLoserOfARaceIsToldWhoWon() throws Exception {
    Configuration conf = RacingFs.conf();
    String root = dir.resolve("registry").toString();
    Registry one = new Registry(root, conf);
    Registry two = new Registry(root, conf);
    assertTrue(one.promote(champion("a", 0.5), 0).promoted());
    RacingFs.gate(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Registry.Promotion> results;
    try {
      Future<Registry.Promotion> fb = pool.submit(() -> one.promote(champion("b", 0.6), 1));
      Future<Registry.Promotion> fc = pool.submit(() -> two.promote(champion("c", 0.7), 1));
      results = List.of(fb.get(), fc.get());
    } finally {
      pool.shutdownNow();
    }
    Registry.Promotion won =
        results.stream().filter(Registry.Promotion::promoted).findFirst().orElseThrow();
    Registry.Promotion lost = results.stream().filter(p -> !p.promoted()).findFirst().orElseThrow();
    assertEquals(2, won.generation());
    assertEquals(2, lost.generation());
    String winner = won.newest().orElseThrow().champion().runId();
    assertEquals(
        winner,
        lost.newest().orElseThrow().champion().runId(),
        "the loser reads the winner's generation");
    assertTrue(lost.holder().startsWith(winner + " (generation 2)"), lost.holder());
    assertEquals(winner, one.champion().orElseThrow().runId());
    assertEquals("a", one.generation(2).orElseThrow().previousRunId());
  }

  /** A registry on failfs: (no FileContext, like a file system with a FileSystem class only). */
  private Registry failing() {
    return new Registry(FailingFs.SCHEME + ":" + dir.resolve("registry"), FailingFs.conf());
  }

  private static boolean under(org.apache.hadoop.fs.Path p, String part) {
    return p.toUri().getPath().contains(part);
  }

  @Test
  void aReplacedFileIsNeverMissingWhenTheFileSystemCannotRenameOver() throws Exception {
    Registry reg = failing();
    ObjectNode v1 =
        JSON.createObjectNode().put("run_id", "r").put("status", "running").put("stage", "train");
    reg.writeRun("r", v1);
    ObjectNode v2 = v1.deepCopy().put("stage", "evaluate");
    reg.writeRun("r", v2);
    assertEquals("evaluate", reg.readRun("r").path("stage").asText());
    // the new version's rename into place fails: the previous version is still read
    FailingFs.arm(
        p -> true,
        (op, p) ->
            op.equals("rename")
                && p.getName().startsWith(".run.json")
                && p.getName().endsWith(".tmp"),
        1);
    FailingFs.armed = true;
    ObjectNode v3 = v1.deepCopy().put("stage", "decide");
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> reg.writeRun("r", v3));
    assertTrue(e.getMessage().contains("injected failure"), e.getMessage());
    assertEquals(
        "evaluate", reg.readRun("r").path("stage").asText(), "the last complete version is read");
    // and the next write goes through
    reg.writeRun("r", v3);
    assertEquals("decide", reg.readRun("r").path("stage").asText());
    assertFalse(
        Files.exists(dir.resolve("registry/runs/r/.run.json.prev")),
        "the previous version is removed once replaced");
  }

  /**
   * The same guarantee for every file replaced through {@code HadoopFiles.replace} (the training
   * metrics log, checkpoint manifests): a failed move of the new version leaves the old one in
   * place.
   */
  @Test
  void aFailedReplaceLeavesThePreviousVersionInPlace() throws Exception {
    String target = FailingFs.SCHEME + ":" + dir.resolve("metrics.jsonl");
    String next = FailingFs.SCHEME + ":" + dir.resolve(".metrics.jsonl.tmp");
    Configuration conf = FailingFs.conf();
    io.sparkner.storage.HadoopFiles.writeString(target, "old\n", conf);
    io.sparkner.storage.HadoopFiles.writeString(next, "new\n", conf);
    FailingFs.arm(
        p -> true, (op, p) -> op.equals("rename") && p.getName().equals(".metrics.jsonl.tmp"), 1);
    FailingFs.armed = true;
    UncheckedIOException e =
        assertThrows(
            UncheckedIOException.class,
            () -> io.sparkner.storage.HadoopFiles.replace(next, target, conf));
    assertTrue(e.getMessage().contains("metrics.jsonl"), e.getMessage());
    assertEquals(
        "old\n",
        Files.readString(dir.resolve("metrics.jsonl")),
        "the previous version is still there");
    assertFalse(Files.exists(dir.resolve(".metrics.jsonl.prev")), "and not left aside");
    io.sparkner.storage.HadoopFiles.replace(next, target, conf);
    assertEquals("new\n", Files.readString(dir.resolve("metrics.jsonl")));
    assertFalse(Files.exists(dir.resolve(".metrics.jsonl.tmp")));
  }

  /** A record as a run that reached the promote stage has it. */
  private ObjectNode runRecord(String runId) {
    return JSON.createObjectNode()
        .put("run_id", runId)
        .put("status", "running")
        .put("stage", "promote")
        .put("started_at", Registry.now());
  }

  @Test
  void aFailureAfterThePromotionLeavesTheRunRecordedAsTheChampion() throws Exception {
    Registry reg = failing();
    assertTrue(reg.promote(champion("a", 0.5), 0).promoted());
    reg.writeRun("b", runRecord("b"));
    RunRecord run = new RunRecord(reg, "b");
    // from the moment generation 2 exists, every write of b's record fails
    FailingFs.arm(
        p -> p.getName().matches("[0-9]{10}\\.json"), (op, p) -> under(p, "/runs/b/"), -1);
    Registry.Promotion p = RetrainJob.promote(reg, run, champion("b", 0.6), 1, "a");
    assertTrue(p.promoted());
    UncheckedIOException save = assertThrows(UncheckedIOException.class, () -> run.succeeded(true));
    assertTrue(run.failed(save), "the run is the champion, so the failure is not a failed run");
    assertTrue(
        save.getSuppressed().length > 0, "the failed write of the failure is reported with it");

    assertEquals("b", reg.champion().orElseThrow().runId());
    JsonNode stored = JSON.readTree(dir.resolve("registry/runs/b/run.json").toFile());
    assertEquals(
        "pending",
        stored.path("promotion").path("status").asText(),
        "what reached the storage: the record saved before the promotion");
    JsonNode read = reg.readRun("b");
    assertEquals("succeeded", read.path("status").asText(), read.toString());
    assertTrue(read.path("promoted").asBoolean(), read.toString());
    assertEquals("promoted", read.path("promotion").path("status").asText());
    assertEquals(2, read.path("promotion").path("generation").asLong());
    assertEquals("b", new RunRecord(reg, "b").root().path("run_id").asText());
  }

  @Test
  void aRecordWriteThatFailsOnceIsRepairedByTheFailureHandler() throws Exception {
    Registry reg = failing();
    assertTrue(reg.promote(champion("a", 0.5), 0).promoted());
    reg.writeRun("b", runRecord("b"));
    RunRecord run = new RunRecord(reg, "b");
    FailingFs.arm(p -> p.getName().matches("[0-9]{10}\\.json"), (op, p) -> under(p, "/runs/b/"), 1);
    assertTrue(RetrainJob.promote(reg, run, champion("b", 0.6), 1, "a").promoted());
    UncheckedIOException save = assertThrows(UncheckedIOException.class, () -> run.succeeded(true));
    assertTrue(run.failed(save));
    JsonNode stored = JSON.readTree(dir.resolve("registry/runs/b/run.json").toFile());
    assertEquals("succeeded", stored.path("status").asText(), stored.toString());
    assertTrue(stored.path("promoted").asBoolean());
    assertTrue(
        stored.path("error_after_promotion").path("message").asText().contains("injected failure"),
        stored.toString());
    assertFalse(stored.has("error"), "a promoted run is not recorded with a run error");
  }

  @Test
  void aFailedCopyDoesNotUndoThePromotionAndIsRepairedLater() throws Exception {
    Registry reg = failing();
    assertTrue(reg.promote(champion("a", 0.5), 0).promoted());
    reg.writeRun("b", runRecord("b"));
    RunRecord run = new RunRecord(reg, "b");
    FailingFs.arm(
        p -> p.getName().matches("[0-9]{10}\\.json"),
        (op, p) -> p.getName().startsWith(".champion."),
        -1);
    Registry.Promotion p = RetrainJob.promote(reg, run, champion("b", 0.6), 1, "a");
    assertTrue(p.promoted());
    assertNotNull(p.copyWarning());
    assertTrue(p.copyWarning().contains("was not refreshed"), p.copyWarning());
    run.succeeded(true);
    JsonNode read = reg.readRun("b");
    assertTrue(read.path("promoted").asBoolean());
    assertTrue(
        read.path("promotion").path("copy_warning").asText().contains("was not refreshed"),
        read.toString());
    assertEquals(
        "b", reg.champion().orElseThrow().runId(), "the generation decides, not the stale copy");
    assertEquals(
        "a", JSON.readTree(dir.resolve("registry/champion").toFile()).path("run_id").asText());
    FailingFs.disarm();
    reg.refreshPointer(); // what the next run does first
    assertEquals(
        "b", JSON.readTree(dir.resolve("registry/champion").toFile()).path("run_id").asText());
  }

  @Test
  void aRunThatStartedFromAnOlderGenerationRecordsTheConflict() throws Exception {
    Registry reg = failing();
    assertTrue(reg.promote(champion("a", 0.5), 0).promoted());
    assertTrue(reg.promote(champion("b", 0.6), 1).promoted());
    reg.writeRun("c", runRecord("c"));
    RunRecord run = new RunRecord(reg, "c");
    Registry.Promotion p = RetrainJob.promote(reg, run, champion("c", 0.9), 1, "a");
    assertFalse(p.promoted());
    run.succeeded(false);
    JsonNode read = reg.readRun("c");
    assertEquals("succeeded", read.path("status").asText());
    assertFalse(read.path("promoted").asBoolean());
    assertEquals("conflict", read.path("promotion").path("status").asText(), read.toString());
    assertTrue(
        read.path("promotion").path("champion").asText().startsWith("b (generation 2)"),
        read.toString());
    assertEquals("b", reg.champion().orElseThrow().runId());
    assertEquals(2, reg.history().size(), "nothing was written for the run that lost");
  }

  @Test
  void aPendingRecordWhoseGenerationWentToAnotherRunReadsAsAConflict() throws Exception {
    Registry reg = failing();
    assertTrue(reg.promote(champion("a", 0.5), 0).promoted());
    ObjectNode pending = runRecord("c");
    pending
        .putObject("promotion")
        .put("status", "pending")
        .put("generation", 2)
        .put("expected_generation", 1);
    reg.writeRun("c", pending);
    assertEquals(
        "pending",
        reg.readRun("c").path("promotion").path("status").asText(),
        "nobody holds generation 2 yet");
    assertFalse(reg.readRun("c").path("promoted").asBoolean());
    assertTrue(reg.promote(champion("d", 0.7), 1).promoted());
    JsonNode read = reg.readRun("c");
    assertEquals("conflict", read.path("promotion").path("status").asText(), read.toString());
    assertFalse(read.path("promoted").asBoolean());
    assertTrue(
        read.path("promotion").path("champion").asText().startsWith("d (generation 2)"),
        read.toString());
    IllegalArgumentException none =
        assertThrows(IllegalArgumentException.class, () -> reg.readRun("nope"));
    assertTrue(none.getMessage().contains("no run nope"), none.getMessage());
  }

  @Test
  void aRegistryFromBeforeGenerationsKeepsItsChampionAndHistory() throws Exception {
    Path r = dir.resolve("registry");
    Files.createDirectories(r);
    String a = model("a");
    Files.writeString(
        r.resolve("champion"),
        "{\"run_id\": \"a\", \"model\": \""
            + a
            + "\", \"promoted_at\": \"x\", \"micro_f1\": 0.5, \"how\": \"retrain\"}");
    Files.writeString(
        r.resolve("champion-history.jsonl"), "{\"run_id\": \"a\", \"previous\": null}\n");
    Registry reg = new Registry(r.toString(), new Configuration());
    assertEquals(0, reg.newest().orElseThrow().number());
    assertEquals("a", reg.champion().orElseThrow().runId());
    assertFalse(reg.promote(champion("b", 0.6), 1).promoted(), "generation 1 is not what is there");
    assertTrue(reg.promote(champion("b", 0.6), 0).promoted());
    assertEquals("b", reg.champion().orElseThrow().runId());
    assertEquals(
        List.of("a", "b"), reg.history().stream().map(h -> h.path("run_id").asText()).toList());
    assertEquals("a", reg.history().get(1).path("previous").asText());
    assertEquals("b", JSON.readTree(r.resolve("champion").toFile()).path("run_id").asText());
  }
}
