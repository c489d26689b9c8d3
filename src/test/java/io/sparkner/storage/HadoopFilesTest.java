package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Path handling that needs no server: credentials in paths, file: URIs, errors, local copies. */
class HadoopFilesTest {
  @TempDir Path dir;
  final Configuration conf = new Configuration();

  @Test
  void aPathWithCredentialsIsRefusedWithoutShowingThem() {
    for (String p :
        List.of(
            "s3a://AKIAX:wJalrXUtnFEMI@bucket/data",
            "s3a://AKIAX:wJalr/XUtnFEMI@bucket/data",
            "s3a://AKIAX@bucket/data",
            "wasbs://c:wJalrXUtnFEMI@acct.blob.core.windows.net/data",
            "https://acct.blob.core.windows.net/c/data?sv=1&sig=wJalrXUtnFEMI")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> HadoopFiles.qualify(p, conf), p);
      assertTrue(
          e.getMessage().contains("credentials inside a path are not accepted"), e.getMessage());
      assertFalse(
          e.getMessage().contains("wJalr") || e.getMessage().contains("AKIAX"), e.getMessage());
    }
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> HadoopFiles.exists("s3a://K:S3CR3T@bucket/x", conf))
            .getMessage()
            .startsWith("s3a://bucket/x: "));
  }

  @Test
  void azureContainersAreNotCredentials() {
    assertEquals(
        "abfss://data@acct.dfs.core.windows.net/x",
        HadoopFiles.path("abfss://data@acct.dfs.core.windows.net/x").toString());
  }

  @Test
  void fileUrisAndPlainLocalPathsAreTheSameFiles() throws Exception {
    Path f = dir.resolve("a b.json"); // a space: URI-encoded in file: URIs
    Files.writeString(f, "{\"x\": 1}");
    String uri = f.toUri().toString(); // file:///.../a%20b.json
    String qualified = HadoopFiles.qualify(f.toString(), conf);
    assertTrue(qualified.startsWith("file:/"), qualified);
    assertEquals("{\"x\": 1}", HadoopFiles.readString(qualified, conf));
    assertEquals("{\"x\": 1}", HadoopFiles.readString(f.toString(), conf));
    assertEquals(f, HadoopFiles.asLocal(qualified));
    assertNull(HadoopFiles.asLocal("s3a://bucket/x"));
    assertTrue(uri.startsWith("file:"));
  }

  @Test
  void createNewWritesOnceHoweverManyWritersRace() throws Exception {
    String f = dir.resolve("promotions/0000000001.json").toString();
    List<Boolean> won = CreateNewRace.race(f, 8, conf);
    assertEquals(1, won.stream().filter(w -> w).count(), won.toString());
    int winner = won.indexOf(true);
    assertEquals(
        "writer " + winner,
        HadoopFiles.readString(f, conf),
        "the file holds the winner's content, whole");
    assertFalse(HadoopFiles.createNew(f, "late", conf), "an existing file is never replaced");
    assertEquals("writer " + winner, HadoopFiles.readString(f, conf));
    try (var s = Files.list(dir.resolve("promotions"))) {
      assertEquals(
          List.of("0000000001.json"),
          s.map(p -> p.getFileName().toString()).toList(),
          "no temporary file is left");
    }
  }

  @Test
  void aMissingFileIsAnErrorNamingIt() {
    String missing = dir.resolve("nope/config.json").toString();
    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> HadoopFiles.readString(missing, conf));
    assertTrue(e.getMessage().startsWith("cannot read " + missing + ": "), e.getMessage());
    IllegalArgumentException none =
        assertThrows(
            IllegalArgumentException.class, () -> HadoopFiles.listFiles(dir + "/nothing-*", conf));
    assertTrue(none.getMessage().contains(dir + "/nothing-*"), none.getMessage());
  }

  @Test
  void aLocalDirectoryIsUsedInPlaceNotCopied() throws Exception {
    Files.writeString(dir.resolve("config.json"), "{}");
    Path seen =
        HadoopFiles.withLocalDirectory(
            dir.toUri().toString(), conf, List.of("config.json"), p -> p);
    assertEquals(dir, seen);
    assertTrue(Files.exists(dir.resolve("config.json")), "the user's directory is not deleted");
    assertNotNull(HadoopFiles.localDirectory(dir.toString(), conf, "config.json"));
  }
}
