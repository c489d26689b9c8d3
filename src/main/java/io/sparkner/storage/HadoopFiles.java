package io.sparkner.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.UnsupportedFileSystemException;

/**
 * File access for every input and output path, through Hadoop {@link FileSystem} so that {@code
 * file:}, {@code hdfs:}, {@code s3a:}, {@code abfss:} and {@code wasbs:} behave alike. Every user
 * path goes through {@link #path(String)}, which refuses credentials inside the path; every error
 * names the path and is {@linkplain Redaction redacted}.
 */
public final class HadoopFiles {
  private HadoopFiles() {}

  /**
   * A user's path as a Hadoop {@link Path}.
   *
   * @throws IllegalArgumentException when the path carries credentials ({@code
   *     s3a://KEY:SECRET@bucket/...}, an Azure SAS {@code ?sig=...}): Hadoop 3.3 refuses them too,
   *     and a path is printed and recorded in summaries. The message shows the path without them.
   */
  public static Path path(String path) {
    if (path == null || path.isBlank()) {
      throw new IllegalArgumentException("empty path");
    }
    if (!Redaction.uri(path).equals(path)) {
      String scheme = new Path(Redaction.uri(path)).toUri().getScheme();
      throw new IllegalArgumentException(
          Redaction.uri(path)
              + ": credentials inside a path are not accepted; give them to the Hadoop"
              + " configuration instead ("
              + credentialHint(scheme)
              + ")");
    }
    return new Path(path);
  }

  private static String credentialHint(String scheme) {
    String s = scheme == null ? "" : scheme.toLowerCase(Locale.ROOT);
    if (s.startsWith("s3")) {
      return "set spark.hadoop.fs.s3a.access.key and spark.hadoop.fs.s3a.secret.key, per bucket"
          + " spark.hadoop.fs.s3a.bucket.BUCKET.access.key and .secret.key, or use an"
          + " instance profile";
    }
    if (s.startsWith("wasb") || s.startsWith("abfs")) {
      return "set spark.hadoop.fs.azure.account.key.ACCOUNT.dfs.core.windows.net, SAS or OAuth"
          + " settings, or use a managed identity";
    }
    return "spark.hadoop.* settings or core-site.xml";
  }

  /**
   * The data files a path stands for, sorted: the file itself, every file below a directory
   * (skipping names that start with {@code _} or {@code .}, as Spark does), or a glob's matches.
   *
   * @throws IllegalArgumentException naming the path when nothing is there
   */
  public static List<String> listFiles(String path, Configuration conf) {
    Path p = path(path);
    try {
      FileSystem fs = p.getFileSystem(conf);
      FileStatus[] matches = fs.globStatus(p);
      if (matches == null || matches.length == 0) {
        throw new IllegalArgumentException("no such file or directory: " + path);
      }
      List<String> out = new ArrayList<>();
      for (FileStatus st : matches) {
        if (st.isDirectory()) {
          RemoteIterator<LocatedFileStatus> it = fs.listFiles(st.getPath(), true);
          while (it.hasNext()) {
            LocatedFileStatus f = it.next();
            if (!hidden(st.getPath(), f.getPath())) {
              out.add(f.getPath().toString());
            }
          }
        } else {
          out.add(st.getPath().toString());
        }
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException("no data files under " + path);
      }
      out.sort(null);
      return out;
    } catch (IOException e) {
      throw failure("cannot list", path, e, conf);
    }
  }

  private static boolean hidden(Path root, Path file) {
    for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
      String n = p.getName();
      if (n.startsWith("_") || n.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The fully qualified form of a user's path ({@code data/x} becomes {@code file:/home/u/data/x}
   * on a local default file system), resolved on the driver so that executors, whose working
   * directory differs, read the same file.
   */
  public static String qualify(String path, Configuration conf) {
    Path p = path(path);
    try {
      return p.getFileSystem(conf).makeQualified(p).toString();
    } catch (IOException e) {
      throw failure("cannot resolve", path, e, conf);
    }
  }

  /** Opens a file; the caller wraps failures with what it was reading (see {@link #failure}). */
  public static InputStream open(String path, Configuration conf) throws IOException {
    Path p = path(path);
    return p.getFileSystem(conf).open(p);
  }

  public static boolean exists(String path, Configuration conf) {
    Path p = path(path);
    try {
      return p.getFileSystem(conf).exists(p);
    } catch (IOException e) {
      throw failure("cannot check", path, e, conf);
    }
  }

  public static void writeString(String path, String content, Configuration conf) {
    Path p = path(path);
    try (FSDataOutputStream out = createFile(p, conf)) {
      out.write(content.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw failure("cannot write", path, e, conf);
    }
  }

  /**
   * Moves {@code from} over {@code to} so that a reader of {@code to} always finds a complete
   * version: through {@link FileContext#rename} with OVERWRITE where the file system has one (one
   * step on HDFS; the local and object-store connectors delete the target just before they rename
   * or copy onto it); elsewhere the current {@code to} is first moved to {@link #previousOf} (read
   * by {@link #readReplaced} while {@code to} is absent) and removed once the new version is in
   * place, and moved back if that fails. Never a delete before the rename: a failure between the
   * two steps loses nothing.
   *
   * <p>On a checksummed file system ({@code file:}, also Databricks' {@code /dbfs} mount) a file
   * has a {@code .NAME.crc} sidecar, and Hadoop's own overwriting rename deletes the target, then
   * moves the data file, then the sidecar: a process killed in between left no file at all (Hadoop
   * 3.3) or the new data with the old checksums, which every later read refuses (Hadoop 3.4; a
   * training run SIGKILLed while rank 0 rewrote {@code metrics.jsonl} could never resume). Here the
   * target's sidecar goes first (the target stays complete, read unverified), then the data file
   * moves over the target in one rename(2) and its sidecar after it, on the raw file system:
   * whenever the process dies, the target is the old or the new version, with its own checksums or
   * none.
   */
  public static void replace(String from, String to, Configuration conf) {
    Path src = path(from);
    Path dst = path(to);
    try {
      FileSystem target = dst.getFileSystem(conf);
      if (target instanceof ChecksumFileSystem checksummed && "file".equals(target.getScheme())) {
        replaceChecksummed(checksummed, src, dst);
        return;
      }
      try {
        FileContext.getFileContext(dst.toUri(), conf).rename(src, dst, Options.Rename.OVERWRITE);
      } catch (UnsupportedFileSystemException noFileContext) {
        FileSystem fs = dst.getFileSystem(conf);
        Path prev = path(previousOf(to));
        boolean moved = false;
        if (fs.exists(dst)) {
          fs.delete(
              prev, false); // left by an interrupted replace; dst is complete, so nothing is lost
          if (!fs.rename(dst, prev)) {
            throw new IOException("rename of " + dst + " to " + prev + " returned false");
          }
          moved = true;
        }
        boolean done = false;
        try {
          done = fs.rename(src, dst);
        } finally {
          if (!done && moved) {
            fs.rename(prev, dst); // put the complete previous version back
          }
        }
        if (!done) {
          throw new IOException("rename returned false");
        }
        fs.delete(prev, false);
      }
    } catch (IOException e) {
      throw failure("cannot move " + from + " to", to, e, conf);
    }
  }

  private static void replaceChecksummed(ChecksumFileSystem fs, Path src, Path dst)
      throws IOException {
    FileSystem raw = fs.getRawFileSystem();
    Path srcSums = fs.getChecksumFile(src);
    Path dstSums = fs.getChecksumFile(dst);
    if (!raw.exists(src)) {
      throw new java.io.FileNotFoundException(src + " does not exist");
    }
    raw.delete(dstSums, false);
    if (!raw.rename(src, dst)) { // rename(2): replaces dst in one step
      throw new IOException("rename returned false");
    }
    if (raw.exists(srcSums) && !raw.rename(srcSums, dstSums)) {
      throw new IOException("rename of the checksums " + srcSums + " returned false");
    }
  }

  /** Where {@link #replace} keeps the previous version of {@code path} between its two renames. */
  public static String previousOf(String path) {
    Path p = path(path);
    return new Path(p.getParent(), "." + p.getName() + ".prev").toString();
  }

  /**
   * The content of a file written through {@link #replace}, or null when there is none: {@code
   * path}, or while a replace without an overwriting rename has moved it aside, its previous
   * version.
   */
  public static String readReplaced(String path, Configuration conf) {
    String prev = previousOf(path);
    for (String f : List.of(path, prev, path)) {
      try {
        if (exists(f, conf)) {
          return readString(f, conf);
        }
      } catch (UncheckedIOException e) {
        if (!(e.getCause() instanceof java.io.FileNotFoundException)) {
          throw e;
        }
        // moved away between the check and the read: look again
      }
    }
    return null;
  }

  /**
   * Creates {@code path} holding {@code content} only if nothing is there yet: true when this call
   * created it, false (and nothing written) when the file exists, however close the two creators
   * are where the file system decides in one step. The file appears complete or not at all: the
   * content is written beside it first, then published under the name without overwriting.
   *
   * <ul>
   *   <li>local ({@code file:}): a hard link to the written file ({@code link(2)} fails if the name
   *       exists); where the file system has no hard links (some FUSE mounts), an exclusive create
   *       ({@code O_CREAT|O_EXCL}), whose content a concurrent reader may see before it is
   *       complete;
   *   <li>HDFS (and any file system whose {@link FileContext} rename refuses an existing target in
   *       one step): a rename without overwrite, decided by the NameNode;
   *   <li>s3a, wasb(s), abfs(s) and file systems without a {@link FileContext}: the connector
   *       checks that the target is absent and then copies or renames, two steps: two writers
   *       within that window may both succeed, the later one replacing the earlier's file.
   * </ul>
   */
  public static boolean createNew(String path, String content, Configuration conf) {
    Path p = path(path);
    Path tmp =
        new Path(
            p.getParent(),
            "."
                + p.getName()
                + "."
                + Long.toHexString(new java.security.SecureRandom().nextLong())
                + ".tmp");
    byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
    try {
      FileSystem fs = p.getFileSystem(conf);
      try (FSDataOutputStream out = createFile(tmp, conf)) {
        out.write(bytes);
      }
      try {
        java.nio.file.Path local = asLocal(path);
        if (local != null) {
          return linkNew(local, asLocal(tmp.toString()), bytes);
        }
        try {
          FileContext.getFileContext(p.toUri(), conf).rename(tmp, p, Options.Rename.NONE);
          return true;
        } catch (FileAlreadyExistsException exists) {
          return false;
        } catch (UnsupportedFileSystemException noFileContext) {
          // FileSystem's rename does not overwrite an existing file (the local one excepted, see
          // above)
          if (fs.exists(p)) {
            return false;
          }
          if (fs.rename(tmp, p)) {
            return true;
          }
          if (fs.exists(p)) {
            return false;
          }
          throw new IOException("rename of " + tmp + " returned false");
        }
      } finally {
        if (fs.exists(tmp)) {
          fs.delete(tmp, false);
        }
      }
    } catch (IOException e) {
      throw failure("cannot create", path, e, conf);
    }
  }

  private static boolean linkNew(
      java.nio.file.Path target, java.nio.file.Path written, byte[] bytes) throws IOException {
    try {
      Files.createLink(target, written);
      return true;
    } catch (java.nio.file.FileAlreadyExistsException exists) {
      return false;
    } catch (UnsupportedOperationException | IOException noHardLinks) {
      if (Files.exists(target)) {
        return false;
      }
      try (OutputStream out =
          Files.newOutputStream(
              target,
              java.nio.file.StandardOpenOption.CREATE_NEW,
              java.nio.file.StandardOpenOption.WRITE)) {
        out.write(bytes);
        return true;
      } catch (java.nio.file.FileAlreadyExistsException exists) {
        return false;
      }
    }
  }

  public static String readString(String path, Configuration conf) {
    try (InputStream in = open(path, conf)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw failure("cannot read", path, e, conf);
    }
  }

  /** Creates (overwrites) a file; parent directories are created as needed. */
  public static OutputStream create(String path, Configuration conf) throws IOException {
    return createFile(path(path), conf);
  }

  private static FSDataOutputStream createFile(Path p, Configuration conf) throws IOException {
    FileSystem fs = p.getFileSystem(conf);
    if (fs.getScheme().startsWith("wasb") && p.getParent() != null) {
      // WASB (hadoop-azure 3.3.4) fails with a NullPointerException when it creates a file in a
      // container that does not exist yet; mkdirs creates the container (and is cheap otherwise)
      fs.mkdirs(p.getParent());
    }
    return fs.create(p, true);
  }

  public static void delete(String path, Configuration conf) {
    Path p = path(path);
    try {
      p.getFileSystem(conf).delete(p, true);
    } catch (IOException e) {
      throw failure("cannot delete", path, e, conf);
    }
  }

  /**
   * The local file system path of a Hadoop path when it is local ({@code file:} or no scheme), else
   * null: native code (tokenizers, safetensors mapping) needs local files.
   */
  public static java.nio.file.Path asLocal(String path) {
    java.net.URI uri = path(path).toUri();
    return uri.getScheme() == null || uri.getScheme().equals("file")
        ? java.nio.file.Path.of(uri.getPath())
        : null;
  }

  /**
   * Runs {@code use} on a local directory holding the named files of {@code dir}: the directory
   * itself when it is local, else a temporary copy that is deleted when {@code use} returns. For
   * native code that reads local files only (DJL's Hugging Face tokenizer, the memory-mapped
   * safetensors reader); names absent from {@code dir} are skipped.
   */
  public static <T> T withLocalDirectory(
      String dir, Configuration conf, List<String> names, Function<java.nio.file.Path, T> use) {
    java.nio.file.Path local = asLocal(dir);
    if (local != null) {
      return use.apply(local);
    }
    java.nio.file.Path tmp = copyDown(dir, conf, names);
    try {
      return use.apply(tmp);
    } finally {
      FileUtil.fullyDelete(tmp.toFile());
    }
  }

  /**
   * A local directory holding the named files of {@code dir}: the directory itself when it is
   * local, else a temporary copy deleted when the JVM exits. For a copy that must outlive one call
   * (a tokenizer cached per executor); prefer {@link #withLocalDirectory} otherwise.
   */
  public static java.nio.file.Path localDirectory(String dir, Configuration conf, String... names) {
    java.nio.file.Path local = asLocal(dir);
    if (local != null) {
      return local;
    }
    java.nio.file.Path tmp = copyDown(dir, conf, List.of(names));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> FileUtil.fullyDelete(tmp.toFile())));
    return tmp;
  }

  /** Copies the named files of a remote directory into a new local temporary directory. */
  private static java.nio.file.Path copyDown(String dir, Configuration conf, List<String> names) {
    java.nio.file.Path tmp;
    try {
      tmp = Files.createTempDirectory("sparkner-copy");
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create a local temporary directory for a copy of "
              + Redaction.uri(dir)
              + ": "
              + e.getMessage(),
          e);
    }
    for (String name : names) {
      String file = dir + "/" + name;
      if (exists(file, conf)) {
        copyToLocal(file, tmp.resolve(name), conf);
      }
    }
    return tmp;
  }

  /** Copies a file from any Hadoop path to a local file (for native libraries that need one). */
  public static void copyToLocal(String path, java.nio.file.Path local, Configuration conf) {
    try (InputStream in = open(path, conf)) {
      Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw failure("cannot copy to " + local + " from", path, e, conf);
    }
  }

  /**
   * The exception for a failed storage operation: what failed, on which path, why; for a remote
   * file system also the {@code fs.SCHEME.*} settings the job set (credentials masked), which is
   * what one checks first when an endpoint, a region or a credential is wrong. Redacted.
   */
  public static UncheckedIOException failure(
      String what, String path, IOException e, Configuration conf) {
    StringBuilder msg =
        new StringBuilder(what).append(' ').append(path).append(": ").append(e.getMessage());
    String scheme = new Path(Redaction.uri(path)).toUri().getScheme();
    if (scheme != null
        && !scheme.equals("file")
        && conf != null
        && !(e instanceof java.io.FileNotFoundException)) {
      String prefix =
          "fs."
              + (scheme.startsWith("s3")
                  ? "s3a"
                  : scheme.startsWith("wasb") || scheme.startsWith("abfs") ? "azure" : scheme)
              + ".";
      var settings = Redaction.settings(conf, prefix);
      if (!settings.isEmpty()) {
        msg.append(" (settings: ").append(settings).append(')');
      }
    }
    return new UncheckedIOException(Redaction.text(msg.toString(), conf), e);
  }
}
