package io.sparkner.score;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;

/**
 * One loaded model per executor JVM and (path, version, device, dtype), shared by all the tasks the
 * JVM runs, as the DJL Spark extension's lazily loaded predictor does: the first task to need a model
 * loads it (others asking for the same one wait for it), later tasks and later jobs reuse it, and a
 * shutdown hook closes everything when the executor exits. The version (the weights file's size and
 * modification time, read on the driver) makes a model rewritten at the same path load anew instead
 * of being served stale; the old one stays until the JVM exits, as a task of an earlier job may still
 * be using it.
 */
final class ModelCache {
  private static final ConcurrentHashMap<Key, ScoringModel> MODELS = new ConcurrentHashMap<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(ModelCache::closeAll, "sparkner-model-cache-close"));
  }

  private ModelCache() {}

  record Key(String path, String version, String device, DataType dtype) {}

  static ScoringModel get(String path, String version, Device device, DataType dtype, Configuration conf) {
    Key key = new Key(path, version, device.toString(), dtype);
    return MODELS.computeIfAbsent(key, k -> ScoringModel.load(path, device, dtype, conf));
  }

  /** How many models this JVM holds (for tests: a model is loaded once, not once per task). */
  static int size() {
    return MODELS.size();
  }

  private static void closeAll() {
    for (ScoringModel m : MODELS.values()) {
      try {
        m.close();
      } catch (RuntimeException ignored) {
        // the JVM is exiting: nothing left to protect
      }
    }
    MODELS.clear();
  }
}
