package io.sparkner.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.SafeTensors;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training checkpoints under {@code <output>/checkpoints/checkpoint-<step>/} on any Hadoop file
 * system: the Hugging Face model (fp32 master weights), each rank's optimizer shard, the trainer
 * state (position in the data, loss scaler), and a {@code COMPLETE} manifest written last (as
 * {@code COMPLETE.tmp}, then renamed). The manifest records the run's {@link RunFingerprint} and
 * every file's size and CRC32C. A directory without a manifest is incomplete; one whose files are
 * missing, of another size or checksum is damaged; both are skipped with a warning naming the file,
 * and resume falls back to the previous complete checkpoint.
 */
public final class CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String MANIFEST = "COMPLETE";
  static final String MANIFEST_TMP = "COMPLETE.tmp";
  static final String STATE = "trainer_state.json";
  private static final int MAGIC = 0x53504b4f; // "SPKO"
  private static final int SHARD_HEADER = 4 + 8 + 8 + 8;

  private final String root;
  private final Configuration conf;
  private final List<String> warnings = new ArrayList<>();

  public CheckpointStore(String outputDir, Configuration conf) {
    this.root = outputDir + "/checkpoints";
    this.conf = conf;
  }

  /**
   * A checkpoint with a manifest.
   *
   * @param fingerprint the run it belongs to; null for a checkpoint written before fingerprints
   */
  public record Saved(String dir, long step, JsonNode state, RunFingerprint fingerprint) {}

  /** A file as the manifest records it. */
  public record FileSum(long size, long crc32c) {}

  public String dirFor(long step) {
    return root + "/checkpoint-" + step;
  }

  /** What was skipped, and why, by this store's look-ups so far (also logged). */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  private void warn(String w) {
    warnings.add(w);
    LOG.warn(Redaction.text(w, conf));
  }

  /**
   * {@link #save(Trainer, GradientExchange, String, RunFingerprint, Integer)} without fingerprint
   * and limit.
   */
  public void save(Trainer t, GradientExchange exchange, String tokenizerFile) {
    save(t, exchange, tokenizerFile, null, null);
  }

  /**
   * Writes a whole checkpoint: every rank calls it; each writes its optimizer shard, the ranks
   * exchange the shards' sizes and checksums (which also tells rank 0 that all are on storage), and
   * then rank 0 writes the model, the trainer state and, last, the manifest, and prunes checkpoints
   * beyond {@code keep} ({@code save_total_limit}, null: keep all).
   */
  public void save(
      Trainer t,
      GradientExchange exchange,
      String tokenizerFile,
      RunFingerprint fingerprint,
      Integer keep) {
    int rank = exchange.rank();
    int n = exchange.replicas();
    FileSum mine = saveShard(t, rank, n);
    double[] sums = new double[2 * n];
    sums[2 * rank] = mine.size();
    sums[2 * rank + 1] = mine.crc32c();
    double[] all = exchange.allReduceSum(sums, t.state().globalStep());
    if (rank == 0) {
      Map<String, FileSum> files = new LinkedHashMap<>();
      for (int k = 0; k < n; k++) {
        files.put(shardName(k, n), new FileSum((long) all[2 * k], (long) all[2 * k + 1]));
      }
      saveModelAndManifest(t, n, tokenizerFile, fingerprint, files);
      if (keep != null) {
        prune(keep);
      }
    }
  }

  /** This rank's optimizer shard; returns its size and checksum. */
  public FileSum saveShard(Trainer t, int rank, int replicas) {
    String dir = dirFor(t.state().globalStep());
    try {
      AdamW opt = t.optimizer();
      Summing sum = new Summing(HadoopFiles.create(dir + "/" + shardName(rank, replicas), conf));
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(sum, 1 << 20))) {
        out.writeInt(MAGIC);
        out.writeLong(opt.from());
        out.writeLong(opt.to());
        out.writeLong(opt.step());
        writeFloats(out, opt.firstMoment());
        writeFloats(out, opt.secondMoment());
        if (t.model().dataType() != DataType.FLOAT32) {
          writeFloats(out, opt.master()); // the fp32 masters the fp16 model copy only rounds
        }
      }
      return sum.sum();
    } catch (IOException e) {
      throw HadoopFiles.failure(
          "cannot write the optimizer shard of rank " + rank + " into", dir, e, conf);
    }
  }

  /**
   * Rank 0's part, after every shard is written: model, trainer state, then the manifest with the
   * fingerprint and every file's size and checksum, written aside and renamed.
   */
  public void saveModelAndManifest(
      Trainer t,
      int replicas,
      String tokenizerFile,
      RunFingerprint fingerprint,
      Map<String, FileSum> shards) {
    String dir = dirFor(t.state().globalStep());
    try {
      Map<String, FileSum> files = new LinkedHashMap<>(writeModel(t, dir, tokenizerFile));
      files.putAll(shards);
      ObjectNode state = JSON.createObjectNode();
      Trainer.TrainState s = t.state();
      state.put("global_step", s.globalStep());
      state.put("optimizer_step", s.optimizerStep());
      state.put("epoch", s.epoch());
      state.put("step_in_epoch", s.stepInEpoch());
      state.put("replicas", replicas);
      state.put("parameters", t.flat().size());
      var scaler = state.putArray("loss_scaler");
      for (double d : t.lossScale().toArray()) {
        scaler.add(d);
      }
      byte[] stateJson = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state);
      try (OutputStream out = HadoopFiles.create(dir + "/" + STATE, conf)) {
        out.write(stateJson);
      }
      files.put(STATE, sumOf(stateJson));
      ObjectNode manifest = state.deepCopy();
      if (fingerprint != null) {
        fingerprint.writeTo(manifest.putObject("fingerprint"));
      }
      ObjectNode listed = manifest.putObject("files");
      files.forEach(
          (name, f) ->
              listed
                  .putObject(name)
                  .put("size", f.size())
                  .put("crc32c", Long.toHexString(f.crc32c())));
      HadoopFiles.writeString(dir + "/" + MANIFEST_TMP, JSON.writeValueAsString(manifest), conf);
      HadoopFiles.replace(dir + "/" + MANIFEST_TMP, dir + "/" + MANIFEST, conf);
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot write checkpoint", dir, e, conf);
    }
  }

  /**
   * Writes the fp32 master weights as a Hugging Face checkpoint (+ tokenizer.json) into {@code
   * dir}; returns the written files' sizes and checksums.
   */
  public Map<String, FileSum> writeModel(Trainer t, String dir, String tokenizerFile) {
    Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
    float[] values = t.parameterValues();
    for (FlatParameters.Slot s : t.flat().slots()) {
      float[] part = new float[Math.toIntExact(s.size())];
      System.arraycopy(values, Math.toIntExact(s.offset()), part, 0, part.length);
      tensors.put(
          s.name(), new SafeTensors.Tensor(FlatParameters.shapeOf(s).getShape(), part, "F32"));
    }
    Map<String, Summing> written = new LinkedHashMap<>();
    Checkpoints.write(
        t.model().config(),
        tensors,
        name -> {
          Summing out = new Summing(HadoopFiles.create(dir + "/" + name, conf));
          written.put(name, out);
          return out;
        });
    if (tokenizerFile != null) {
      try (InputStream in = HadoopFiles.open(tokenizerFile, conf);
          Summing out = new Summing(HadoopFiles.create(dir + "/" + Checkpoints.TOKENIZER, conf))) {
        in.transferTo(out);
        written.put(Checkpoints.TOKENIZER, out);
      } catch (IOException e) {
        throw HadoopFiles.failure("cannot copy " + tokenizerFile + " into", dir, e, conf);
      }
    }
    Map<String, FileSum> sums = new LinkedHashMap<>();
    written.forEach((name, s) -> sums.put(name, s.sum()));
    return sums;
  }

  // ------------------------------------------------------------------ finding checkpoints

  /** Every checkpoint directory with a readable manifest, newest first; the others are reported. */
  List<Saved> complete() {
    try {
      Path r = HadoopFiles.path(root);
      FileSystem fs = r.getFileSystem(conf);
      if (!fs.exists(r)) {
        return List.of();
      }
      List<Saved> found = new ArrayList<>();
      for (FileStatus st : fs.listStatus(r)) {
        String name = st.getPath().getName();
        if (!st.isDirectory() || stepOf(name) < 0) {
          continue;
        }
        String dir = st.getPath().toString();
        Path manifest = new Path(st.getPath(), MANIFEST);
        if (!fs.exists(manifest)) {
          warn("skipping incomplete checkpoint " + dir + " (no " + MANIFEST + " manifest)");
          continue;
        }
        try {
          Saved s = parse(dir, HadoopFiles.readString(manifest.toString(), conf));
          found.add(s);
        } catch (IOException | RuntimeException e) {
          warn(
              "skipping checkpoint "
                  + dir
                  + ": its manifest "
                  + manifest
                  + " is unreadable ("
                  + e.getMessage()
                  + ")");
        }
      }
      found.sort((a, b) -> Long.compare(b.step(), a.step()));
      return found;
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot list checkpoints under", root, e, conf);
    }
  }

  private static Saved parse(String dir, String manifest) throws IOException {
    if (manifest.isBlank()) {
      throw new IOException("empty");
    }
    JsonNode state = JSON.readTree(manifest);
    if (!state.isObject() || !state.path("global_step").isNumber()) {
      throw new IOException("no global_step");
    }
    return new Saved(
        dir,
        state.path("global_step").asLong(),
        state,
        RunFingerprint.read(state.get("fingerprint")));
  }

  private static long stepOf(String name) {
    if (!name.startsWith("checkpoint-")) {
      return -1;
    }
    try {
      return Long.parseLong(name.substring("checkpoint-".length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * What is wrong with a checkpoint's files, naming the file, or empty when every file its manifest
   * lists is there with the recorded size and CRC32C. A manifest written before sizes and checksums
   * were recorded is checked for the files' presence only.
   */
  public Optional<String> damage(Saved s) {
    int replicas = s.state().path("replicas").asInt();
    List<String> required = new ArrayList<>(List.of(Checkpoints.CONFIG, Checkpoints.WEIGHTS));
    for (int k = 0; k < replicas; k++) {
      required.add(shardName(k, replicas));
    }
    JsonNode files = s.state().get("files");
    try {
      FileSystem fs = HadoopFiles.path(s.dir()).getFileSystem(conf);
      if (files == null) {
        for (String name : required) {
          if (!fs.exists(HadoopFiles.path(s.dir() + "/" + name))) {
            return Optional.of(s.dir() + "/" + name + " is missing");
          }
        }
        return Optional.empty();
      }
      for (String name : required) {
        if (!files.has(name)) {
          return Optional.of("its manifest does not list " + s.dir() + "/" + name);
        }
      }
      for (var it = files.fields(); it.hasNext(); ) {
        var e = it.next();
        String file = s.dir() + "/" + e.getKey();
        long size = e.getValue().path("size").asLong(-1);
        long crc = Long.parseLong(e.getValue().path("crc32c").asText("-1"), 16);
        Path p = HadoopFiles.path(file);
        if (!fs.exists(p)) {
          return Optional.of(file + " is missing");
        }
        long actual = fs.getFileStatus(p).getLen();
        if (actual != size) {
          return Optional.of(
              file
                  + " is "
                  + actual
                  + " bytes, its manifest says "
                  + size
                  + (actual < size ? " (truncated)" : ""));
        }
        long got;
        try (InputStream in = fs.open(p)) {
          got = crc32c(in);
        }
        if (got != crc) {
          return Optional.of(
              file
                  + " has CRC32C "
                  + Long.toHexString(got)
                  + ", its manifest says "
                  + Long.toHexString(crc));
        }
      }
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.of("cannot read the files of " + s.dir() + " (" + e + ")");
    }
  }

  /**
   * The newest complete, undamaged checkpoint of any run; damaged ones are reported and skipped.
   */
  public Optional<Saved> newest() {
    for (Saved s : complete()) {
      Optional<String> d = damage(s);
      if (d.isEmpty()) {
        return Optional.of(s);
      }
      warn("skipping damaged checkpoint " + s.dir() + ": " + d.get());
    }
    return Optional.empty();
  }

  /**
   * The newest complete, undamaged checkpoint, which must belong to the run of {@code fingerprint}
   * (automatic resume after a task or driver retry, or a rerun of the same command). Damaged ones
   * are reported and skipped.
   *
   * @throws OutputConflict when that checkpoint belongs to another run or records no run
   */
  public Optional<Saved> newest(RunFingerprint fingerprint) {
    Optional<Saved> s = newest();
    if (s.isPresent()) {
      String why = mismatch(s.get(), fingerprint);
      if (why != null) {
        throw new OutputConflict(
            why
                + ". Pass --overwrite to delete the checkpoints and outputs there and train afresh,"
                + " --resume-from "
                + s.get().dir()
                + " to continue from it anyway, or choose another --output");
      }
    }
    return s;
  }

  /**
   * The newest complete, undamaged checkpoint of the run of {@code fingerprint}, ignoring
   * checkpoints of other runs (a run started with {@code --resume-from}: its own checkpoints take
   * precedence once there are any).
   */
  public Optional<Saved> newestOf(RunFingerprint fingerprint) {
    for (Saved s : complete()) {
      if (mismatch(s, fingerprint) != null) {
        continue;
      }
      Optional<String> d = damage(s);
      if (d.isEmpty()) {
        return Optional.of(s);
      }
      warn("skipping damaged checkpoint " + s.dir() + ": " + d.get());
    }
    return Optional.empty();
  }

  /** Why {@code s} does not belong to the run of {@code fingerprint}, or null when it does. */
  public static String mismatch(Saved s, RunFingerprint fingerprint) {
    if (s.fingerprint() == null) {
      return "checkpoint "
          + s.dir()
          + " was written before checkpoints recorded the run they belong to, so it cannot be"
          + " checked";
    }
    List<String> diff = s.fingerprint().diff(fingerprint);
    return diff.isEmpty()
        ? null
        : "checkpoint "
            + s.dir()
            + " belongs to another run (checkpoint -> this run: "
            + String.join(", ", diff)
            + ")";
  }

  /**
   * A checkpoint named by the user ({@code --resume-from}): it must have a manifest and be
   * undamaged; it may belong to another run.
   */
  public Saved open(String dir) {
    String manifest = dir + "/" + MANIFEST;
    if (!HadoopFiles.exists(manifest, conf)) {
      throw new OutputConflict(
          "--resume-from "
              + dir
              + ": no "
              + MANIFEST
              + " manifest there (not a complete checkpoint of sparkner train)");
    }
    Saved s;
    try {
      s = parse(dir, HadoopFiles.readString(manifest, conf));
    } catch (IOException e) {
      throw new OutputConflict(
          "--resume-from "
              + dir
              + ": its manifest "
              + manifest
              + " is unreadable ("
              + e.getMessage()
              + ")");
    }
    Optional<String> d = damage(s);
    if (d.isPresent()) {
      throw new OutputConflict("--resume-from " + dir + " is damaged: " + d.get());
    }
    return s;
  }

  /**
   * Keeps the newest {@code keep} complete checkpoints ({@code save_total_limit}) and deletes the
   * older ones, and incomplete directories older than the oldest kept (left by a dead attempt).
   */
  public void prune(int keep) {
    List<Saved> done = complete();
    if (done.size() <= keep) {
      return;
    }
    long oldestKept = done.get(keep - 1).step();
    try {
      Path r = HadoopFiles.path(root);
      FileSystem fs = r.getFileSystem(conf);
      for (FileStatus st : fs.listStatus(r)) {
        long step = stepOf(st.getPath().getName());
        if (st.isDirectory() && step >= 0 && step < oldestKept) {
          LOG.info(
              "save_total_limit {}: deleting {}",
              keep,
              Redaction.text(st.getPath().toString(), conf));
          fs.delete(st.getPath(), true);
        }
      }
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot prune checkpoints under", root, e, conf);
    }
  }

  // ------------------------------------------------------------------ tensors

  /**
   * On resume the checkpoint's weights must be exactly the model's: every tensor there, none extra,
   * each of the model's shape. Anything else is an error, never filled with newly initialised
   * weights (which a base model gets, see {@link Checkpoints}).
   */
  public static void requireExact(String dir, Checkpoints.LoadReport r) {
    if (r.clean() && r.ignored().isEmpty()) {
      return;
    }
    List<String> extra = new ArrayList<>(r.unused());
    extra.addAll(r.ignored());
    throw misfit(dir, r.newlyInitialized(), extra, r.mismatched());
  }

  /**
   * {@link #requireExact} from the safetensors header only (names and shapes, no data): what the
   * driver checks before it starts the replicas.
   */
  public static void requireTensorsOf(String dir, ModelConfig config, Configuration conf) {
    Map<String, long[]> found = tensorShapes(dir + "/" + Checkpoints.WEIGHTS, conf);
    Map<String, long[]> expected;
    try (NDManager m = NDManager.newBaseManager()) {
      expected = new TokenClassificationModel(config, m).parameterShapes();
    }
    String prefix = config.prefix() + ".";
    Map<String, long[]> byModelName = new LinkedHashMap<>();
    List<String> extra = new ArrayList<>();
    for (Map.Entry<String, long[]> e : found.entrySet()) {
      String k = e.getKey();
      String name =
          expected.containsKey(k) ? k : expected.containsKey(prefix + k) ? prefix + k : null;
      if (name == null) {
        extra.add(k);
      } else {
        byModelName.put(name, e.getValue());
      }
    }
    List<String> missing = new ArrayList<>();
    List<String> misshaped = new ArrayList<>();
    expected.forEach(
        (name, shape) -> {
          long[] got = byModelName.get(name);
          if (got == null) {
            missing.add(name);
          } else if (!Arrays.equals(got, shape)) {
            misshaped.add(
                name
                    + ": checkpoint "
                    + Arrays.toString(got)
                    + ", model "
                    + Arrays.toString(shape));
          }
        });
    if (!missing.isEmpty() || !extra.isEmpty() || !misshaped.isEmpty()) {
      throw misfit(dir, missing, extra, misshaped);
    }
  }

  private static OutputConflict misfit(
      String dir, List<String> missing, List<String> extra, List<String> misshaped) {
    StringBuilder sb =
        new StringBuilder(
            "checkpoint "
                + dir
                + " does not fit this run's model (a resume never fills in newly initialised"
                + " weights):");
    if (!missing.isEmpty()) {
      sb.append(" missing tensors ").append(missing).append(';');
    }
    if (!extra.isEmpty()) {
      sb.append(" unexpected tensors ").append(extra).append(';');
    }
    if (!misshaped.isEmpty()) {
      sb.append(" tensors of another shape ").append(misshaped).append(';');
    }
    sb.setLength(sb.length() - 1);
    return new OutputConflict(
        sb + ". Resume from a checkpoint of this model, or pass --overwrite to train afresh");
  }

  /** Tensor names and shapes from a safetensors file's header. */
  static Map<String, long[]> tensorShapes(String file, Configuration conf) {
    try {
      Path p = HadoopFiles.path(file);
      FileSystem fs = p.getFileSystem(conf);
      long size = fs.getFileStatus(p).getLen();
      try (var in = fs.open(p)) {
        return io.sparkner.model.SafeTensors.shapes(file, size, in::readFully);
      }
    } catch (IOException e) {
      throw new OutputConflict("cannot read the tensors of " + file + ": " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ restoring

  /**
   * Restores optimizer moments and trainer state into {@code t} (whose model already holds the
   * checkpoint's weights). Reads every saved shard that overlaps this rank's range, so a run may
   * resume with another number of replicas.
   */
  public void restore(Saved saved, Trainer t) {
    JsonNode s = saved.state();
    int savedReplicas = s.path("replicas").asInt();
    long parameters = s.path("parameters").asLong(-1);
    if (parameters >= 0 && parameters != t.flat().size()) {
      throw new OutputConflict(
          "checkpoint "
              + saved.dir()
              + " holds "
              + parameters
              + " parameters, the model has "
              + t.flat().size()
              + ": it was written for another model");
    }
    AdamW opt = t.optimizer();
    int len = Math.toIntExact(opt.to() - opt.from());
    float[] m = new float[len];
    float[] v = new float[len];
    long adamSteps = 0;
    // an fp16 run's fp32 master weights: its fp16 model copy (what model.safetensors holds beyond
    // the writing rank's own shard) has them rounded, and a run resumed from the rounded values
    // would leave the uninterrupted one
    float[] master = t.model().dataType() == DataType.FLOAT32 ? null : new float[len];
    for (int k = 0; k < savedReplicas; k++) {
      String file = saved.dir() + "/" + shardName(k, savedReplicas);
      try {
        Shard sh = readShard(file);
        adamSteps = sh.adamSteps();
        long a = Math.max(sh.from(), opt.from());
        long b = Math.min(sh.to(), opt.to());
        if (a < b) {
          System.arraycopy(sh.m(), (int) (a - sh.from()), m, (int) (a - opt.from()), (int) (b - a));
          System.arraycopy(sh.v(), (int) (a - sh.from()), v, (int) (a - opt.from()), (int) (b - a));
          if (master != null && sh.master() == null) {
            warn(
                file
                    + " holds no fp32 master weights (written by an fp32 run or an older"
                    + " sparkner): this fp16 run continues from the model's weights");
            master = null;
          } else if (master != null) {
            System.arraycopy(
                sh.master(), (int) (a - sh.from()), master, (int) (a - opt.from()), (int) (b - a));
          }
        }
      } catch (IOException e) {
        throw HadoopFiles.failure("cannot read optimizer shard " + k + " of", saved.dir(), e, conf);
      }
    }
    double[] scaler = new double[s.path("loss_scaler").size()];
    for (int i = 0; i < scaler.length; i++) {
      scaler[i] = s.path("loss_scaler").get(i).asDouble();
    }
    t.resume(
        new Trainer.TrainState(
            s.path("global_step").asLong(),
            s.path("optimizer_step").asLong(),
            s.path("epoch").asInt(),
            s.path("step_in_epoch").asLong()),
        adamSteps,
        m,
        v,
        LossScaler.State.fromArray(scaler),
        master);
  }

  /**
   * One rank's saved optimizer state: its range of the flat parameters, Adam's step and moments,
   * and for an fp16 run its fp32 master weights (null otherwise).
   */
  record Shard(long from, long to, long adamSteps, float[] m, float[] v, float[] master) {}

  /**
   * Reads an optimizer shard, checking every length against the file's size: a damaged file is an
   * IOException naming it, never a huge allocation.
   */
  Shard readShard(String file) throws IOException {
    Path p = HadoopFiles.path(file);
    FileSystem fs = p.getFileSystem(conf);
    long size = fs.getFileStatus(p).getLen();
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(p), 1 << 20))) {
      if (size < SHARD_HEADER) {
        throw new IOException(
            file
                + ": truncated optimizer shard ("
                + size
                + " bytes, shorter than its "
                + SHARD_HEADER
                + "-byte header)");
      }
      if (in.readInt() != MAGIC) {
        throw new IOException(file + ": not an optimizer shard (wrong magic number)");
      }
      long from = in.readLong();
      long to = in.readLong();
      long adamSteps = in.readLong();
      if (from < 0 || to < from) {
        throw new IOException(
            file + ": optimizer shard with an impossible range [" + from + ", " + to + ")");
      }
      long[] remaining = {size - SHARD_HEADER};
      float[] m = shardArray(in, remaining, file, from, to, "first moment");
      float[] v = shardArray(in, remaining, file, from, to, "second moment");
      float[] master =
          remaining[0] == 0 ? null : shardArray(in, remaining, file, from, to, "master weights");
      if (remaining[0] != 0) {
        throw new IOException(
            file + ": " + remaining[0] + " bytes after the optimizer shard's data");
      }
      return new Shard(from, to, adamSteps, m, v, master);
    } catch (EOFException e) {
      throw new IOException(file + ": truncated optimizer shard (the file ends early)", e);
    }
  }

  /** One of a shard's arrays, which must hold a value for each parameter of its range. */
  private static float[] shardArray(
      DataInputStream in, long[] remaining, String file, long from, long to, String what)
      throws IOException {
    float[] a = readFloats(in, remaining, file);
    if (a.length != to - from) {
      throw new IOException(
          file
              + ": optimizer shard for ["
              + from
              + ", "
              + to
              + ") holds "
              + a.length
              + " values of its "
              + what);
    }
    return a;
  }

  static String shardName(int rank, int replicas) {
    return String.format("optimizer-rank%03d-of-%03d.bin", rank, replicas);
  }

  private static void writeFloats(DataOutputStream out, float[] a) throws IOException {
    out.writeInt(a.length);
    for (float f : a) {
      out.writeFloat(f);
    }
  }

  /** A length-prefixed float array; {@code remaining[0]} is what the file still holds, updated. */
  private static float[] readFloats(DataInputStream in, long[] remaining, String file)
      throws IOException {
    if (remaining[0] < 4) {
      throw new IOException(
          file + ": truncated optimizer shard (no length field where one is due)");
    }
    int n = in.readInt();
    remaining[0] -= 4;
    if (n < 0 || 4L * n > remaining[0]) {
      throw new IOException(
          file
              + ": optimizer shard says "
              + n
              + " values follow ("
              + 4L * n
              + " bytes) but only "
              + remaining[0]
              + " bytes are left in the file");
    }
    float[] a = new float[n];
    for (int i = 0; i < a.length; i++) {
      a[i] = in.readFloat();
    }
    remaining[0] -= 4L * n;
    return a;
  }

  // ------------------------------------------------------------------ checksums

  static long crc32c(InputStream in) throws IOException {
    CRC32C crc = new CRC32C();
    byte[] buf = new byte[1 << 16];
    for (int r; (r = in.read(buf)) > 0; ) {
      crc.update(buf, 0, r);
    }
    return crc.getValue();
  }

  private static FileSum sumOf(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return new FileSum(bytes.length, crc.getValue());
  }

  /**
   * An identity of a (base model) file for the run's fingerprint without reading all of it: its
   * size and the CRC32C of its first and last MiB.
   */
  public static String fileIdentity(String file, Configuration conf) {
    try {
      Path p = HadoopFiles.path(file);
      FileSystem fs = p.getFileSystem(conf);
      long size = fs.getFileStatus(p).getLen();
      int piece = (int) Math.min(size, 1 << 20);
      CRC32C crc = new CRC32C();
      try (var in = fs.open(p)) {
        byte[] buf = new byte[piece];
        in.readFully(0, buf);
        crc.update(buf);
        in.readFully(size - piece, buf);
        crc.update(buf);
      }
      return RunFingerprint.fileIdentity(size, crc.getValue());
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot read", file, e, conf);
    }
  }

  /** Counts and checksums what passes through to the file. */
  static final class Summing extends FilterOutputStream {
    private final CRC32C crc = new CRC32C();
    private long size;

    Summing(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      crc.update(b);
      size++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      crc.update(b, off, len);
      size += len;
    }

    FileSum sum() {
      return new FileSum(size, crc.getValue());
    }
  }
}
