package io.sparkner.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code metrics.jsonl} (one JSON object per logging step and per evaluation, as the HF Trainer's
 * log history) and the live progress line with ETA on the driver's console.
 */
public final class MetricsLog {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String file;
  private final Configuration conf;
  private final PrintStream console;
  private final List<String> lines = new ArrayList<>();

  public MetricsLog(String file, Configuration conf, PrintStream console) {
    this.file = file;
    this.conf = conf;
    this.console = console;
    if (HadoopFiles.exists(file, conf)) { // a resumed run continues the history
      for (String l : HadoopFiles.readString(file, conf).split("\n")) {
        if (!l.isBlank()) {
          lines.add(l);
        }
      }
    }
  }

  public void step(Trainer.StepMetrics m) {
    ObjectNode o = JSON.createObjectNode();
    o.put("step", m.step());
    o.put("total_steps", m.totalSteps());
    o.put("epoch", round(m.epoch(), 4));
    o.put("loss", m.loss());
    o.put("learning_rate", m.learningRate());
    o.put("loss_scale", m.lossScale());
    o.put("grad_norm", m.gradNorm());
    o.put("tokens_per_second", round(m.tokensPerSecond(), 1));
    o.put("step_seconds", round(m.stepSeconds(), 4));
    o.put("skipped_steps", m.skippedSteps());
    Trainer.Breakdown b = m.breakdown();
    ObjectNode t = o.putObject("breakdown_seconds");
    t.put("forward_backward", round(b.forwardBackward(), 4));
    t.put("reduce_gradients", round(b.reduce(), 4));
    t.put("optimizer", round(b.optimizer(), 4));
    t.put("gather_parameters", round(b.gather(), 4));
    append(o);
    if (console != null) {
      console.println(format(o));
    }
  }

  /** The console line of one metrics.jsonl record: a training step with ETA, or an evaluation. */
  public static String format(com.fasterxml.jackson.databind.JsonNode m) {
    if (m.has("eval_f1")) {
      return String.format(
          Locale.ROOT,
          "eval after epoch %d: precision %.4f recall %.4f f1 %.4f (strict f1 %.4f) token accuracy"
              + " %.4f",
          m.path("epoch").asInt(),
          m.path("eval_precision").asDouble(),
          m.path("eval_recall").asDouble(),
          m.path("eval_f1").asDouble(),
          m.path("eval_strict_f1").asDouble(),
          m.path("eval_token_accuracy").asDouble());
    }
    long step = m.path("step").asLong();
    long total = m.path("total_steps").asLong(1);
    double remaining = (total - step) * m.path("step_seconds").asDouble();
    return String.format(
        Locale.ROOT,
        "step %d/%d (%3.0f%%) epoch %.2f loss %.4f lr %.2e scale %.0f grad %.3f %.0f tok/s"
            + " %.2fs/step ETA %s",
        step,
        total,
        100.0 * step / Math.max(1, total),
        m.path("epoch").asDouble(),
        m.path("loss").asDouble(),
        m.path("learning_rate").asDouble(),
        m.path("loss_scale").asDouble(),
        m.path("grad_norm").asDouble(),
        m.path("tokens_per_second").asDouble(),
        m.path("step_seconds").asDouble(),
        duration(remaining));
  }

  public void evaluation(long step, int epoch, ObjectNode metrics) {
    ObjectNode o = JSON.createObjectNode();
    o.put("step", step);
    o.put("epoch", epoch + 1);
    o.setAll(metrics);
    append(o);
    if (console != null) {
      console.println(format(o));
    }
  }

  private void append(ObjectNode o) {
    try {
      lines.add(JSON.writeValueAsString(o));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // write aside, then swap in: the driver may be reading the file while rank 0 writes it
    String tmp = file + ".tmp";
    HadoopFiles.writeString(tmp, String.join("\n", lines) + "\n", conf);
    HadoopFiles.replace(tmp, file, conf);
  }

  static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  static String duration(double seconds) {
    long s = Math.max(0, Math.round(seconds));
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }
}
