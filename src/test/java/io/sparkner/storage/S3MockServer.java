package io.sparkner.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Assumptions;

/**
 * Adobe's S3Mock (a real S3 REST server, Spring Boot) in a child JVM on loopback, on free ports it
 * picks itself. A child JVM because its Spring Boot and Jackson 2.19 cannot share a classpath with
 * Spark 3.5 (whose jackson-module-scala refuses any Jackson but 2.15). The executable jar is copied
 * to {@code target/test-tools} by the build ({@code mvn process-test-resources}).
 */
final class S3MockServer extends ChildServer {
  private static final Pattern STARTED =
      Pattern.compile("started on ports? (\\d+) \\(https\\), (\\d+) \\(http\\)");

  private final int httpPort;

  private S3MockServer(Started started) {
    super(started);
    this.httpPort = Integer.parseInt(started.ready().group(2));
  }

  /** What {@link EarlyServers} files a server with these buckets under. */
  static String key(String... buckets) {
    return "S3Mock " + String.join(",", buckets);
  }

  /**
   * The server with the given buckets {@link EarlyServers} started for the test plan, or a new one
   * working in {@code workDir}; skips the calling test when the jar is absent.
   */
  static S3MockServer start(Path workDir, String... buckets)
      throws IOException, InterruptedException {
    ChildServer early = EarlyServers.take(key(buckets));
    return early != null ? (S3MockServer) early : startNew(workDir, buckets);
  }

  /** Starts a server with the given buckets in {@code workDir}. */
  static S3MockServer startNew(Path workDir, String... buckets)
      throws IOException, InterruptedException {
    Path jar =
        Path.of(System.getProperty("sparkner.s3mock.jar", "target/test-tools/s3mock-exec.jar"));
    Assumptions.assumeTrue(
        Files.isRegularFile(jar),
        "skipped: " + jar + " is absent (mvn process-test-resources copies the S3 server there)");
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                jar.toString(),
                "--server.address=127.0.0.1",
                "--server.port=0",
                "--com.adobe.testing.s3mock.httpPort=0",
                "--com.adobe.testing.s3mock.store.root=" + workDir.resolve("s3mock-store"),
                "--com.adobe.testing.s3mock.store.initialBuckets=" + String.join(",", buckets),
                "--logging.level.root=WARN",
                "--logging.level.org.springframework.boot.web.embedded.tomcat=INFO"));
    return new S3MockServer(
        launch(
            "S3Mock", cmd, workDir.resolve("s3mock.log"), STARTED, Duration.ofSeconds(90), false));
  }

  String endpoint() {
    return "http://127.0.0.1:" + httpPort;
  }

  /** s3a settings for this server: path-style access over plain HTTP, static credentials. */
  void configure(Configuration conf, String accessKey, String secretKey) {
    conf.set("fs.s3a.endpoint", endpoint());
    conf.set("fs.s3a.endpoint.region", "us-east-1");
    conf.set("fs.s3a.path.style.access", "true");
    conf.set("fs.s3a.connection.ssl.enabled", "false");
    conf.set(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    conf.set("fs.s3a.access.key", accessKey);
    conf.set("fs.s3a.secret.key", secretKey);
    conf.set("fs.s3a.attempts.maximum", "2");
    conf.set("fs.s3a.retry.limit", "2");
  }

  static final List<String> KEYS =
      List.of(
          "fs.s3a.endpoint",
          "fs.s3a.endpoint.region",
          "fs.s3a.path.style.access",
          "fs.s3a.connection.ssl.enabled",
          "fs.s3a.aws.credentials.provider",
          "fs.s3a.access.key",
          "fs.s3a.secret.key",
          "fs.s3a.attempts.maximum",
          "fs.s3a.retry.limit");
}
