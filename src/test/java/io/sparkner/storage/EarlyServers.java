package io.sparkner.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.fs.FileUtil;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Starts the storage emulators that the test plan's storage classes will need ({@link S3MockServer}
 * for {@link S3StorageTest}, {@link AzuriteServer} for {@link AzuriteStorageTest}) in the
 * background when the first class that mostly waits on timeouts starts (with the plan when it has
 * none). Their start-up (a Spring Boot JVM; {@code npm ci} in a fresh checkout and a Node.js
 * server) then takes the core those classes leave idle, instead of adding half a minute each to the
 * run. A class takes its server through {@code S3MockServer.start} / {@code AzuriteServer.start},
 * which start one on the spot when none was started early (a single class run on its own).
 * Registered through {@code META-INF/services}.
 */
public final class EarlyServers implements TestExecutionListener {
  private static final Map<String, Future<ChildServer>> STARTED = new ConcurrentHashMap<>();
  private static final List<Path> DIRS = new ArrayList<>();
  private static final Set<String> CLAIMED = ConcurrentHashMap.newKeySet();
  private ExecutorService starter;

  /** A server start for the background: where it works is a directory of its own. */
  private interface Start {
    ChildServer in(Path workDir) throws Exception;
  }

  /**
   * Classes that mostly wait on timeouts: the servers start when the first of them does, so their
   * start-up takes the idle core rather than one a CPU-bound class needs.
   */
  private static final Set<String> IDLE_CLASSES =
      Set.of("io.sparkner.collective.RingFailureTest", "io.sparkner.collective.RingSecurityTest");

  private List<String> planned = List.of();

  @Override
  public void testPlanExecutionStarted(TestPlan plan) {
    planned = classesOf(plan);
    if (planned.stream().noneMatch(IDLE_CLASSES::contains)) {
      startPlannedServers(); // nothing idle to wait for
    }
  }

  @Override
  public void executionStarted(TestIdentifier id) {
    id.getSource()
        .filter(ClassSource.class::isInstance)
        .map(src -> ((ClassSource) src).getClassName())
        .filter(IDLE_CLASSES::contains)
        .ifPresent(c -> startPlannedServers());
  }

  private synchronized void startPlannedServers() {
    // one after the other, in the order the classes use them: one core stays with the tests
    if (planned.contains(AzuriteStorageTest.class.getName())) {
      early(AzuriteServer.KEY, AzuriteServer::startNew);
    }
    if (planned.contains(S3StorageTest.class.getName())) {
      early(
          S3MockServer.key(S3StorageTest.BUCKET),
          dir -> S3MockServer.startNew(dir, S3StorageTest.BUCKET));
    }
  }

  /** Starts the server under {@code key} in the background, once per plan, unless taken already. */
  private synchronized void early(String key, Start start) {
    if (!CLAIMED.add(key)) {
      return; // started early already, or its class ran first and started its own
    }
    if (starter == null) {
      starter =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "early-storage-servers");
                t.setDaemon(true);
                return t;
              });
    }
    STARTED.put(
        key,
        starter.submit(
            () -> {
              Path dir = Files.createTempDirectory("sparkner-early-server");
              synchronized (DIRS) {
                DIRS.add(dir);
              }
              return start.in(dir);
            }));
  }

  /**
   * The server started early under {@code key}, waiting for its start to end, or null when none
   * was; a start that failed or skipped throws here, in the test class that needs it.
   */
  static ChildServer take(String key) throws IOException, InterruptedException {
    CLAIMED.add(key); // a class that starts its own server: none is started early after it
    Future<ChildServer> f = STARTED.remove(key);
    if (f == null) {
      return null;
    }
    try {
      return f.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r; // among them the skip of a server that is not installed
      }
      if (cause instanceof Error err) {
        throw err;
      }
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof InterruptedException ie) {
        throw ie;
      }
      throw new IllegalStateException(key + " failed to start", cause);
    }
  }

  @Override
  public void testPlanExecutionFinished(TestPlan plan) {
    // servers whose class never took them (it was filtered out or aborted) stop with the plan
    for (String key : List.copyOf(STARTED.keySet())) {
      try {
        ChildServer s = take(key);
        if (s != null) {
          s.close();
        }
      } catch (Exception | Error e) {
        // a start that failed has nothing to stop
      }
    }
    if (starter != null) {
      starter.shutdownNow();
    }
    synchronized (DIRS) {
      DIRS.forEach(d -> FileUtil.fullyDelete(d.toFile())); // best effort, as HadoopFiles does
      DIRS.clear();
    }
    CLAIMED.clear();
  }

  private static List<String> classesOf(TestPlan plan) {
    List<String> out = new ArrayList<>();
    for (TestIdentifier root : plan.getRoots()) {
      for (TestIdentifier id : plan.getDescendants(root)) {
        id.getSource()
            .filter(ClassSource.class::isInstance)
            .map(s -> ((ClassSource) s).getClassName())
            .ifPresent(out::add);
      }
    }
    return out;
  }
}
