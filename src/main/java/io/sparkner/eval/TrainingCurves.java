package io.sparkner.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;

/**
 * The training curves of a checkpoint, from the {@code metrics.jsonl} that training wrote into it
 * (see {@link io.sparkner.train.MetricsLog}): per logged step the loss, learning rate, loss scale
 * and gradient norm; per evaluation the validation precision, recall and F1 (default and strict). A
 * resumed run logs the steps after its last checkpoint again: the last record of a step wins. A
 * long history is thinned to at most {@value #MAX_POINTS} steps (every k-th and the last), and
 * {@code thinned_every} says so.
 */
public final class TrainingCurves {
  static final int MAX_POINTS = 1000;
  static final String FILE = "metrics.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> STEP_FIELDS =
      List.of("step", "epoch", "loss", "learning_rate", "loss_scale", "grad_norm");
  private static final List<String> EVAL_FIELDS =
      List.of(
          "step",
          "epoch",
          "eval_precision",
          "eval_recall",
          "eval_f1",
          "eval_strict_f1",
          "eval_token_accuracy");

  private TrainingCurves() {}

  /** {@code {"source", "present", "steps": [...], "evaluations": [...], "thinned_every"}}. */
  public static ObjectNode read(String modelDir, Configuration conf) {
    String file = modelDir + "/" + FILE;
    if (!HadoopFiles.exists(file, conf)) {
      ObjectNode o = JSON.createObjectNode();
      o.put("source", Redaction.uri(file));
      o.put("present", false);
      o.putArray("steps");
      o.putArray("evaluations");
      o.put("thinned_every", 1);
      return o;
    }
    return parse(HadoopFiles.readString(file, conf), file);
  }

  static ObjectNode parse(String jsonl, String source) {
    TreeMap<Long, JsonNode> steps = new TreeMap<>();
    TreeMap<Long, JsonNode> evals = new TreeMap<>();
    String[] lines = jsonl.split("\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      JsonNode m;
      try {
        m = JSON.readTree(lines[i]);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            source + " line " + (i + 1) + " is not JSON: " + e.getMessage(), e);
      }
      if (!m.path("step").canConvertToLong()) {
        throw new IllegalArgumentException(
            source + " line " + (i + 1) + " has no numeric \"step\"");
      }
      (m.has("eval_f1") ? evals : steps).put(m.path("step").asLong(), m);
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("source", Redaction.uri(source));
    o.put("present", true);
    int every = Math.max(1, (steps.size() + MAX_POINTS - 1) / MAX_POINTS);
    ArrayNode s = o.putArray("steps");
    List<JsonNode> all = new ArrayList<>(steps.values());
    for (int i = 0; i < all.size(); i++) {
      if (i % every == 0 || i == all.size() - 1) {
        s.add(pick(all.get(i), STEP_FIELDS));
      }
    }
    ArrayNode e = o.putArray("evaluations");
    evals.values().forEach(m -> e.add(pick(m, EVAL_FIELDS)));
    o.put("thinned_every", every);
    return o;
  }

  private static ObjectNode pick(JsonNode m, List<String> fields) {
    ObjectNode o = JSON.createObjectNode();
    for (String f : fields) {
      if (m.has(f)) {
        o.set(f, m.get(f));
      }
    }
    return o;
  }
}
