package io.sparkner.track;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows a training's {@code metrics.jsonl} on the driver while the training runs and hands each
 * new record to its listeners (the console's progress line, the experiment tracker): the file is
 * where every replica setup (one replica on the driver, N in a barrier stage on executors) writes
 * its logging steps and evaluations, so the driver follows it rather than the executors talking to
 * the driver. One follower per run, one polling thread, started by the first listener.
 *
 * <p>Each poll reads only the bytes after the last complete line it delivered: it remembers that
 * offset and the line that ends there, and checks that line is still in place. A line is delivered
 * once its newline is written; a partial last line waits for the next poll. When the file was
 * replaced by one that does not continue it (shorter, or another line at the offset: a resumed run
 * rewrote it), the follower reads it again from the start. A line is delivered at most once: one
 * that was delivered before (from an earlier version of the file) is not delivered again. A file
 * that is briefly absent (moved aside while it is replaced) is looked at again at the next poll.
 */
public final class MetricsFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetricsFollower.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> NOT_METRICS = Set.of("step", "total_steps");

  /**
   * Receives each record of the file once, in file order, on the follower's thread (or a caller of
   * {@link #poll}).
   */
  @FunctionalInterface
  public interface Listener {
    void record(JsonNode record);
  }

  private final String file;
  private final Configuration conf;
  private final long intervalMillis;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final Set<Long> delivered = new HashSet<>();
  private long offset;
  private byte[] lastLine = new byte[0];
  private long lineNumber;
  private Thread thread;
  private volatile boolean running = true;

  public MetricsFollower(String file, Configuration conf, long intervalMillis) {
    this.file = file;
    this.conf = conf;
    this.intervalMillis = intervalMillis;
  }

  /** Adds a listener; the first one starts the polling thread (a daemon). */
  public synchronized MetricsFollower subscribe(Listener listener) {
    listeners.add(listener);
    if (thread == null && running) {
      thread = new Thread(this::loop, "sparkner-metrics-follower");
      thread.setDaemon(true);
      thread.start();
    }
    return this;
  }

  /** Removes a listener after a last {@link #poll}: it has seen every record written so far. */
  public void unsubscribe(Listener listener) {
    poll();
    listeners.remove(listener);
  }

  /**
   * A listener that forwards each record to {@code tracker} as one metrics step ({@link #values}).
   */
  public static Listener toTracker(Tracker tracker) {
    return m -> tracker.metrics(m.path("step").asLong(), values(m));
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

  /**
   * Delivers the records completed since the last call; what cannot be read now is read at the next
   * one.
   */
  public synchronized void poll() {
    if (listeners.isEmpty()) {
      return;
    }
    Path path = HadoopFiles.path(file);
    byte[] fresh = null;
    long start = 0;
    boolean again = false;
    try {
      FileSystem fs = path.getFileSystem(conf);
      long length = fs.getFileStatus(path).getLen();
      try (FSDataInputStream in = fs.open(path)) {
        if (offset > 0) {
          if (length >= offset) {
            in.seek(offset - lastLine.length);
            byte[] read = in.readAllBytes();
            if (read.length >= lastLine.length
                && Arrays.equals(read, 0, lastLine.length, lastLine, 0, lastLine.length)) {
              fresh = Arrays.copyOfRange(read, lastLine.length, read.length);
              start = offset;
            }
          }
          if (fresh == null) {
            again = true; // replaced by a version that does not continue what was delivered
            in.seek(0);
          }
        }
        if (fresh == null) {
          fresh = in.readAllBytes();
        }
      }
    } catch (FileNotFoundException e) {
      return; // absent, or moved aside by a replace between the look and the read
    } catch (IOException | RuntimeException e) {
      LOG.debug(
          "cannot read {} now, trying again at the next poll: {}",
          Redaction.uri(file),
          Redaction.text(e.toString(), conf));
      return;
    }
    if (again) {
      lineNumber = 0;
      LOG.info(
          "{} was replaced; reading it again from the start (records already delivered are"
              + " skipped)",
          Redaction.uri(file));
    }
    deliver(fresh, start);
  }

  private void deliver(byte[] bytes, long start) {
    int from = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] != '\n') {
        continue;
      }
      byte[] line = Arrays.copyOfRange(bytes, from, i + 1);
      from = i + 1;
      offset = start + from;
      lastLine = line;
      lineNumber++;
      String text = new String(line, 0, line.length - 1, StandardCharsets.UTF_8);
      if (text.isBlank()) {
        continue;
      }
      if (!delivered.add(hash(line))) {
        continue; // the same record in a version written before this one
      }
      JsonNode record;
      try {
        record = JSON.readTree(text);
      } catch (JsonProcessingException e) {
        LOG.warn(
            "{} line {} is not a JSON record; skipped: {}",
            Redaction.uri(file),
            lineNumber,
            e.getOriginalMessage());
        continue;
      }
      for (Listener l : listeners) {
        try {
          l.record(record);
        } catch (RuntimeException e) {
          LOG.warn(
              "a metrics listener failed on {} line {}: {}",
              Redaction.uri(file),
              lineNumber,
              e.toString());
        }
      }
    }
  }

  /** FNV-1a, 64 bits: which lines were delivered, without keeping them. */
  private static long hash(byte[] line) {
    long h = 0xcbf29ce484222325L;
    for (byte b : line) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  /** The metrics of one record: every numeric field except the step counters. */
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

  /** Stops polling and delivers what is left. */
  @Override
  public void close() {
    Thread t;
    synchronized (this) {
      running = false;
      t = thread;
    }
    if (t != null) {
      t.interrupt();
      try {
        t.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    poll();
  }
}
