package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.permission.FsPermission;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our {@code file:} file system sets and reports exactly what Hadoop's own does, without chmod/ls.
 */
class PosixLocalFileSystemTest {
  @TempDir Path dir;
  final Configuration conf = new Configuration(false);
  FileSystem ours;
  FileSystem hadoops;

  @BeforeEach
  void open() throws IOException {
    conf.set("fs.permissions.umask-mode", "022");
    ours = new PosixLocalFileSystem();
    ours.initialize(URI.create("file:///"), conf);
    hadoops = new LocalFileSystem();
    hadoops.initialize(URI.create("file:///"), conf);
  }

  @AfterEach
  void close() throws IOException {
    ours.close();
    hadoops.close();
  }

  private static org.apache.hadoop.fs.Path hadoop(Path p) {
    return new org.apache.hadoop.fs.Path(p.toUri());
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void createMkdirsAndSetPermissionGiveTheModesHadoopGives() throws IOException {
    for (FileSystem fs : List.of(ours, hadoops)) {
      Path base = dir.resolve(fs == ours ? "ours" : "hadoops");
      // mkdirs applies the umask like Hadoop does: 0777 & ~022
      assertTrue(fs.mkdirs(hadoop(base.resolve("a/b")), new FsPermission((short) 0777)));
      assertEquals("rwxr-xr-x", mode(base.resolve("a/b")), fs.getClass().getName());
      try (var out =
          fs.create(
              hadoop(base.resolve("a/b/f.txt")),
              new FsPermission((short) 0666),
              true,
              4096,
              (short) 1,
              1 << 20,
              null)) {
        out.write(new byte[] {1, 2, 3});
      }
      assertEquals("rw-r--r--", mode(base.resolve("a/b/f.txt")));
      // the checksum file next to it, made the same way
      assertEquals("rw-r--r--", mode(base.resolve("a/b/.f.txt.crc")));
      fs.setPermission(hadoop(base.resolve("a/b/f.txt")), new FsPermission((short) 0604));
      assertEquals("rw----r--", mode(base.resolve("a/b/f.txt")));
      fs.setPermission(hadoop(base.resolve("a")), new FsPermission((short) 0710));
      assertEquals("rwx--x---", mode(base.resolve("a")));
    }
  }

  @Test
  void statusesCarryTheSameOwnerGroupAndPermissionAsHadoops() throws IOException {
    Files.createDirectories(dir.resolve("d/sub"));
    Files.writeString(dir.resolve("d/x.json"), "{}");
    Files.writeString(dir.resolve("d/sub/y.json"), "[1]");
    Files.setPosixFilePermissions(
        dir.resolve("d/x.json"), PosixFilePermissions.fromString("rw-r-----"));
    Files.setPosixFilePermissions(
        dir.resolve("d/sub"), PosixFilePermissions.fromString("rwx------"));
    for (String p : List.of("d", "d/x.json", "d/sub", "d/sub/y.json")) {
      assertSame(
          hadoops.getFileStatus(hadoop(dir.resolve(p))),
          ours.getFileStatus(hadoop(dir.resolve(p))));
    }
    FileStatus[] mine = ours.listStatus(hadoop(dir.resolve("d")));
    FileStatus[] theirs = hadoops.listStatus(hadoop(dir.resolve("d")));
    assertEquals(theirs.length, mine.length);
    for (int i = 0; i < mine.length; i++) {
      assertSame(theirs[i], mine[i]);
    }
    assertEquals("rw-r-----", mine[mine[0].isDirectory() ? 1 : 0].getPermission().toString());
    // a recursive listing (what HadoopFiles.listFiles uses) asks every file for its permission
    List<String> listed = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> it = ours.listFiles(hadoop(dir.resolve("d")), true);
    while (it.hasNext()) {
      LocatedFileStatus f = it.next();
      listed.add(f.getPath().getName() + " " + f.getPermission());
    }
    listed.sort(null);
    assertEquals(List.of("x.json rw-r-----", "y.json rw-r--r--"), listed);
  }

  @Test
  void aMissingFileIsNotFoundNamingIt() {
    org.apache.hadoop.fs.Path missing = hadoop(dir.resolve("nope.txt"));
    FileNotFoundException e =
        assertThrows(
            FileNotFoundException.class,
            () -> ours.setPermission(missing, new FsPermission((short) 0644)));
    assertTrue(e.getMessage().contains("nope.txt"), e.getMessage());
    assertThrows(FileNotFoundException.class, () -> ours.getFileStatus(missing));
  }

  @Test
  void aStickyBitGoesThroughHadoopsOwnChmod() throws IOException {
    Files.createDirectories(dir.resolve("shared"));
    ours.setPermission(hadoop(dir.resolve("shared")), new FsPermission((short) 01777));
    FsPermission p = ours.getFileStatus(hadoop(dir.resolve("shared"))).getPermission();
    assertTrue(p.getStickyBit(), p.toString());
    assertEquals((short) 01777, p.toShort());
    assertSame(
        hadoops.getFileStatus(hadoop(dir.resolve("shared"))),
        ours.getFileStatus(hadoop(dir.resolve("shared"))));
  }

  private static void assertSame(FileStatus expected, FileStatus actual) {
    String where = actual.getPath().toString();
    assertEquals(expected.getPath(), actual.getPath(), where);
    assertEquals(expected.isDirectory(), actual.isDirectory(), where);
    assertEquals(expected.getLen(), actual.getLen(), where);
    assertEquals(expected.getModificationTime(), actual.getModificationTime(), where);
    assertEquals(expected.getPermission(), actual.getPermission(), where);
    assertEquals(expected.getOwner(), actual.getOwner(), where);
    assertEquals(expected.getGroup(), actual.getGroup(), where);
  }
}
