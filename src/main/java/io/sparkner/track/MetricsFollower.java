package io.sparkner.track;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.storage.HadoopFiles;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/**
 * Forwards the records of a training's {@code metrics.jsonl} to a tracker, on the driver, while
 * the training runs: the file is where every replica setup (one replica on the driver, N in a
 * barrier stage on executors) writes its logging steps and evaluations, so the driver follows it
 * rather than the executors talking to the tracking server. Each record becomes one metrics step:
 * every numeric field except the step counters, at {@code step}.
 */
public final class MetricsFollower implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> NOT_METRICS = Set.of("step", "total_steps");

  private final String file;
  private final Configuration conf;
  private final Tracker tracker;
  private final long intervalMillis;
  private int forwarded;
  private Thread thread;
  private volatile boolean running = true;

  public MetricsFollower(String file, Configuration conf, Tracker tracker, long intervalMillis) {
    this.file = file;
    this.conf = conf;
    this.tracker = tracker;
    this.intervalMillis = intervalMillis;
  }

  /** Starts polling (a daemon thread), unless the tracker tracks nothing. */
  public MetricsFollower start() {
    if (tracker.active()) {
      thread = new Thread(this::loop, "sparkner-metrics-tracking");
      thread.setDaemon(true);
      thread.start();
    }
    return this;
  }

  private void loop() {
    while (running) {
      try {
        Thread.sleep(intervalMillis);
      } catch (InterruptedException e) {
        return;
      }
      poll();
    }
  }

  /** Forwards the records written since the last call; a half-written file is read again later. */
  public synchronized void poll() {
    if (!tracker.active()) {
      return;
    }
    try {
      if (!HadoopFiles.exists(file, conf)) {
        return;
      }
      String[] lines = HadoopFiles.readString(file, conf).split("\n");
      for (int i = forwarded; i < lines.length; i++) {
        if (!lines[i].isBlank()) {
          JsonNode m = JSON.readTree(lines[i]);
          tracker.metrics(m.path("step").asLong(), values(m));
        }
        forwarded = i + 1;
      }
    } catch (Exception e) {
      // metrics.jsonl is swapped in whole; a failed read is retried at the next poll
    }
  }

  static Map<String, Double> values(JsonNode record) {
    Map<String, Double> out = new LinkedHashMap<>();
    record
        .fields()
        .forEachRemaining(
            e -> {
              if (!NOT_METRICS.contains(e.getKey()) && e.getValue().isNumber()) {
                out.put(e.getKey(), e.getValue().asDouble());
              }
            });
    return out;
  }

  /** Stops polling and forwards what is left. */
  @Override
  public void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    poll();
  }
}
