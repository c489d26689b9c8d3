package io.sparkner.align;

import io.sparkner.storage.HadoopFiles;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;

/**
 * One tokenizer per executor JVM and path, shared by the JVM's tasks (the native tokenizer is
 * thread-safe and loading it takes longer than tokenizing a partition). The path may be any Hadoop
 * path to a {@code tokenizer.json} or to a checkpoint directory holding one; a remote file is copied
 * to a local temporary file first.
 */
public final class TokenizerCache {
  private static final ConcurrentHashMap<String, TokenizerHandle> CACHE = new ConcurrentHashMap<>();

  private TokenizerCache() {}

  public static TokenizerHandle get(String path, Configuration conf) {
    return CACHE.computeIfAbsent(path, p -> load(p, conf));
  }

  /** The tokenizer.json file a user's {@code --tokenizer} path stands for. */
  public static String tokenizerFile(String path, Configuration conf) {
    String candidate = path.endsWith("/") ? path + "tokenizer.json" : path + "/tokenizer.json";
    if (path.endsWith(".json")) {
      candidate = path;
    }
    if (!HadoopFiles.exists(candidate, conf)) {
      throw new IllegalArgumentException(
          "no tokenizer.json at " + path + " (give a tokenizer.json file or a directory holding one)");
    }
    return candidate;
  }

  private static TokenizerHandle load(String path, Configuration conf) {
    String file = tokenizerFile(path, conf);
    String name = file.substring(file.lastIndexOf('/') + 1);
    String dir = file.substring(0, file.lastIndexOf('/'));
    // DJL's Hugging Face tokenizer (native code) reads local files only: a remote tokenizer.json is
    // copied down once per JVM; the copy lives as long as the cached tokenizer (until JVM exit)
    java.nio.file.Path local = HadoopFiles.localDirectory(dir, conf, name).resolve(name);
    try {
      return TokenizerHandle.load(local);
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException("cannot load tokenizer " + file + ": " + cause.getMessage(), e);
    }
  }
}
