package io.sparkner.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkner.storage.HadoopFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver's follower of metrics.jsonl, on real files written the way a training writes them. */
class MetricsFollowerTest {
  private final Configuration conf = new Configuration();
  private final List<Long> steps = new ArrayList<>();

  @TempDir Path dir;

  private String file() {
    return dir.resolve("metrics.jsonl").toUri().toString();
  }

  private static String record(long step) {
    return "{\"step\":"
        + step
        + ",\"total_steps\":5000,\"loss\":"
        + (1.0 / step)
        + ",\"learning_rate\":5.0E-5,\"step_seconds\":0.25}";
  }

  private static String lines(long from, long to) {
    return IntStream.rangeClosed((int) from, (int) to)
            .mapToObj(MetricsFollowerTest::record)
            .collect(Collectors.joining("\n"))
        + "\n";
  }

  /**
   * As rank 0 writes it: the whole history aside, then swapped in with {@link HadoopFiles#replace}.
   */
  private void rewrite(String content) {
    HadoopFiles.writeString(file() + ".tmp", content, conf);
    HadoopFiles.replace(file() + ".tmp", file(), conf);
  }

  private void append(String bytes) throws Exception {
    Files.writeString(
        dir.resolve("metrics.jsonl"),
        bytes,
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  private MetricsFollower follower() {
    MetricsFollower f = new MetricsFollower(file(), conf, 3_600_000);
    f.subscribe(m -> steps.add(m.path("step").asLong()));
    return f;
  }

  /**
   * Bytes read from {@code file:} by every file system class. The global storage statistics hold
   * only the first class registered for a scheme (a suite registers several), so each class's
   * counters are summed.
   */
  @SuppressWarnings("deprecation")
  private static long bytesRead() {
    return FileSystem.getAllStatistics().stream()
        .filter(s -> "file".equals(s.getScheme()))
        .mapToLong(FileSystem.Statistics::getBytesRead)
        .sum();
  }

  @Test
  void aPollReadsOnlyWhatWasAppendedSinceTheLastOne() {
    try (MetricsFollower f = follower()) {
      rewrite(lines(1, 2000));
      f.poll();
      assertEquals(2000, steps.size());
      long size = dir.resolve("metrics.jsonl").toFile().length();
      for (int round = 0; round < 3; round++) {
        steps.clear();
        long from = 2001 + round * 2L;
        rewrite(lines(1, from + 1)); // the whole history again, two records longer
        long before = bytesRead();
        f.poll();
        long read = bytesRead() - before;
        assertEquals(List.of(from, from + 1), steps, "only the two new records, once");
        assertTrue(
            read > 0 && read < size / 20,
            "a poll read " + read + " bytes of a " + size + "-byte file to find two new records");
      }
      steps.clear();
      f.poll();
      assertEquals(List.of(), steps, "nothing new, nothing delivered");
    }
  }

  @Test
  void aLineIsDeliveredOnceItsNewlineIsWritten() throws Exception {
    try (MetricsFollower f = follower()) {
      append(lines(1, 2) + "{\"step\":3,\"loss\":0.2");
      f.poll();
      assertEquals(List.of(1L, 2L), steps);
      append("5}"); // a complete JSON object now, but the line is not finished
      f.poll();
      assertEquals(List.of(1L, 2L), steps, "no record before its newline");
      append("\n" + record(4) + "\n{\"st");
      f.poll();
      assertEquals(List.of(1L, 2L, 3L, 4L), steps);
      List<JsonNode> third = new ArrayList<>();
      try (MetricsFollower again = new MetricsFollower(file(), conf, 3_600_000)) {
        again.subscribe(third::add);
        again.poll();
      }
      assertEquals(
          0.25,
          third.get(2).path("loss").asDouble(),
          "the record as completed, not its first half");
    }
  }

  @Test
  void aReplacedFileIsReadAgainWithoutDeliveringARecordTwice() {
    try (MetricsFollower f = follower()) {
      rewrite(lines(1, 3));
      f.poll();
      assertEquals(List.of(1L, 2L, 3L), steps);
      // a resumed run rewrote the history: record 3 is another now, and 4 follows (same length or
      // longer)
      String otherThree = "{\"step\":3,\"loss\":0.9}\n";
      rewrite(lines(1, 2) + otherThree + record(4) + "\n");
      f.poll();
      assertEquals(
          List.of(1L, 2L, 3L, 3L, 4L), steps, "the new record 3 and record 4; 1 and 2 not again");
      // shorter than what was delivered: read again from the start
      steps.clear();
      rewrite(lines(1, 1) + "{\"step\":2,\"loss\":0.7}\n");
      f.poll();
      assertEquals(List.of(2L), steps);
      steps.clear();
      rewrite(
          lines(1, 1)
              + "{\"step\":2,\"loss\":0.7}\n"
              + otherThree
              + record(4)
              + "\n"
              + record(5)
              + "\n");
      f.poll();
      assertEquals(List.of(5L), steps, "records delivered before are not delivered again");
    }
  }

  @Test
  void anAbsentFileIsLookedAtAgainAndTheThreadDeliversOnItsOwn() throws Exception {
    MetricsFollower f = new MetricsFollower(file(), conf, 50);
    List<Long> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    f.subscribe(m -> seen.add(m.path("step").asLong()));
    try {
      Thread.sleep(200);
      assertEquals(List.of(), seen);
      rewrite(lines(1, 2));
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (seen.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(List.of(1L, 2L), seen);
      rewrite(lines(1, 3));
    } finally {
      f.close();
    }
    assertEquals(List.of(1L, 2L, 3L), seen, "close delivers what is left");
  }
}
