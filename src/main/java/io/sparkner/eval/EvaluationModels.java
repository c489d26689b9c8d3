package io.sparkner.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.cache.FileVersion;
import io.sparkner.cache.VersionedCache;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.storage.Redaction;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model an executor evaluates with: one per executor JVM and (path, version, device, dtype),
 * shared by the JVM's tasks and kept for later jobs, as scoring's model cache does (the same {@link
 * VersionedCache}: a checkpoint rewritten at the same path loads anew, the old version is closed
 * once no task holds it). Evaluation's own cache, because it accepts what {@code evaluate} accepts:
 * config.json and model.safetensors read as {@code evaluate} reads them on the driver ({@link
 * Checkpoints#read}, no tokenizer.json needed), always float32.
 */
final class EvaluationModels {
  private static final Logger LOG = LoggerFactory.getLogger(EvaluationModels.class);
  private static final VersionedCache<Loaded> MODELS = new VersionedCache<>("evaluation model");
  private static final AtomicInteger LOADS = new AtomicInteger();

  /** Evaluation computes in float32 on every device, as on the driver. */
  static final DataType DTYPE = DataType.FLOAT32;

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(MODELS::closeAll, "sparkner-evaluation-model-cache-close"));
  }

  private EvaluationModels() {}

  /** A loaded model and the manager that holds its weights. */
  static final class Loaded implements AutoCloseable {
    private final TokenClassificationModel model;

    private Loaded(TokenClassificationModel model) {
      this.model = model;
    }

    TokenClassificationModel model() {
      return model;
    }

    @Override
    public void close() {
      model.close();
    }
  }

  /** The model, held until the lease is closed (at the latest when the task ends). */
  static VersionedCache.Lease<Loaded> acquire(
      String path, String version, Device device, Configuration conf) {
    VersionedCache.Key key = new VersionedCache.Key(path, version, device + "/" + DTYPE);
    return MODELS.acquire(
        key,
        () -> {
          String now = version(path, conf);
          if (!now.equals(version)) {
            throw new IllegalStateException(
                "the checkpoint at "
                    + Redaction.uri(path)
                    + " was rewritten after the evaluation started (config, weights size@mtime "
                    + version
                    + ", now "
                    + now
                    + "): run the evaluation again");
          }
          Checkpoints.Weights weights = Checkpoints.read(path, conf, null, 0);
          NDManager manager = NDManager.newBaseManager(device);
          Loaded loaded;
          try {
            loaded = new Loaded(Checkpoints.build(weights, manager, DTYPE));
          } catch (RuntimeException e) {
            manager.close();
            throw e;
          }
          LOADS.incrementAndGet();
          // one line per load: the log shows the model was loaded once per JVM, not per task
          LOG.info(
              "evaluation model cache: loaded {} version {} on {}",
              Redaction.uri(path),
              version,
              key.variant());
          return loaded;
        });
  }

  /** The version of the checkpoint at {@code path}: config.json's and the weights' size@mtime. */
  static String version(String path, Configuration conf) {
    return FileVersion.of(conf, path + "/" + Checkpoints.CONFIG, path + "/" + Checkpoints.WEIGHTS);
  }

  /** How many times this JVM loaded a model (for tests: once per version, not once per task). */
  static int loads() {
    return LOADS.get();
  }
}
