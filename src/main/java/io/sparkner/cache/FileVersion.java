package io.sparkner.cache;

import io.sparkner.storage.HadoopFiles;
import java.io.FileNotFoundException;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * The version of files at a path, as the cache keys use it: each file's size and modification time.
 */
public final class FileVersion {
  private FileVersion() {}

  /**
   * {@code size@mtime} of each file, joined by {@code ;}: a file rewritten in place (another size
   * or modification time) gives another version.
   *
   * @throws java.io.UncheckedIOException naming the file when one cannot be read (a missing one
   *     too)
   */
  public static String of(Configuration conf, String... files) {
    StringBuilder sb = new StringBuilder();
    for (String file : files) {
      try {
        Path p = HadoopFiles.path(file);
        FileStatus st = p.getFileSystem(conf).getFileStatus(p);
        if (sb.length() > 0) {
          sb.append(';');
        }
        sb.append(st.getLen()).append('@').append(st.getModificationTime());
      } catch (FileNotFoundException e) {
        throw HadoopFiles.failure("no such file:", file, e, conf);
      } catch (IOException e) {
        throw HadoopFiles.failure("cannot read the status of", file, e, conf);
      }
    }
    return sb.toString();
  }
}
