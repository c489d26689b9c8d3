package io.sparkner.tokenizer;

import io.sparkner.cache.FileVersion;
import io.sparkner.cache.VersionedCache;
import io.sparkner.storage.HadoopFiles;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * One tokenizer per executor JVM and {@code tokenizer.json} version, shared by the JVM's tasks (the
 * native tokenizer is thread-safe and loading it takes longer than tokenizing a partition). The
 * path may be any Hadoop path to a {@code tokenizer.json} or to a checkpoint directory holding one;
 * a remote file is copied to a local temporary file while it is loaded. The key has the file's size
 * and modification time: a {@code tokenizer.json} rewritten at the same path is loaded anew, and
 * the old tokenizer is closed once no task holds it ({@link VersionedCache}).
 */
public final class TokenizerCache {
  private static final VersionedCache<TokenizerHandle> CACHE = new VersionedCache<>("tokenizer");

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(CACHE::closeAll, "sparkner-tokenizer-cache-close"));
  }

  private TokenizerCache() {}

  /**
   * The tokenizer at {@code path} as its file is now, held until the lease is closed: close it when
   * the task (or the driver-side check) is done with the tokenizer.
   */
  public static VersionedCache.Lease<TokenizerHandle> acquire(String path, Configuration conf) {
    return acquire(path, null, conf);
  }

  /**
   * {@link #acquire(String, Configuration)}, refusing a file that is no longer at {@code
   * expectedVersion} ({@link #version}, read on the driver when the job started): the tasks of one
   * job tokenize with one tokenizer, or fail saying why.
   */
  public static VersionedCache.Lease<TokenizerHandle> acquire(
      String path, String expectedVersion, Configuration conf) {
    String file = tokenizerFile(path, conf);
    String version = FileVersion.of(conf, file);
    if (expectedVersion != null && !expectedVersion.equals(version)) {
      throw new IllegalStateException(
          "tokenizer "
              + file
              + " was rewritten after the job started (size@mtime "
              + expectedVersion
              + ", now "
              + version
              + "): run the job again");
    }
    return CACHE.acquire(new VersionedCache.Key(file, version, ""), () -> load(file, conf));
  }

  /** The version (size and modification time) of the tokenizer file at {@code path}. */
  public static String version(String path, Configuration conf) {
    return FileVersion.of(conf, tokenizerFile(path, conf));
  }

  /** How many tokenizers this JVM holds (for tests). */
  static int size() {
    return CACHE.size();
  }

  /** The file a user's {@code --tokenizer} path stands for. */
  public static String tokenizerFile(String path, Configuration conf) {
    String candidate = path.endsWith("/") ? path + "tokenizer.json" : path + "/tokenizer.json";
    if (path.endsWith(".json")) {
      candidate = path;
    }
    if (!HadoopFiles.exists(candidate, conf)) {
      throw new IllegalArgumentException(
          "no tokenizer.json at "
              + path
              + " (give a tokenizer.json file or a directory holding one)");
    }
    return candidate;
  }

  private static TokenizerHandle load(String file, Configuration conf) {
    String name = file.substring(file.lastIndexOf('/') + 1);
    String dir = file.substring(0, file.lastIndexOf('/'));
    // DJL's Hugging Face tokenizer (native code) reads local files only: a remote tokenizer.json is
    // copied down for the load (the native tokenizer keeps what it read) and the copy deleted after
    return HadoopFiles.withLocalDirectory(
        dir,
        conf,
        List.of(name),
        local -> {
          try {
            return TokenizerHandle.load(local.resolve(name));
          } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException(
                "cannot load tokenizer " + file + ": " + cause.getMessage(), e);
          }
        });
  }
}
