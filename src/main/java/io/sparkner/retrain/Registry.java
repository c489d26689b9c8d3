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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The model registry of {@code sparkner retrain}, a directory on any Hadoop file system:
 *
 * <pre>
 * &lt;registry&gt;/promotions/NNNNNNNNNN.json  one file per promotion (generation 1, 2, ...): the champion it made
 *                                       and the generation it replaced; the newest names the champion
 * &lt;registry&gt;/champion                  a copy of the newest generation, for readers that want one fixed file
 * &lt;registry&gt;/base/                     the initialised base model, when the configuration makes one
 * &lt;registry&gt;/runs/&lt;run-id&gt;/run.json     inputs, configuration, metrics, decision and reasons, or the error
 * &lt;registry&gt;/runs/&lt;run-id&gt;/model/      the challenger (a Hugging Face checkpoint)
 * &lt;registry&gt;/runs/&lt;run-id&gt;/prepared/   its prepared data; eval/{challenger,champion}/ the reports
 * </pre>
 *
 * <p>A promotion is a compare-and-set on the storage, not in one JVM: the promoter read generation
 * N, and creates generation N + 1 with {@link HadoopFiles#createNew}, which fails when the file
 * exists. Two drivers that both read N race for the same name; exactly one creates it (where the
 * file system decides that in one step, see createNew), the other sees the file and reports the
 * conflict. Generation files are never rewritten or deleted, so there is always a champion once
 * there was one, and the list of generations is the promotion history.
 *
 * <p>A registry from before generations (a {@code champion} file, {@code champion-history.jsonl},
 * no {@code promotions/}) reads as generation 0: its champion is kept, its history is listed first,
 * and the next promotion is generation 1.
 */
public final class Registry {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Pattern GENERATION_FILE = Pattern.compile("([0-9]{10})\\.json");
  private static final DateTimeFormatter RUN_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final String root;
  private final Configuration conf;

  /**
   * @param root the registry directory, any Hadoop path (qualified here)
   */
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

  /**
   * The copy of the newest generation ({@code <registry>/champion}); {@link #champion()} reads the
   * generations.
   */
  public String pointer() {
    return root + "/champion";
  }

  public String promotionsDir() {
    return root + "/promotions";
  }

  /** The file of generation {@code n}. */
  public String generationFile(long n) {
    return promotionsDir() + "/" + String.format(java.util.Locale.ROOT, "%010d.json", n);
  }

  public String runDir(String runId) {
    return root + "/runs/" + runId;
  }

  public String baseDir() {
    return root + "/base";
  }

  /** The champion: who it is and where its model is. */
  public record Champion(
      String runId, String model, String promotedAt, double microF1, String how) {
    ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("run_id", runId);
      o.put("model", model);
      o.put("promoted_at", promotedAt);
      o.put("micro_f1", microF1);
      o.put("how", how);
      return o;
    }

    static Champion of(JsonNode n, String file) {
      String runId = n.path("run_id").asText(null);
      String model = n.path("model").asText(null);
      if (runId == null || model == null) {
        throw new IllegalStateException(file + " lacks run_id or model: " + n);
      }
      return new Champion(
          runId,
          model,
          n.path("promoted_at").asText(""),
          n.path("micro_f1").asDouble(Double.NaN),
          n.path("how").asText(""));
    }
  }

  /**
   * One promotion: generation {@code number} made {@code champion} the champion, replacing {@code
   * previousRunId} (null for the first). Generation 0 is a registry's champion from before
   * generations were written.
   */
  public record Generation(long number, Champion champion, String previousRunId, String file) {
    ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("generation", number);
      o.setAll(champion.toJson());
      o.put("previous", previousRunId);
      if (number > 1) {
        o.put("previous_generation", number - 1);
      } else {
        o.putNull("previous_generation");
      }
      return o;
    }
  }

  /**
   * What {@link #promote(Champion, long)} did.
   *
   * @param promoted true when this call created the generation: {@code next} is the champion
   * @param generation the generation it tried to create (the expected one + 1)
   * @param newest the newest generation after the attempt: the one created, or the one that won
   * @param copyWarning null, or why the {@code champion} copy could not be refreshed (the promotion
   *     stands; the next run or promotion refreshes the copy)
   */
  public record Promotion(
      boolean promoted, long generation, Optional<Generation> newest, String copyWarning) {
    /** Who holds the generation now, for messages: "none" when nobody does. */
    public String holder() {
      return newest
          .map(g -> g.champion().runId() + " (generation " + g.number() + ")")
          .orElse("none");
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
          "run id \""
              + id
              + "\" must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or"
              + " digit");
    }
    return id;
  }

  /** The numbers of the generation files, ascending. */
  private List<Long> generationNumbers() {
    Path dir = new Path(promotionsDir());
    List<Long> out = new ArrayList<>();
    try {
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(dir)) {
        return out;
      }
      for (FileStatus st : fs.listStatus(dir)) {
        Matcher m = GENERATION_FILE.matcher(st.getPath().getName());
        if (m.matches() && st.isFile()) {
          out.add(Long.parseLong(m.group(1)));
        }
      }
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot list the promotions", promotionsDir(), e, conf);
    }
    out.sort(null);
    return out;
  }

  /** Generation {@code n}, or empty when its file does not exist. */
  public Optional<Generation> generation(long n) {
    String f = generationFile(n);
    if (!HadoopFiles.exists(f, conf)) {
      return Optional.empty();
    }
    JsonNode g = readGeneration(f);
    return Optional.of(new Generation(n, Champion.of(g, f), g.path("previous").asText(null), f));
  }

  /**
   * Reads a generation file. Where the local file system has no hard links the file is created
   * exclusively and written in place, so a reader may meet it empty or half-written for a moment:
   * it is read again then, and only a file that stays unreadable is an error.
   */
  private JsonNode readGeneration(String f) {
    String last = null;
    for (int attempt = 0; ; attempt++) {
      String text = HadoopFiles.readString(f, conf);
      try {
        JsonNode n = JSON.readTree(text);
        if (n != null && n.isObject()) {
          return n;
        }
        last = "not a JSON object";
      } catch (IOException e) {
        last = e.getMessage();
      }
      if (attempt == 4) {
        throw new IllegalStateException(
            "the promotion "
                + f
                + " is not valid JSON ("
                + last
                + "); the champion is named by the newest file of "
                + promotionsDir()
                + ": repair it, or promote a run with --promote RUN_ID after moving it aside");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while reading " + f, e);
      }
    }
  }

  /**
   * The newest generation, or empty when nothing was promoted yet. A registry without generation
   * files but with a {@code champion} file (written before generations) reads as generation 0.
   *
   * @throws IllegalStateException naming the file when it cannot be read
   */
  public Optional<Generation> newest() {
    List<Long> numbers = generationNumbers();
    if (!numbers.isEmpty()) {
      return generation(numbers.get(numbers.size() - 1));
    }
    String p = pointer();
    String legacy = readReplaced(p);
    if (legacy == null) {
      return Optional.empty();
    }
    JsonNode n;
    try {
      n = JSON.readTree(legacy);
    } catch (IOException e) {
      throw new IllegalStateException(
          "the champion pointer "
              + p
              + " is not valid JSON ("
              + e.getMessage()
              + "); fix it or promote a run with --promote RUN_ID",
          e);
    }
    return Optional.of(new Generation(0, Champion.of(n, p), null, p));
  }

  /**
   * The current champion (the newest generation's), or empty when nothing was promoted yet.
   *
   * @throws IllegalStateException naming the file when it cannot be read or its model is gone
   */
  public Optional<Champion> champion() {
    return newest().map(this::checked);
  }

  /** The generation's champion, after checking that its model is still there. */
  Champion checked(Generation g) {
    String model = g.champion().model();
    if (!HadoopFiles.exists(model + "/config.json", conf)) {
      throw new IllegalStateException(
          "the champion "
              + g.file()
              + " names model "
              + model
              + ", which has no config.json (was it deleted?)");
    }
    return g.champion();
  }

  /**
   * Makes {@code next} the champion if the newest generation is still {@code expectedGeneration}
   * (0: none yet, or a registry from before generations): creates generation {@code
   * expectedGeneration + 1}, create-only. When another promotion came first, nothing changes and
   * the result names the winner. The {@code champion} copy is refreshed afterwards; a failure there
   * is reported in the result, the promotion stands.
   */
  public Promotion promote(Champion next, long expectedGeneration) {
    Optional<Generation> now = newest();
    long current = now.map(Generation::number).orElse(0L);
    long n = expectedGeneration + 1;
    if (current != expectedGeneration) {
      return new Promotion(false, n, now, null);
    }
    Generation g =
        new Generation(n, next, now.map(x -> x.champion().runId()).orElse(null), generationFile(n));
    if (!HadoopFiles.createNew(g.file(), json(g.toJson()), conf)) {
      return new Promotion(false, n, newest(), null);
    }
    String warning = null;
    try {
      refreshPointer();
    } catch (RuntimeException e) {
      warning =
          "the copy "
              + pointer()
              + " was not refreshed ("
              + e.getMessage()
              + "); "
              + g.file()
              + " names the champion, the next run refreshes the copy";
    }
    return new Promotion(true, n, Optional.of(g), warning);
  }

  /**
   * Makes {@code next} the champion if the champion is still {@code expected} (by run id), as one
   * compare-and-set on the generation read here.
   *
   * @return true if this call made {@code next} the champion
   */
  public boolean promote(Champion next, Optional<Champion> expected) {
    Optional<Generation> now = newest();
    String nowId = now.map(g -> g.champion().runId()).orElse(null);
    if (!java.util.Objects.equals(nowId, expected.map(Champion::runId).orElse(null))) {
      return false;
    }
    return promote(next, now.map(Generation::number).orElse(0L)).promoted();
  }

  /**
   * Rewrites the {@code champion} copy from the newest generation when it differs. Two drivers may
   * refresh at once; each one checks after its write that the generation it copied is still the
   * newest and copies again otherwise, so the last write is of the newest generation.
   */
  public void refreshPointer() {
    for (int attempt = 0; attempt < 10; attempt++) {
      Optional<Generation> g = newest();
      if (g.isEmpty() || g.get().number() == 0) {
        return;
      }
      String content = json(g.get().toJson());
      if (!content.equals(readReplaced(pointer()))) {
        writeReplacing(pointer(), content);
      }
      if (newest().map(Generation::number).orElse(0L) == g.get().number()) {
        return;
      }
    }
  }

  /**
   * Every promotion so far, oldest first: a registry's history from before generations, then the
   * generations.
   */
  public List<JsonNode> history() {
    List<JsonNode> out = new ArrayList<>();
    String legacy = root + "/champion-history.jsonl";
    if (HadoopFiles.exists(legacy, conf)) {
      for (String line : HadoopFiles.readString(legacy, conf).split("\n")) {
        if (!line.isBlank()) {
          try {
            out.add(JSON.readTree(line));
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + legacy + ": " + e.getMessage(), e);
          }
        }
      }
    }
    for (long n : generationNumbers()) {
      generation(n).ifPresent(g -> out.add(g.toJson()));
    }
    return out;
  }

  /** Writes a run's {@code run.json} (aside, then moved over the previous version). */
  public void writeRun(String runId, ObjectNode record) {
    writeReplacing(runDir(runId) + "/run.json", json(record));
  }

  /**
   * A run's {@code run.json} as stored, or null when there is none. A record written before its
   * promotion says {@code "promotion": {"status": "pending"}}: {@link #readRun} settles that.
   */
  JsonNode readRunAsStored(String runId) {
    String f = runDir(checkRunId(runId)) + "/run.json";
    String text = readReplaced(f);
    if (text == null) {
      return null;
    }
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  /**
   * A run's {@code run.json}, with a pending promotion settled against the generations (see {@link
   * RunRecord#RunRecord(Registry, String)}).
   */
  public JsonNode readRun(String runId) {
    return new RunRecord(this, runId).root().deepCopy();
  }

  /**
   * Replaces {@code file} with {@code content}: written aside, then moved over it by {@link
   * HadoopFiles#replace}, so a reader always finds a complete version and a failure between the
   * steps loses nothing.
   */
  void writeReplacing(String file, String content) {
    Path dst = new Path(file);
    Path src =
        new Path(
            dst.getParent(),
            "." + dst.getName() + "." + Long.toHexString(new SecureRandom().nextLong()) + ".tmp");
    HadoopFiles.writeString(src.toString(), content, conf);
    try {
      HadoopFiles.replace(src.toString(), file, conf);
    } catch (RuntimeException e) {
      try {
        HadoopFiles.delete(src.toString(), conf);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /** The content of a file written by {@link #writeReplacing}, or null when there is none. */
  String readReplaced(String file) {
    return HadoopFiles.readReplaced(file, conf);
  }

  static String json(JsonNode n) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String now() {
    return DateTimeFormatter.ISO_INSTANT.format(
        Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
  }
}
