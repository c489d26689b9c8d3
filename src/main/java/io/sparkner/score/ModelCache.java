package io.sparkner.score;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.sparkner.cache.FileVersion;
import io.sparkner.cache.VersionedCache;
import io.sparkner.model.Checkpoints;
import io.sparkner.storage.Redaction;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded model per executor JVM and (path, version, device, dtype), shared by all the tasks the
 * JVM runs, as the DJL Spark extension's lazily loaded predictor does: the first task to need a
 * model loads it (others asking for the same one wait for it; tasks asking for other models do
 * not), later tasks and later jobs reuse it, and a shutdown hook closes everything when the
 * executor exits. The version ({@link #version}: size and modification time of config.json,
 * model.safetensors and tokenizer.json, read on the driver) makes a checkpoint rewritten at the
 * same path load anew; the old version is evicted then and closed (libtorch and GPU memory freed)
 * as soon as no task holds it ({@link VersionedCache}): a task of an earlier job may still be
 * scoring with it.
 */
final class ModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
  private static final VersionedCache<ScoringModel> MODELS = new VersionedCache<>("model");

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(MODELS::closeAll, "sparkner-model-cache-close"));
  }

  private ModelCache() {}

  /** The model, held until the lease is closed (at the latest when the task ends). */
  static VersionedCache.Lease<ScoringModel> acquire(
      String path, String version, Device device, DataType dtype, Configuration conf) {
    VersionedCache.Key key = new VersionedCache.Key(path, version, device + "/" + dtype);
    return MODELS.acquire(
        key,
        () -> {
          ScoringModel model = ScoringModel.load(path, version, device, dtype, conf);
          // one line per load: an executor's log shows the model was loaded once per JVM, not per
          // task
          LOG.info(
              "model cache: loaded {} version {} on {}",
              Redaction.uri(path),
              version,
              key.variant());
          return model;
        });
  }

  /** The version of the checkpoint at {@code path}: its files' sizes and modification times. */
  static String version(String path, Configuration conf) {
    return FileVersion.of(
        conf,
        path + "/" + Checkpoints.CONFIG,
        path + "/" + Checkpoints.WEIGHTS,
        path + "/" + Checkpoints.TOKENIZER);
  }

  /** How many models this JVM holds (for tests: a model is loaded once, not once per task). */
  static int size() {
    return MODELS.size();
  }

  /** The models this JVM holds now (for tests: evicted ones are not among them). */
  static List<ScoringModel> loaded() {
    return MODELS.values();
  }
}
