package io.sparkner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Fake GPUs for Spark's resource scheduling: a discovery script (what {@code
 * spark.driver.resource.gpu.discoveryScript} / {@code spark.worker.resource.gpu.discoveryScript} /
 * {@code spark.executor.resource.gpu.discoveryScript} run) that announces the given addresses, and
 * the Spark settings that give every task one of them. With these, the code that reads {@code
 * TaskContext.resources()} really runs, on a machine without a GPU.
 */
public final class GpuDiscovery {
  private GpuDiscovery() {}

  /** Writes an executable {@code dir/gpu-discovery.sh} printing {@code {"name":"gpu","addresses":[...]}}. */
  public static Path writeScript(Path dir, String... addresses) throws IOException {
    Files.createDirectories(dir);
    Path script = dir.resolve("gpu-discovery.sh");
    String json =
        "{\"name\":\"gpu\",\"addresses\":["
            + Stream.of(addresses).map(a -> "\"" + a + "\"").collect(Collectors.joining(","))
            + "]}";
    Files.writeString(script, "#!/bin/sh\necho '" + json + "'\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return script;
  }

  /**
   * The settings that give each of a {@code local-cluster[N,1,MB]} master's workers the script's
   * GPUs, each executor one of them and each task one ({@code -Dkey=value}, for a child JVM). Spark
   * 3.5's plain local mode cannot do this: its scheduler offers tasks no resources, so a task
   * asking for a GPU is never scheduled.
   */
  public static List<String> workerJvmOptions(Path script, int perWorker) {
    return List.of(
        "-Dspark.worker.resource.gpu.amount=" + perWorker,
        "-Dspark.worker.resource.gpu.discoveryScript=" + script,
        "-Dspark.executor.resource.gpu.amount=1",
        "-Dspark.task.resource.gpu.amount=1");
  }

  /**
   * A SPARK_HOME that a {@code local-cluster} master's workers can launch executors from: {@code
   * RELEASE} and {@code jars/} linking every jar on this JVM's class path (set {@code
   * SPARK_SCALA_VERSION=2.12} in the environment; the project's classes go in {@code
   * spark.executor.extraClassPath}).
   */
  public static Path sparkHome(Path dir, List<String> classPath) throws IOException {
    Path jars = Files.createDirectories(dir.resolve("jars"));
    Files.writeString(dir.resolve("RELEASE"), "", StandardCharsets.UTF_8);
    for (String entry : classPath) {
      Path jar = Path.of(entry);
      if (entry.endsWith(".jar") && Files.isRegularFile(jar)) {
        Path link = jars.resolve(jar.getFileName());
        if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(link, jar.toAbsolutePath());
        }
      }
    }
    return dir;
  }

  /** This JVM's class path entries, also behind surefire's manifest-only booter jar. */
  public static List<String> classPath() throws IOException {
    List<String> out = new java.util.ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (entry.contains("surefirebooter") && entry.endsWith(".jar")) {
        try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry)) {
          String cp = jar.getManifest().getMainAttributes().getValue("Class-Path");
          for (String url : cp.trim().split("\\s+")) {
            out.add(Path.of(java.net.URI.create(url)).toString());
          }
        }
      } else {
        out.add(entry);
      }
    }
    return out;
  }
}
