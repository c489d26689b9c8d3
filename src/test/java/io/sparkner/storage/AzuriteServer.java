package io.sparkner.storage;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Azurite's Blob service (Microsoft's Azure Storage emulator, Node.js) on 127.0.0.1:10000, for
 * {@code wasb://CONTAINER@storageemulator/...}: hadoop-azure's emulator mode talks to exactly that
 * address with the emulator's well-known account. Installed by the first run ({@code npm ci
 * --prefix tools/azurite}); the calling test is skipped, saying so, when it is absent or the port
 * is taken.
 *
 * <p>Azurite serves the Blob API only, not ADLS Gen2's DFS API ({@code ?resource=filesystem}
 * answers 400), so {@code abfs(s)://} cannot be tested against it.
 */
final class AzuriteServer extends ChildServer {
  static final int PORT = 10000;

  private AzuriteServer(Started started) {
    super(started);
  }

  /** What {@link EarlyServers} files the server under. */
  static final String KEY = "Azurite";

  /**
   * The server {@link EarlyServers} started for the test plan, or a new one working in {@code
   * workDir}.
   */
  static AzuriteServer start(Path workDir) throws IOException, InterruptedException {
    ChildServer early = EarlyServers.take(KEY);
    return early != null ? (AzuriteServer) early : startNew(workDir);
  }

  /** Installs Azurite when it is not, and starts it in {@code workDir}. */
  static AzuriteServer startNew(Path workDir) throws IOException, InterruptedException {
    Path home = Path.of(System.getProperty("sparkner.azurite.home", "tools/azurite"));
    Path bin = home.resolve("node_modules/.bin/azurite-blob");
    if (!Files.isExecutable(bin)) {
      install(home, workDir);
    }
    Assumptions.assumeTrue(
        Files.isExecutable(bin),
        "skipped: Azurite is not installed at "
            + bin
            + " (npm ci --prefix tools/azurite; needs Node.js 20+)");
    Assumptions.assumeTrue(
        portFree(),
        "skipped: 127.0.0.1:" + PORT + " is in use (WASB's emulator mode only talks to that port)");
    return new AzuriteServer(
        launch(
            "Azurite",
            List.of(
                bin.toString(),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                String.valueOf(PORT),
                "--location",
                workDir.resolve("azurite-data").toString(),
                "--skipApiVersionCheck",
                "--loose"),
            workDir.resolve("azurite.log"),
            Pattern.compile("successfully listens"),
            Duration.ofSeconds(60),
            true));
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
      p =
          new ProcessBuilder(
                  List.of(
                      "npm",
                      "ci",
                      "--prefix",
                      home.toString(),
                      "--no-audit",
                      "--no-fund",
                      "--loglevel=error"))
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      Assumptions.assumeTrue(
          false,
          "skipped: Azurite is not installed and npm is not available (" + e.getMessage() + ")");
      return;
    }
    if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)) {
      p.destroyForcibly();
      Assumptions.assumeTrue(
          false, "skipped: npm ci --prefix " + home + " did not finish within 5 minutes");
    }
    Assumptions.assumeTrue(
        p.exitValue() == 0,
        "skipped: npm ci --prefix " + home + " failed: " + Files.readString(log));
  }

  private static boolean portFree() {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", PORT));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
