package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sparkner.storage.Redaction;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.apache.spark.sql.SparkSession;

/**
 * A run's {@code run.json}, written at the start, at each stage and at the end: status ({@code
 * running}, {@code succeeded}, {@code failed}), the stage reached, the configuration, the inputs,
 * the metrics, the decision and its reasons, or the error.
 *
 * <p>A promotion writes two things: the generation file (which moves the champion) and then this
 * record. So the record is saved with {@code "promotion": {"status": "pending", "generation": N}}
 * before the generation is created, and with {@code promoted} or {@code conflict} after. Whatever
 * fails in between (the record write, the driver), the stored record is at worst {@code pending},
 * and {@link #RunRecord(Registry, String) reading it} settles that against generation N: the run
 * that holds it is the champion and is read as {@code succeeded} and promoted, whatever else was
 * recorded; a run whose generation is held by another lost the race.
 */
final class RunRecord {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Registry registry;
  private final String runId;
  private final ObjectNode root;
  private final Instant started;
  private RetrainJob.Stage stage;

  RunRecord(Registry registry, String runId, RetrainConfig cfg, SparkSession spark) {
    this.registry = registry;
    this.runId = runId;
    this.root = JSON.createObjectNode();
    this.started = Instant.now();
    root.put("run_id", runId);
    root.put("status", "running");
    root.putNull("stage");
    root.put("started_at", Registry.now());
    root.put("registry", registry.root());
    root.put("config_file", cfg.source());
    root.set("config", cfg.json());
    ObjectNode s = root.putObject("spark");
    s.put("version", spark.version());
    s.put("master", spark.sparkContext().master());
    s.put("application_id", spark.sparkContext().applicationId());
    s.put("user", spark.sparkContext().sparkUser());
    String v = RunRecord.class.getPackage().getImplementationVersion();
    root.put("sparkner_version", v == null ? "dev" : v);
  }

  /**
   * Reads a run's record, a pending promotion settled against the registry's generations.
   *
   * @throws IllegalArgumentException when the run has no record
   */
  RunRecord(Registry registry, String runId) {
    this.registry = registry;
    this.runId = Registry.checkRunId(runId);
    JsonNode stored = registry.readRunAsStored(runId);
    if (stored == null || !stored.isObject()) {
      throw new IllegalArgumentException(
          "no run "
              + runId
              + " in "
              + registry.root()
              + " ("
              + registry.runDir(runId)
              + "/run.json "
              + (stored == null ? "does not exist)" : "is not a JSON object)"));
    }
    this.root = (ObjectNode) stored.deepCopy();
    Instant t;
    try {
      t = Instant.parse(root.path("started_at").asText());
    } catch (java.time.format.DateTimeParseException e) {
      t = Instant.now();
    }
    this.started = t;
    String s = root.path("stage").asText(null);
    for (RetrainJob.Stage st : RetrainJob.Stage.values()) {
      if (st.label().equals(s)) {
        stage = st;
      }
    }
    settle();
  }

  ObjectNode root() {
    return root;
  }

  /** The promotion's state: pending, promoted, conflict, or null when none was attempted. */
  String promotionStatus() {
    return root.path("promotion").path("status").asText(null);
  }

  /**
   * Saves the record as {@code pending} on generation {@code expectedGeneration + 1}, before the
   * promotion: from now on a reader settles the record against that generation.
   */
  void promotionPending(long expectedGeneration, String expectedRun) {
    ObjectNode p = root.putObject("promotion");
    p.put("status", "pending");
    p.put("generation", expectedGeneration + 1);
    p.put("file", registry.generationFile(expectedGeneration + 1));
    p.put("expected_generation", expectedGeneration);
    p.put("expected_run", expectedRun);
    save();
  }

  /** Records what the promotion did (saved by the next {@link #save}). */
  void promotionResult(Registry.Promotion result) {
    ObjectNode p = (ObjectNode) root.get("promotion");
    p.put("status", result.promoted() ? "promoted" : "conflict");
    p.put("generation", result.generation());
    if (!result.promoted()) {
      p.put("champion", result.holder());
    }
    if (result.copyWarning() != null) {
      p.put("copy_warning", result.copyWarning());
    }
  }

  /**
   * A pending promotion against the generation it aimed at: held by this run, the run promoted;
   * held by another, the run lost the race; absent, it stays pending (the promotion is under way,
   * or the driver stopped before it). Returns true when the run turns out promoted. A failure to
   * read the registry leaves the record as it is.
   */
  private boolean settle() {
    if (!"pending".equals(promotionStatus())) {
      return "promoted".equals(promotionStatus());
    }
    ObjectNode p = (ObjectNode) root.get("promotion");
    long n = p.path("generation").asLong(0);
    Optional<Registry.Generation> g;
    try {
      g = registry.generation(n);
    } catch (RuntimeException e) {
      return false;
    }
    if (g.isEmpty()) {
      return false;
    }
    if (g.get().champion().runId().equals(runId) && "retrain".equals(g.get().champion().how())) {
      p.put("status", "promoted");
      p.put(
          "settled",
          "run.json was saved before the promotion and not after it; "
              + g.get().file()
              + " names this run");
      root.put("status", "succeeded");
      root.put("promoted", true);
      return true;
    }
    p.put("status", "conflict");
    p.put("champion", g.get().champion().runId() + " (generation " + n + ")");
    p.put(
        "settled",
        "run.json was saved before the promotion and not after it; "
            + g.get().file()
            + " names "
            + g.get().champion().runId());
    root.put("promoted", false);
    return false;
  }

  RetrainJob.Stage stage() {
    return stage;
  }

  /** Enters a stage and saves the record. */
  void stage(RetrainJob.Stage s) {
    stage = s;
    root.put("stage", s.label());
    if (!root.has("stage_started_at")) {
      root.putObject("stage_started_at");
    }
    ((ObjectNode) root.get("stage_started_at")).put(s.label(), Registry.now());
    save();
  }

  /**
   * Writes run.json; every string in it as {@link Redaction} shows it (no credentials in URIs,
   * messages, traces).
   */
  void save() {
    root.put(
        "seconds", Math.round(Duration.between(started, Instant.now()).toMillis() / 100.0) / 10.0);
    registry.writeRun(runId, (ObjectNode) redacted(root));
  }

  private JsonNode redacted(JsonNode n) {
    if (n.isTextual()) {
      return TextNode.valueOf(Redaction.text(n.asText(), registry.conf()));
    }
    if (n.isObject()) {
      ObjectNode o = JSON.createObjectNode();
      n.fields().forEachRemaining(e -> o.set(e.getKey(), redacted(e.getValue())));
      return o;
    }
    if (n.isArray()) {
      ArrayNode a = JSON.createArrayNode();
      n.forEach(e -> a.add(redacted(e)));
      return a;
    }
    return n;
  }

  void succeeded(boolean promoted) {
    root.put("status", "succeeded");
    root.put("promoted", promoted);
    root.put("finished_at", Registry.now());
    save();
  }

  /**
   * Records the failure; a failure to record it is added to the original error, never replaces it.
   * When the failure came after this run's generation was created (the record's own write, the
   * copy), the run is the champion: it is recorded as succeeded and promoted, with the error.
   *
   * @return true when the run is the champion nonetheless
   */
  boolean failed(Throwable e) {
    boolean promoted = false;
    try {
      promoted = settle();
      root.put("status", promoted ? "succeeded" : "failed");
      root.put("promoted", promoted);
      root.put("finished_at", Registry.now());
      ObjectNode err = root.putObject(promoted ? "error_after_promotion" : "error");
      err.put("stage", stage == null ? "start" : stage.label());
      err.put("type", e.getClass().getName());
      err.put("message", String.valueOf(e.getMessage()));
      StringWriter trace = new StringWriter();
      e.printStackTrace(new PrintWriter(trace));
      String t = trace.toString();
      err.put("trace", t.length() > 20_000 ? t.substring(0, 20_000) + "\n..." : t);
      save();
    } catch (RuntimeException recording) {
      e.addSuppressed(recording);
    }
    return promoted;
  }
}
