package io.sparkner.retrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.UnsupportedFileSystemException;

/**
 * The model registry of {@code sparkner retrain}, a directory on any Hadoop file system:
 *
 * <pre>
 * &lt;registry&gt;/champion                  the pointer: {"run_id", "model", "promoted_at", "micro_f1", ...}
 * &lt;registry&gt;/champion-history.jsonl    every promotion, oldest first (retrain and manual)
 * &lt;registry&gt;/base/                     the initialised base model, when the configuration makes one
 * &lt;registry&gt;/runs/&lt;run-id&gt;/run.json     inputs, configuration, metrics, decision and reasons, or the error
 * &lt;registry&gt;/runs/&lt;run-id&gt;/model/      the challenger (a Hugging Face checkpoint)
 * &lt;registry&gt;/runs/&lt;run-id&gt;/prepared/   its prepared data; eval/{challenger,champion}/ the reports
 * </pre>
 *
 * <p>The pointer is the only thing that says which model is the champion, and it changes in one
 * step: the new pointer is written beside it and renamed over it ({@link FileContext#rename} with
 * OVERWRITE, atomic on HDFS and local file systems; an object store's rename is a copy, still of
 * one complete small file). Readers see the old champion or the new one, never a partial file.
 */
public final class Registry {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final DateTimeFormatter RUN_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final String root;
  private final Configuration conf;

  /** @param root the registry directory, any Hadoop path (qualified here) */
  public Registry(String root, Configuration conf) {
    this.root = HadoopFiles.qualify(root, conf);
    this.conf = conf;
  }

  public String root() {
    return root;
  }

  Configuration conf() {
    return conf;
  }

  public String pointer() {
    return root + "/champion";
  }

  public String runDir(String runId) {
    return root + "/runs/" + runId;
  }

  public String baseDir() {
    return root + "/base";
  }

  /** The champion: who it is and where its model is. */
  public record Champion(String runId, String model, String promotedAt, double microF1, String how) {
    ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("run_id", runId);
      o.put("model", model);
      o.put("promoted_at", promotedAt);
      o.put("micro_f1", microF1);
      o.put("how", how);
      return o;
    }
  }

  /** A new run id: UTC time and a random suffix, so ids sort by start time and never collide. */
  public static String newRunId(Instant now) {
    byte[] b = new byte[2];
    new SecureRandom().nextBytes(b);
    return RUN_TIME.format(now) + "-" + String.format("%02x%02x", b[0], b[1]);
  }

  /** Checks a run id given by the user (e.g. a scheduler's run id): safe as one path segment. */
  public static String checkRunId(String id) {
    if (!RUN_ID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "run id \"" + id + "\" must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return id;
  }

  /**
   * The current champion, or empty when nothing was promoted yet.
   *
   * @throws IllegalStateException naming the pointer when it cannot be read or its model is gone
   */
  public Optional<Champion> champion() {
    String p = pointer();
    if (!HadoopFiles.exists(p, conf)) {
      return Optional.empty();
    }
    JsonNode n;
    try {
      n = JSON.readTree(HadoopFiles.readString(p, conf));
    } catch (UncheckedIOException e) {
      throw new IllegalStateException("cannot read the champion pointer " + p + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalStateException("the champion pointer " + p + " is not valid JSON (" + e.getMessage() + "); fix it or promote a run with --promote RUN_ID", e);
    }
    String runId = n.path("run_id").asText(null);
    String model = n.path("model").asText(null);
    if (runId == null || model == null) {
      throw new IllegalStateException("the champion pointer " + p + " lacks run_id or model: " + n);
    }
    if (!HadoopFiles.exists(model + "/config.json", conf)) {
      throw new IllegalStateException("the champion pointer " + p + " names model " + model + ", which has no config.json (was it deleted?)");
    }
    return Optional.of(new Champion(runId, model, n.path("promoted_at").asText(""), n.path("micro_f1").asDouble(Double.NaN), n.path("how").asText("")));
  }

  /**
   * Makes {@code next} the champion, if the champion is still {@code expected} (another run may
   * have promoted meanwhile: then nothing changes and the result says so).
   *
   * @return true if the pointer now names {@code next}
   */
  public synchronized boolean promote(Champion next, Optional<Champion> expected) {
    Optional<Champion> now = champion();
    String nowId = now.map(Champion::runId).orElse(null);
    String expectedId = expected.map(Champion::runId).orElse(null);
    if (!java.util.Objects.equals(nowId, expectedId)) {
      return false;
    }
    String tmp = root + "/.champion-" + next.runId() + ".tmp";
    HadoopFiles.writeString(tmp, json(next.toJson()), conf);
    renameOver(tmp, pointer());
    ObjectNode h = next.toJson();
    h.put("previous", nowId);
    appendHistory(h);
    return true;
  }

  /** Every promotion so far, oldest first. */
  public List<JsonNode> history() {
    String f = root + "/champion-history.jsonl";
    List<JsonNode> out = new ArrayList<>();
    if (!HadoopFiles.exists(f, conf)) {
      return out;
    }
    for (String line : HadoopFiles.readString(f, conf).split("\n")) {
      if (!line.isBlank()) {
        try {
          out.add(JSON.readTree(line));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
      }
    }
    return out;
  }

  private void appendHistory(ObjectNode entry) {
    String f = root + "/champion-history.jsonl";
    StringBuilder sb = new StringBuilder();
    for (JsonNode h : history()) {
      sb.append(h).append('\n');
    }
    sb.append(entry).append('\n');
    String tmp = f + ".tmp";
    HadoopFiles.writeString(tmp, sb.toString(), conf);
    renameOver(tmp, f);
  }

  /** Writes a run's {@code run.json} (aside, then moved over the previous version). */
  public void writeRun(String runId, ObjectNode record) {
    String f = runDir(runId) + "/run.json";
    String tmp = runDir(runId) + "/.run.json.tmp";
    HadoopFiles.writeString(tmp, json(record), conf);
    renameOver(tmp, f);
  }

  /** A run's {@code run.json}. */
  public JsonNode readRun(String runId) {
    String f = runDir(checkRunId(runId)) + "/run.json";
    if (!HadoopFiles.exists(f, conf)) {
      throw new IllegalArgumentException("no run " + runId + " in " + root + " (" + f + " does not exist)");
    }
    try {
      return JSON.readTree(HadoopFiles.readString(f, conf));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  /** Renames {@code from} over {@code to} in one step where the file system can. */
  void renameOver(String from, String to) {
    Path src = new Path(from);
    Path dst = new Path(to);
    try {
      FileContext fc = FileContext.getFileContext(dst.toUri(), conf);
      fc.rename(src, dst, Options.Rename.OVERWRITE);
    } catch (UnsupportedFileSystemException e) {
      // no AbstractFileSystem for this scheme: FileSystem's rename, which does not overwrite
      try {
        FileSystem fs = dst.getFileSystem(conf);
        if (!fs.rename(src, dst)) {
          fs.delete(dst, false);
          if (!fs.rename(src, dst)) {
            throw new IOException("rename returned false");
          }
        }
      } catch (IOException io) {
        throw new UncheckedIOException("cannot move " + from + " to " + to + ": " + io.getMessage(), io);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move " + from + " to " + to + ": " + e.getMessage(), e);
    }
  }

  static String json(JsonNode n) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String now() {
    return DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
  }
}
