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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * File access for every input and output path, through Hadoop {@link FileSystem} so that {@code
 * file:}, {@code hdfs:}, {@code s3a:} and {@code abfss:} behave alike.
 */
public final class HadoopFiles {
  private HadoopFiles() {}

  /**
   * The data files a path stands for, sorted: the file itself, every file below a directory
   * (skipping names that start with {@code _} or {@code .}, as Spark does), or a glob's matches.
   *
   * @throws IllegalArgumentException naming the path when nothing is there
   */
  public static List<String> listFiles(String path, Configuration conf) {
    try {
      Path p = new Path(path);
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
      throw new UncheckedIOException("cannot list " + path + ": " + e.getMessage(), e);
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
    try {
      Path p = new Path(path);
      return p.getFileSystem(conf).makeQualified(p).toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + path + ": " + e.getMessage(), e);
    }
  }

  public static InputStream open(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    return p.getFileSystem(conf).open(p);
  }

  public static boolean exists(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      return p.getFileSystem(conf).exists(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot check " + path + ": " + e.getMessage(), e);
    }
  }

  public static void writeString(String path, String content, Configuration conf) {
    Path p = new Path(path);
    try (FSDataOutputStream out = p.getFileSystem(conf).create(p, true)) {
      out.write(content.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
    }
  }

  /** Moves {@code from} over {@code to} (deleting {@code to} first: HDFS rename does not overwrite). */
  public static void replace(String from, String to, Configuration conf) {
    try {
      Path src = new Path(from);
      Path dst = new Path(to);
      FileSystem fs = src.getFileSystem(conf);
      fs.delete(dst, false);
      if (!fs.rename(src, dst)) {
        throw new IOException("rename returned false");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot move " + from + " to " + to + ": " + e.getMessage(), e);
    }
  }

  public static String readString(String path, Configuration conf) {
    try (InputStream in = open(path, conf)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * The local file system path of a Hadoop path when it is local ({@code file:} or no scheme), else
   * null: native code (tokenizers, safetensors mapping) needs local files.
   */
  public static java.nio.file.Path asLocal(String path) {
    java.net.URI uri = new Path(path).toUri();
    return uri.getScheme() == null || uri.getScheme().equals("file") ? java.nio.file.Path.of(uri.getPath()) : null;
  }

  /** A local copy of the named files of a directory (the directory itself when it is local). */
  public static java.nio.file.Path localDirectory(String dir, Configuration conf, String... names) {
    java.nio.file.Path local = asLocal(dir);
    if (local != null) {
      return local;
    }
    try {
      java.nio.file.Path tmp = Files.createTempDirectory("sparkner");
      for (String name : names) {
        if (exists(dir + "/" + name, conf)) {
          copyToLocal(dir + "/" + name, tmp.resolve(name), conf);
        }
      }
      return tmp;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Copies a file from any Hadoop path to a local file (for native libraries that need one). */
  public static void copyToLocal(String path, java.nio.file.Path local, Configuration conf) {
    try (InputStream in = open(path, conf)) {
      Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + path + ": " + e.getMessage(), e);
    }
  }

  public static OutputStream create(String path, Configuration conf) throws IOException {
    Path p = new Path(path);
    return p.getFileSystem(conf).create(p, true);
  }

  public static void delete(String path, Configuration conf) {
    try {
      Path p = new Path(path);
      p.getFileSystem(conf).delete(p, true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + path + ": " + e.getMessage(), e);
    }
  }
}
