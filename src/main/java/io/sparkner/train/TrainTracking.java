package io.sparkner.train;

import io.sparkner.model.Checkpoints;
import io.sparkner.track.MetricsFollower;
import io.sparkner.track.Tracker;
import io.sparkner.track.Tracking;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The experiment tracking of one {@code train} run: with {@code MLFLOW_TRACKING_URI} set (and
 * {@code report_to} not leaving MLflow out), an MLflow run with the resolved configuration as
 * parameters, every {@code metrics.jsonl} record as metrics at its step while training runs, and
 * the fine-tuned model files as artifacts under {@code model/}; the run ends FINISHED, or FAILED
 * when training throws. Without the variable it does nothing at all.
 */
public final class TrainTracking implements AutoCloseable {
  /**
   * What goes to the tracker as the model: the Hugging Face files plus the run's records (no
   * checkpoints).
   */
  static final String[] MODEL_FILES = {
    Checkpoints.CONFIG,
    Checkpoints.WEIGHTS,
    Checkpoints.TOKENIZER,
    "training_config.json",
    "metrics.jsonl"
  };

  private final Tracker tracker;
  private final MetricsFollower follower;
  private final MetricsFollower.Listener forward;
  private final String output;
  private boolean ended;

  private TrainTracking(Tracker tracker, MetricsFollower follower, String output) {
    this.tracker = tracker;
    this.follower = follower;
    this.forward = MetricsFollower.toTracker(tracker);
    this.output = output;
    if (tracker.active()) {
      follower.subscribe(forward);
    }
  }

  static TrainTracking start(
      TrainingArguments args,
      TrainConfig config,
      TrainJob.Options o,
      String output,
      Configuration hconf,
      PrintStream console,
      MetricsFollower follower) {
    Map<String, String> env = Tracking.environment();
    boolean explicit = args.isExplicit("report_to");
    Tracker tracker = Tracker.NONE;
    if (!Tracking.requested(env)) {
      if (explicit && args.reportToMlflow()) {
        console.println(
            "note: report_to names mlflow, but "
                + Tracking.TRACKING_URI
                + " is not set: nothing is tracked");
      }
    } else if (explicit && !args.reportToMlflow()) {
      console.println(
          "note: "
              + Tracking.TRACKING_URI
              + " is set, but report_to "
              + args.reportTo()
              + " leaves MLflow out: nothing is tracked");
    } else {
      String runName =
          config.runName() != null ? config.runName() : "sparkner train " + lastSegment(output);
      Map<String, String> tags = new LinkedHashMap<>();
      tags.put("sparkner.output", Tracking.redactUri(output));
      tags.put("sparkner.data", Tracking.redactUri(o.data()));
      tags.put("sparkner.model", Tracking.redactUri(o.model()));
      tracker = Tracking.open(env, runName, tags, hconf, console);
      if (tracker.active()) {
        console.println("tracking: " + tracker.describe());
        tracker.params(params(config, o));
      }
    }
    return new TrainTracking(tracker, follower, output);
  }

  /** The parameters of a run: the resolved configuration, flattened, and the job's inputs. */
  static Map<String, String> params(TrainConfig config, TrainJob.Options o) {
    Map<String, String> p = new LinkedHashMap<>();
    flatten("", config.toMap(), p);
    p.put("data", Tracking.redactUri(o.data()));
    p.put("model", Tracking.redactUri(o.model()));
    p.put("conf", o.conf() == null ? "None" : Tracking.redactUri(o.conf()));
    p.put("deepspeed", o.deepspeed() == null ? "None" : Tracking.redactUri(o.deepspeed()));
    return p;
  }

  private static void flatten(String prefix, Map<?, ?> map, Map<String, String> out) {
    map.forEach(
        (k, v) -> {
          String key = prefix + k;
          if (v instanceof Map<?, ?> m) {
            flatten(key + ".", m, out);
          } else if (v instanceof List<?> l) {
            out.put(key, l.toString());
          } else {
            out.put(key, v == null ? "None" : String.valueOf(v));
          }
        });
  }

  /** Training finished and the model is written: the last metrics, the model files, FINISHED. */
  void succeeded() {
    follower.unsubscribe(forward);
    tracker.artifacts(output, "model", MODEL_FILES);
    tracker.finish(true);
    ended = true;
  }

  /** Ends the run FAILED unless {@link #succeeded()} was called. */
  @Override
  public void close() {
    if (!ended) {
      ended = true;
      follower.unsubscribe(forward);
      tracker.finish(false);
    }
  }

  private static String lastSegment(String path) {
    String p = path.replaceAll("/+$", "");
    return p.substring(p.lastIndexOf('/') + 1);
  }
}
