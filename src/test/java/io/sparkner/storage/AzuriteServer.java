package io.sparkner.storage;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * Azurite's Blob service (Microsoft's Azure Storage emulator, Node.js) on 127.0.0.1:10000, for
 * {@code wasb://CONTAINER@storageemulator/...}: hadoop-azure's emulator mode talks to exactly that
 * address with the emulator's well-known account. Installed by the first run ({@code npm ci --prefix
 * tools/azurite}); the calling test is skipped, saying so, when it is absent or the port is taken.
 *
 * <p>Azurite serves the Blob API only, not ADLS Gen2's DFS API ({@code ?resource=filesystem}
 * answers 400), so {@code abfs(s)://} cannot be tested against it.
 */
final class AzuriteServer implements AutoCloseable {
  static final int PORT = 10000;

  private final Process process;
  private final Path log;

  private AzuriteServer(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  static AzuriteServer start(Path workDir) throws IOException, InterruptedException {
    Path home = Path.of(System.getProperty("sparkner.azurite.home", "tools/azurite"));
    Path bin = home.resolve("node_modules/.bin/azurite-blob");
    if (!Files.isExecutable(bin)) {
      install(home, workDir);
    }
    Assumptions.assumeTrue(
        Files.isExecutable(bin), "skipped: Azurite is not installed at " + bin + " (npm ci --prefix tools/azurite; needs Node.js 20+)");
    Assumptions.assumeTrue(portFree(), "skipped: 127.0.0.1:" + PORT + " is in use (WASB's emulator mode only talks to that port)");
    Path log = workDir.resolve("azurite.log");
    Process p =
        new ProcessBuilder(List.of(
                bin.toString(), "--blobHost", "127.0.0.1", "--blobPort", String.valueOf(PORT),
                "--location", workDir.resolve("azurite-data").toString(), "--skipApiVersionCheck", "--loose"))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.readString(log).contains("successfully listens")) {
        return new AzuriteServer(p, log);
      }
      if (!p.isAlive()) {
        String out = Files.readString(log);
        Assumptions.assumeTrue(false, "skipped: Azurite did not start (exit " + p.exitValue() + "): " + out);
      }
      Thread.sleep(200);
    }
    p.destroyForcibly();
    throw new IllegalStateException("Azurite did not start within 60 s:\n" + Files.readString(log));
  }

  /**
   * {@code npm ci} from the committed package-lock.json, once per checkout (node_modules is
   * git-ignored): a test-only tool, fetched by the test build like Maven fetches the S3 server jar.
   * Without npm or the registry the test is skipped, saying so.
   */
  private static void install(Path home, Path workDir) throws IOException, InterruptedException {
    Path log = workDir.resolve("npm-ci.log");
    Process p;
    try {
      p = new ProcessBuilder(List.of("npm", "ci", "--prefix", home.toString(), "--no-audit", "--no-fund", "--loglevel=error"))
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
    } catch (IOException e) {
      Assumptions.assumeTrue(false, "skipped: Azurite is not installed and npm is not available (" + e.getMessage() + ")");
      return;
    }
    if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)) {
      p.destroyForcibly();
      Assumptions.assumeTrue(false, "skipped: npm ci --prefix " + home + " did not finish within 5 minutes");
    }
    Assumptions.assumeTrue(p.exitValue() == 0, "skipped: npm ci --prefix " + home + " failed: " + Files.readString(log));
  }

  private static boolean portFree() {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", PORT));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  String log() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
