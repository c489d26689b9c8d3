package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.Redaction;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import org.apache.spark.sql.SparkSession;

/**
 * A run's {@code run.json}, written at the start, at each stage and at the end: status ({@code
 * running}, {@code succeeded}, {@code failed}), the stage reached, the configuration, the inputs,
 * the metrics, the decision and its reasons, or the error.
 */
final class RunRecord {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Registry registry;
  private final String runId;
  private final ObjectNode root = JSON.createObjectNode();
  private final Instant started = Instant.now();
  private RetrainJob.Stage stage;

  RunRecord(Registry registry, String runId, RetrainConfig cfg, SparkSession spark) {
    this.registry = registry;
    this.runId = runId;
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

  ObjectNode root() {
    return root;
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

  /** Writes run.json; every string in it as {@link Redaction} shows it (no credentials in URIs, messages, traces). */
  void save() {
    root.put("seconds", Math.round(Duration.between(started, Instant.now()).toMillis() / 100.0) / 10.0);
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

  /** Records the failure; a failure to record it is added to the original error, never replaces it. */
  void failed(Throwable e) {
    try {
      root.put("status", "failed");
      root.put("promoted", false);
      root.put("finished_at", Registry.now());
      ObjectNode err = root.putObject("error");
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
  }
}
