package io.sparkner.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.SafeTensors;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training checkpoints under {@code <output>/checkpoints/checkpoint-<step>/} on any Hadoop file
 * system: the Hugging Face model (fp32 master weights), each rank's optimizer shard, the trainer
 * state (position in the data, loss scaler), and a {@code COMPLETE} manifest written last. A
 * directory without a valid manifest is incomplete and skipped with a warning.
 */
public final class CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String MANIFEST = "COMPLETE";
  private static final int MAGIC = 0x53504b4f; // "SPKO"

  private final String root;
  private final Configuration conf;

  public CheckpointStore(String outputDir, Configuration conf) {
    this.root = outputDir + "/checkpoints";
    this.conf = conf;
  }

  /** A complete checkpoint found on storage. */
  public record Saved(String dir, long step, JsonNode state) {}

  public String dirFor(long step) {
    return root + "/checkpoint-" + step;
  }

  /**
   * Writes a whole checkpoint: every rank calls it; each writes its optimizer shard, the ranks
   * synchronise, and then rank 0 writes the model, the trainer state and, last, the manifest.
   */
  public void save(Trainer t, GradientExchange exchange, String tokenizerFile) {
    saveShard(t, exchange.rank(), exchange.replicas());
    exchange.allReduceSum(new double[] {1}, t.state().globalStep()); // all shards are on storage
    if (exchange.rank() == 0) {
      saveModelAndManifest(t, exchange.replicas(), tokenizerFile);
    }
  }

  /** This rank's optimizer shard. */
  public void saveShard(Trainer t, int rank, int replicas) {
    String dir = dirFor(t.state().globalStep());
    try {
      AdamW opt = t.optimizer();
      try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(HadoopFiles.create(dir + "/" + shardName(rank, replicas), conf), 1 << 20))) {
        out.writeInt(MAGIC);
        out.writeLong(opt.from());
        out.writeLong(opt.to());
        out.writeLong(opt.step());
        writeFloats(out, opt.firstMoment());
        writeFloats(out, opt.secondMoment());
      }
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot write the optimizer shard of rank " + rank + " into", dir, e, conf);
    }
  }

  /** Rank 0's part, after every shard is written: model, trainer state, then the manifest. */
  public void saveModelAndManifest(Trainer t, int replicas, String tokenizerFile) {
    String dir = dirFor(t.state().globalStep());
    try {
      writeModel(t, dir, tokenizerFile);
      ObjectNode state = JSON.createObjectNode();
      Trainer.TrainState s = t.state();
      state.put("global_step", s.globalStep());
      state.put("optimizer_step", s.optimizerStep());
      state.put("epoch", s.epoch());
      state.put("step_in_epoch", s.stepInEpoch());
      state.put("replicas", replicas);
      state.put("parameters", t.flat().size());
      var scaler = state.putArray("loss_scaler");
      for (double d : t.scaler().state()) {
        scaler.add(d);
      }
      HadoopFiles.writeString(dir + "/trainer_state.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state), conf);
      HadoopFiles.writeString(dir + "/" + MANIFEST, JSON.writeValueAsString(state), conf);
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot write checkpoint", dir, e, conf);
    }
  }

  /** Writes the fp32 master weights as a Hugging Face checkpoint (+ tokenizer.json) into {@code dir}. */
  public void writeModel(Trainer t, String dir, String tokenizerFile) {
    Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>();
    float[] values = t.parameterValues();
    for (FlatParameters.Slot s : t.flat().slots()) {
      float[] part = new float[Math.toIntExact(s.size())];
      System.arraycopy(values, Math.toIntExact(s.offset()), part, 0, part.length);
      tensors.put(s.name(), new SafeTensors.Tensor(FlatParameters.shapeOf(s).getShape(), part, "F32"));
    }
    Checkpoints.write(t.model().config(), tensors, name -> HadoopFiles.create(dir + "/" + name, conf));
    if (tokenizerFile != null) {
      try (InputStream in = HadoopFiles.open(tokenizerFile, conf);
          OutputStream out = HadoopFiles.create(dir + "/" + Checkpoints.TOKENIZER, conf)) {
        in.transferTo(out);
      } catch (IOException e) {
        throw HadoopFiles.failure("cannot copy " + tokenizerFile + " into", dir, e, conf);
      }
    }
  }

  /** The newest complete checkpoint, if any; incomplete ones are reported and skipped. */
  public Optional<Saved> newest() {
    try {
      Path r = HadoopFiles.path(root);
      FileSystem fs = r.getFileSystem(conf);
      if (!fs.exists(r)) {
        return Optional.empty();
      }
      List<Saved> found = new ArrayList<>();
      for (FileStatus st : fs.listStatus(r)) {
        String name = st.getPath().getName();
        if (!st.isDirectory() || !name.startsWith("checkpoint-")) {
          continue;
        }
        String dir = st.getPath().toString();
        Path manifest = new Path(st.getPath(), MANIFEST);
        if (!fs.exists(manifest)) {
          LOG.warn("skipping incomplete checkpoint {} (no {} manifest)", dir, MANIFEST);
          continue;
        }
        try {
          JsonNode state = JSON.readTree(HadoopFiles.readString(manifest.toString(), conf));
          int replicas = state.path("replicas").asInt();
          boolean ok = fs.exists(new Path(st.getPath(), Checkpoints.WEIGHTS));
          for (int k = 0; k < replicas && ok; k++) {
            ok = fs.exists(new Path(st.getPath(), shardName(k, replicas)));
          }
          if (!ok) {
            LOG.warn("skipping checkpoint {}: files listed by its manifest are missing", dir);
            continue;
          }
          found.add(new Saved(dir, state.path("global_step").asLong(), state));
        } catch (IOException | RuntimeException e) {
          LOG.warn("skipping checkpoint {}: unreadable manifest ({})", dir, Redaction.text(e.getMessage(), conf));
        }
      }
      return found.stream().max((a, b) -> Long.compare(a.step(), b.step()));
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot list checkpoints under", root, e, conf);
    }
  }

  /**
   * Restores optimizer moments and trainer state into {@code t} (whose model already holds the
   * checkpoint's weights). Reads every saved shard that overlaps this rank's range, so a run may
   * resume with another number of replicas.
   */
  public void restore(Saved saved, Trainer t) {
    JsonNode s = saved.state();
    int savedReplicas = s.path("replicas").asInt();
    AdamW opt = t.optimizer();
    int len = Math.toIntExact(opt.to() - opt.from());
    float[] m = new float[len];
    float[] v = new float[len];
    long adamSteps = 0;
    for (int k = 0; k < savedReplicas; k++) {
      try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(HadoopFiles.open(saved.dir() + "/" + shardName(k, savedReplicas), conf), 1 << 20))) {
        if (in.readInt() != MAGIC) {
          throw new IOException("not an optimizer shard");
        }
        long from = in.readLong();
        long to = in.readLong();
        adamSteps = in.readLong();
        float[] fm = readFloats(in);
        float[] fv = readFloats(in);
        long a = Math.max(from, opt.from());
        long b = Math.min(to, opt.to());
        if (a < b) {
          System.arraycopy(fm, (int) (a - from), m, (int) (a - opt.from()), (int) (b - a));
          System.arraycopy(fv, (int) (a - from), v, (int) (a - opt.from()), (int) (b - a));
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
            s.path("global_step").asLong(), s.path("optimizer_step").asLong(), s.path("epoch").asInt(), s.path("step_in_epoch").asLong()),
        adamSteps,
        m,
        v,
        scaler);
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

  private static float[] readFloats(DataInputStream in) throws IOException {
    float[] a = new float[in.readInt()];
    for (int i = 0; i < a.length; i++) {
      a[i] = in.readFloat();
    }
    return a;
  }
}
