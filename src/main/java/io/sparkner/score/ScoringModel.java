package io.sparkner.score;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.tokenizer.TokenizerHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * A fine-tuned checkpoint ready to score: the model on its device in its dtype, the checkpoint's
 * own tokenizer, and its label list. Shared by the tasks of an executor ({@link ModelCache}); the
 * model is only read, and every forward pass allocates in its own sub-manager.
 */
final class ScoringModel implements AutoCloseable {
  private final TokenClassificationModel model;
  private final TokenizerHandle tokenizer;
  private final String path;
  private boolean closed;

  private ScoringModel(TokenClassificationModel model, TokenizerHandle tokenizer, String path) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.path = path;
  }

  /**
   * fp16 where the device computes it natively (GPU); fp32 on CPU, where fp16 matmuls are slow or
   * missing.
   */
  static DataType dtype(Device device) {
    return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
  }

  /**
   * Loads a checkpoint from any Hadoop path: a remote one is copied to a local temporary directory
   * while it is read (the weights are memory-mapped, the tokenizer is native) and deleted after.
   */
  static ScoringModel load(
      String path, String version, Device device, DataType dtype, Configuration conf) {
    String now = ModelCache.version(path, conf);
    if (!now.equals(version)) {
      // the job's tasks score with the checkpoint the driver saw, or fail saying why
      throw new IllegalStateException(
          "the checkpoint at "
              + path
              + " was rewritten after the job started (config, weights, tokenizer size@mtime "
              + version
              + ", now "
              + now
              + "): run the job again");
    }
    return HadoopFiles.withLocalDirectory(
        path, conf, Checkpoints.FILES, local -> load(local, path, device, dtype));
  }

  private static ScoringModel load(Path local, String path, Device device, DataType dtype) {
    Path tokenizerFile = local.resolve(Checkpoints.TOKENIZER);
    if (!Files.isRegularFile(tokenizerFile)) {
      throw new IllegalArgumentException(
          "no " + Checkpoints.TOKENIZER + " in the model directory " + path);
    }
    Checkpoints.Weights weights = Checkpoints.read(local, null, 0);
    Checkpoints.LoadReport report = weights.report();
    if (!report.newlyInitialized().isEmpty() || !report.mismatched().isEmpty()) {
      // a base model (no classifier) would "score" with a random head: refuse rather than emit
      // noise
      throw new IllegalArgumentException(
          path
              + " is not a fine-tuned token-classification checkpoint: "
              + report.describe().trim());
    }
    NDManager manager = NDManager.newBaseManager(device);
    try {
      TokenClassificationModel model = Checkpoints.build(weights, manager, dtype);
      return new ScoringModel(model, TokenizerHandle.load(tokenizerFile), path);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** The checkpoint's path, as the tagger qualified it. */
  String path() {
    return path;
  }

  TokenClassificationModel model() {
    return model;
  }

  TokenizerHandle tokenizer() {
    return tokenizer;
  }

  /** The model's {@code id2label} in id order. */
  List<String> labels() {
    return model.config().labels;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      tokenizer.close();
      model.close();
    }
  }

  /** Whether {@link #close} freed the model and its tokenizer. */
  synchronized boolean isClosed() {
    return closed;
  }
}
