package io.sparkner.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * A storage server for tests, run as a child process whose output goes to a log file; it is ready
 * when a line of the log matches. What {@link S3MockServer} and {@link AzuriteServer} share.
 */
abstract class ChildServer implements AutoCloseable {
  private final Process process;
  private final Path log;

  ChildServer(Started started) {
    this.process = started.process();
    this.log = started.log();
  }

  /** A started server: its process, its log, and the log's match of the ready pattern. */
  record Started(Process process, Path log, Matcher ready) {}

  /**
   * Starts {@code command} with its output in {@code log} and waits until the log matches {@code
   * ready}. When the process exits first, the calling test is skipped ({@code skipIfItExits}) or
   * fails, either way with the log; after {@code timeout} it is killed and the test fails.
   */
  static Started launch(
      String name,
      List<String> command,
      Path log,
      Pattern ready,
      Duration timeout,
      boolean skipIfItExits)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Matcher m = ready.matcher(Files.readString(log, StandardCharsets.UTF_8));
      if (m.find()) {
        return new Started(p, log, m);
      }
      if (!p.isAlive()) {
        String why = name + " exited with " + p.exitValue() + ":\n" + Files.readString(log);
        Assumptions.assumeFalse(skipIfItExits, "skipped: " + why);
        throw new IllegalStateException(why);
      }
      Thread.sleep(200);
    }
    p.destroyForcibly();
    throw new IllegalStateException(
        name + " did not start within " + timeout.toSeconds() + " s:\n" + Files.readString(log));
  }

  String log() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
