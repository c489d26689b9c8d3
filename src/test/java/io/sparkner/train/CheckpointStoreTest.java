package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints on real files: a damaged checkpoint (truncated, empty, altered, a manifest never
 * renamed into place) is skipped for the previous complete one, the manifest records every file's
 * size and CRC32C, and an optimizer shard that lies about its length or ends inside its header is
 * an IOException naming the file.
 */
class CheckpointStoreTest {
  @TempDir static Path trained;
  @TempDir Path dir;
  static final String SHARD = "optimizer-rank000-of-001.bin";
  static List<Example> data;
  static TrainConfig cfg;

  /** The tiny BERT trained 10 steps, with checkpoints at 5 and 10. */
  @BeforeAll
  static void trainWithTwoCheckpoints() {
    data = TrainerTest.examples(20, 4);
    cfg = TrainerTest.config(data.size(), "max_steps=10", "save_steps=5");
    CheckpointStore store = new CheckpointStore(trained.toUri().toString(), new Configuration());
    try (NDManager m = NDManager.newBaseManager()) {
      Trainer t =
          new Trainer(
              Checkpoints.build(TrainerTest.tiny(), m, DataType.FLOAT32),
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {
                @Override
                public void save(Trainer tr) {
                  store.save(tr, GradientExchange.SINGLE, null);
                }
              });
      t.train(data);
    }
  }

  /** A copy of the trained checkpoints in a fresh output, without Hadoop's .crc side files. */
  Path copy() throws IOException {
    Path out = dir.resolve("out-" + System.nanoTime());
    try (Stream<Path> files = Files.walk(trained.resolve("checkpoints"))) {
      for (Path f : files.toList()) {
        Path to =
            out.resolve("checkpoints")
                .resolve(trained.resolve("checkpoints").relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(to);
        } else if (!f.getFileName().toString().endsWith(".crc")) {
          Files.copy(f, to);
        }
      }
    }
    return out;
  }

  static CheckpointStore store(Path out) {
    return new CheckpointStore(out.toUri().toString(), new Configuration());
  }

  static Optional<CheckpointStore.Saved> newest(Path out, List<String> warnings) {
    CheckpointStore s = store(out);
    Optional<CheckpointStore.Saved> n = s.newest();
    warnings.addAll(s.warnings());
    return n;
  }

  @Test
  void anUndamagedCopyResumesFromTheNewest() throws IOException {
    assertEquals(10, store(copy()).newest().orElseThrow().step());
  }

  @Test
  void aTruncatedModelFallsBackToThePreviousCheckpointWithAWarningNamingTheFile()
      throws IOException {
    Path out = copy();
    Path weights = out.resolve("checkpoints/checkpoint-10/model.safetensors");
    try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    List<String> warnings = new java.util.ArrayList<>();
    assertEquals(5, newest(out, warnings).orElseThrow().step());
    assertTrue(
        warnings.stream()
            .anyMatch(
                w -> w.contains("checkpoint-10/model.safetensors") && w.contains("truncated")),
        warnings.toString());
  }

  @Test
  void anEmptyOptimizerShardFallsBackToThePreviousCheckpoint() throws IOException {
    Path out = copy();
    Files.write(out.resolve("checkpoints/checkpoint-10/" + SHARD), new byte[0]);
    List<String> warnings = new java.util.ArrayList<>();
    assertEquals(5, newest(out, warnings).orElseThrow().step());
    assertTrue(
        warnings.stream().anyMatch(w -> w.contains("checkpoint-10/" + SHARD)), warnings.toString());
  }

  @Test
  void aFileWithTheRightSizeButAnotherChecksumFallsBackToThePreviousCheckpoint()
      throws IOException {
    Path out = copy();
    Path shard = out.resolve("checkpoints/checkpoint-10/" + SHARD);
    try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
      f.seek(f.length() - 3);
      int b = f.read();
      f.seek(f.length() - 3);
      f.write(b ^ 0x40);
    }
    List<String> warnings = new java.util.ArrayList<>();
    assertEquals(5, newest(out, warnings).orElseThrow().step());
    assertTrue(
        warnings.stream()
            .anyMatch(w -> w.contains("checkpoint-10/" + SHARD) && w.contains("CRC32C")),
        warnings.toString());
  }

  @Test
  void anEmptyManifestFallsBackToThePreviousCheckpoint() throws IOException {
    Path out = copy();
    Files.write(out.resolve("checkpoints/checkpoint-10/COMPLETE"), new byte[0]);
    List<String> warnings = new java.util.ArrayList<>();
    assertEquals(5, newest(out, warnings).orElseThrow().step());
    assertTrue(
        warnings.stream()
            .anyMatch(w -> w.contains("checkpoint-10/COMPLETE") && w.contains("empty")),
        warnings.toString());
  }

  @Test
  void theManifestIsRenamedIntoPlaceAndRecordsEverySizeAndChecksum() throws IOException {
    Path ckpt = trained.resolve("checkpoints/checkpoint-10");
    assertFalse(
        Files.exists(ckpt.resolve("COMPLETE.tmp")), "the manifest is written aside and renamed");
    JsonNode manifest = new ObjectMapper().readTree(ckpt.resolve("COMPLETE").toFile());
    JsonNode files = manifest.path("files");
    for (String name : List.of("config.json", "model.safetensors", "trainer_state.json", SHARD)) {
      JsonNode f = files.path(name);
      assertTrue(f.isObject(), name + " is not listed in " + manifest);
      byte[] bytes = Files.readAllBytes(ckpt.resolve(name));
      CRC32C crc = new CRC32C();
      crc.update(bytes);
      assertEquals(bytes.length, f.path("size").asLong(), name);
      assertEquals(Long.toHexString(crc.getValue()), f.path("crc32c").asText(), name);
    }
    // a manifest that was written but never renamed (the writer died in between) is no manifest
    Path out = copy();
    Files.move(
        out.resolve("checkpoints/checkpoint-10/COMPLETE"),
        out.resolve("checkpoints/checkpoint-10/COMPLETE.tmp"));
    assertEquals(5, store(out).newest().orElseThrow().step());
  }

  /** A fresh trainer on the checkpoint's weights, to restore the optimizer into. */
  static void restore(CheckpointStore store, CheckpointStore.Saved saved) {
    try (NDManager m = NDManager.newBaseManager()) {
      Checkpoints.Weights w = Checkpoints.read(Path.of(java.net.URI.create(saved.dir())), null, 0);
      Trainer t =
          new Trainer(
              Checkpoints.build(w, m, DataType.FLOAT32),
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {});
      store.restore(saved, t);
    }
  }

  @Test
  void anOptimizerShardWhoseLengthFieldLiesIsAnIoExceptionNamingTheFileNotAHugeArray()
      throws IOException {
    Path out = copy();
    CheckpointStore store = store(out);
    CheckpointStore.Saved saved = store.newest().orElseThrow();
    restore(store, saved); // intact: restores
    Path shard = out.resolve("checkpoints/checkpoint-10/" + SHARD);
    try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
      f.seek(4 + 8 + 8 + 8); // magic, from, to, Adam steps; then the first moment's length
      f.writeInt(Integer.MAX_VALUE);
    }
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> restore(store, saved));
    assertTrue(e.getCause() instanceof IOException, String.valueOf(e.getCause()));
    assertTrue(
        e.getMessage().contains("checkpoint-10/" + SHARD)
            && e.getMessage().contains("bytes are left"),
        e.getMessage());
  }

  @Test
  void anOptimizerShardCutInsideItsHeaderIsAClearIoExceptionNamingTheFile() throws IOException {
    Path out = copy();
    CheckpointStore store = store(out);
    CheckpointStore.Saved saved = store.newest().orElseThrow();
    Path shard = out.resolve("checkpoints/checkpoint-10/" + SHARD);
    try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
      f.setLength(10);
    }
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> restore(store, saved));
    assertTrue(
        e.getMessage().contains("checkpoint-10/" + SHARD) && e.getMessage().contains("truncated"),
        e.getMessage());
    assertFalse(e.getMessage().contains("null"), e.getMessage());
  }
}
