package io.sparkner.storage;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.io.nativeio.NativeIO;

/**
 * Hadoop's {@code file:} file system (checksummed {@link LocalFileSystem}, same files, same
 * permissions) that sets and reads POSIX permissions through {@code java.nio} instead of starting a
 * process. Without Hadoop's native library — the case of every pip/Maven install and of {@code
 * bin/sparkner} — Hadoop runs {@code chmod} for each file and directory it creates and {@code ls
 * -ld} for each file it lists: a Spark write of 20 Parquet files started about 60 processes, each
 * blocking its task for about 10 ms. With the native library loaded this class does exactly what
 * Hadoop does; on a file system without POSIX attributes it falls back to Hadoop's own code.
 *
 * <p>Used by local-mode sessions ({@code spark.hadoop.fs.file.impl}, see {@link #CONF}); cloud
 * storage and HDFS are not affected.
 */
public class PosixLocalFileSystem extends LocalFileSystem {
  /** The Hadoop setting that selects this class for {@code file:} paths. */
  public static final String CONF = "fs.file.impl";

  public PosixLocalFileSystem() {
    super(new Raw());
  }

  /** The raw (checksum-less) layer: where Hadoop would start {@code chmod} and {@code ls}. */
  static final class Raw extends RawLocalFileSystem {
    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      if (NativeIO.isAvailable() || permission.getStickyBit()) {
        super.setPermission(p, permission);
        return;
      }
      java.nio.file.Path file = pathToFile(p).toPath();
      try {
        Files.setPosixFilePermissions(file, toPosix(permission));
      } catch (UnsupportedOperationException notPosix) {
        super.setPermission(p, permission);
      } catch (NoSuchFileException e) {
        throw new FileNotFoundException("File " + p + " does not exist");
      }
    }

    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
      return withPermissions(super.getFileStatus(f));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
      FileStatus[] statuses = super.listStatus(f);
      if (statuses != null) {
        for (int i = 0; i < statuses.length; i++) {
          statuses[i] = withPermissions(statuses[i]);
        }
      }
      return statuses;
    }

    /**
     * Hadoop's status loads owner, group and permission lazily, with {@code ls -ld}, the first time
     * anyone asks (a {@code LocatedFileStatus} always asks): read them now, with one {@code stat}
     * call in this process.
     */
    private FileStatus withPermissions(FileStatus s) throws IOException {
      if (NativeIO.isAvailable() || s.isSymlink()) {
        return s;
      }
      Map<String, Object> a;
      try {
        // the "unix" view (Linux, macOS) has the whole mode, sticky bit included
        a = Files.readAttributes(pathToFile(s.getPath()).toPath(), "unix:mode,owner,group");
      } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
        return s;
      } catch (NoSuchFileException e) {
        // listed a moment ago, gone now (a concurrent rename of a task's output): Hadoop's
        // own status would fail the same way when asked for its permission
        throw new FileNotFoundException("File " + s.getPath() + " does not exist");
      }
      return new FileStatus(
          s.getLen(),
          s.isDirectory(),
          s.getReplication(),
          s.getBlockSize(),
          s.getModificationTime(),
          s.getAccessTime(),
          new FsPermission((short) ((Integer) a.get("mode") & 01777)),
          ((UserPrincipal) a.get("owner")).getName(),
          ((GroupPrincipal) a.get("group")).getName(),
          s.getPath());
    }
  }

  private static final PosixFilePermission[] BITS = {
    PosixFilePermission.OTHERS_EXECUTE,
    PosixFilePermission.OTHERS_WRITE,
    PosixFilePermission.OTHERS_READ,
    PosixFilePermission.GROUP_EXECUTE,
    PosixFilePermission.GROUP_WRITE,
    PosixFilePermission.GROUP_READ,
    PosixFilePermission.OWNER_EXECUTE,
    PosixFilePermission.OWNER_WRITE,
    PosixFilePermission.OWNER_READ,
  };

  /** The rwx bits of a Hadoop permission (a sticky bit goes to Hadoop's own {@code chmod}). */
  static Set<PosixFilePermission> toPosix(FsPermission permission) {
    int mode = permission.toShort();
    Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
    for (int bit = 0; bit < BITS.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        out.add(BITS[bit]);
      }
    }
    return out;
  }
}
