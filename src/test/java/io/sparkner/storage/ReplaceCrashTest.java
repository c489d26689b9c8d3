package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HadoopFiles#replace} on the checksummed {@code file:} file system when the process dies in
 * the middle of it: whatever step it died at, the target reads afterwards as its old or its new
 * version. The death is a Hadoop raw local file system (under both of Hadoop's APIs, FileSystem and
 * FileContext) whose rename of the chosen kind of file throws an Error, as far as the caller is
 * concerned the same as a SIGKILL at that instant. Before, Hadoop's rename moved the data file and
 * then its {@code .crc} sidecar: dying between the two left the new data with the old checksums and
 * every later read failed (a training run SIGKILLed while rank 0 rewrote metrics.jsonl could not
 * resume: StandaloneClusterIT saw it).
 */
class ReplaceCrashTest {
  @TempDir Path dir;

  /** The process "dies" at the rename of a file whose name ends with this (null: no death). */
  static volatile String dieAtRenameOf;

  static final class Died extends Error {
    Died(String what) {
      super("died at the rename of " + what);
    }
  }

  /** Hadoop's raw local file system, dying at the chosen rename. */
  public static final class DyingRaw extends RawLocalFileSystem {
    @Override
    public boolean rename(org.apache.hadoop.fs.Path src, org.apache.hadoop.fs.Path dst)
        throws IOException {
      String at = dieAtRenameOf;
      if (at != null && src.getName().endsWith(at)) {
        throw new Died(src.getName());
      }
      return super.rename(src, dst);
    }
  }

  /** {@code fs.file.impl}: the checksummed local file system over {@link DyingRaw}. */
  public static final class DyingLocal extends LocalFileSystem {
    public DyingLocal() {
      super(new DyingRaw());
    }
  }

  /** {@code fs.AbstractFileSystem.file.impl} (FileContext): the same, as Hadoop's LocalFs is. */
  public static final class DyingLocalFs extends ChecksumFs {
    public DyingLocalFs(URI uri, Configuration conf)
        throws IOException, java.net.URISyntaxException {
      super(new DyingRawFs(uri, conf));
    }
  }

  public static final class DyingRawFs extends DelegateToFileSystem {
    public DyingRawFs(URI uri, Configuration conf) throws IOException, java.net.URISyntaxException {
      super(uri, new DyingRaw(), conf, "file", false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1;
    }
  }

  @ParameterizedTest(name = "dies at the rename of the {0} file")
  @ValueSource(strings = {"tmp", "crc"})
  void theTargetReadsAsItsOldOrNewVersionWhereverTheProcessDies(String renameOf)
      throws IOException {
    Configuration plain = new Configuration();
    plain.setBoolean("fs.file.impl.disable.cache", true);
    Configuration dying = new Configuration();
    dying.setBoolean("fs.file.impl.disable.cache", true);
    dying.set("fs.file.impl", DyingLocal.class.getName());
    dying.set("fs.AbstractFileSystem.file.impl", DyingLocalFs.class.getName());

    String file = dir.resolve("metrics.jsonl").toUri().toString();
    String oldVersion = "{\"step\": 1}\n";
    String newVersion = "{\"step\": 1}\n{\"step\": 2, \"loss\": 1.25}\n".repeat(40);
    HadoopFiles.writeString(file, oldVersion, plain);
    assertTrue(
        Files.exists(dir.resolve(".metrics.jsonl.crc")),
        "the local file system keeps checksums beside the file");
    HadoopFiles.writeString(file + ".tmp", newVersion, plain);

    dieAtRenameOf = renameOf;
    try {
      assertThrows(Died.class, () -> HadoopFiles.replace(file + ".tmp", file, dying));
    } finally {
      dieAtRenameOf = null;
    }
    String read = HadoopFiles.readString(file, plain);
    assertTrue(read.equals(oldVersion) || read.equals(newVersion), "neither version: " + read);

    // and the next write (the restarted process) replaces it as usual
    String next = newVersion + "{\"step\": 3}\n";
    HadoopFiles.writeString(file + ".tmp", next, plain);
    HadoopFiles.replace(file + ".tmp", file, plain);
    assertEquals(next, HadoopFiles.readString(file, plain));
  }
}
