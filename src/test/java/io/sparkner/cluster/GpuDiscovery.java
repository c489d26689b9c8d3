package io.sparkner.cluster;

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

  /**
   * Writes an executable {@code dir/gpu-discovery.sh} printing {@code
   * {"name":"gpu","addresses":[...]}}.
   */
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
   * The {@code --conf} settings of an application whose executors and tasks each take one GPU of
   * the workers' (their workers run the discovery script: {@code spark.worker.resource.gpu.*}).
   */
  public static List<String> oneGpuPerTask() {
    return List.of("spark.executor.resource.gpu.amount=1", "spark.task.resource.gpu.amount=1");
  }
}
