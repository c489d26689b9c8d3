package io.sparkner.collective;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;

/** Rings of N ranks as threads of this JVM on 127.0.0.1, and a capture of the endpoint's log. */
final class RingTestSupport {
  static final byte[] SECRET = "ring-test-secret-7f3a9c".getBytes(StandardCharsets.UTF_8);

  private RingTestSupport() {}

  interface RankFn<T> {
    T apply(int rank) throws Exception;
  }

  /** What one rank's thread ended with. */
  record Outcome<T>(T value, Throwable error, long millis) {}

  /** Opens n endpoints on 127.0.0.1 (ephemeral ports) and joins them into a ring. */
  static List<Ring> form(int n, Duration timeout) throws Exception {
    List<RingEndpoint> eps = new ArrayList<>();
    try {
      for (int r = 0; r < n; r++) {
        eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
      return all(n, timeout.plusSeconds(10), r -> eps.get(r).join(r, addrs, SECRET, timeout));
    } finally {
      eps.forEach(RingEndpoint::close);
    }
  }

  /** Runs fn for every rank on its own thread; every rank must succeed within limit. */
  static <T> List<T> all(int n, Duration limit, RankFn<T> fn) throws Exception {
    List<Outcome<T>> outcomes = outcomes(n, limit, fn);
    List<T> values = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      Outcome<T> o = outcomes.get(r);
      if (o.error() != null) {
        throw new AssertionError("rank " + r + " failed: " + o.error(), o.error());
      }
      values.add(o.value());
    }
    return values;
  }

  /**
   * Runs fn for every rank on its own thread and reports each outcome; fails if any runs past
   * limit.
   */
  static <T> List<Outcome<T>> outcomes(int n, Duration limit, RankFn<T> fn)
      throws InterruptedException {
    ExecutorService pool =
        Executors.newFixedThreadPool(
            n,
            r -> {
              Thread t = new Thread(r, "test-rank");
              t.setDaemon(true);
              return t;
            });
    try {
      long start = System.nanoTime();
      List<Future<Outcome<T>>> futures = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        futures.add(
            pool.submit(
                () -> {
                  long t0 = System.nanoTime();
                  try {
                    T v = fn.apply(rank);
                    return new Outcome<>(v, null, (System.nanoTime() - t0) / 1_000_000);
                  } catch (Throwable e) {
                    return new Outcome<>(null, e, (System.nanoTime() - t0) / 1_000_000);
                  }
                }));
      }
      List<Outcome<T>> out = new ArrayList<>();
      long deadline = start + limit.toNanos();
      for (int r = 0; r < n; r++) {
        try {
          out.add(
              futures.get(r).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
          fail("rank " + r + " still running after " + limit + ": a hang");
        } catch (ExecutionException e) {
          throw new AssertionError(e.getCause());
        }
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Sleeps, as a validation or a checkpoint write does, without the ring. */
  static void work(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void closeAll(List<Ring> rings) {
    if (rings != null) {
      rings.forEach(Ring::close);
    }
  }

  static void waitUntil(Duration limit, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("condition not met within " + limit);
      }
      Thread.sleep(20);
    }
  }

  /** Collects the messages logged by a class (through slf4j → log4j2) while open. */
  static final class LogCapture implements AutoCloseable {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    private final org.apache.logging.log4j.core.Logger logger;
    private final Appender appender;

    LogCapture(Class<?> c) {
      logger = (org.apache.logging.log4j.core.Logger) LogManager.getLogger(c);
      appender =
          new AbstractAppender(
              "capture-" + System.nanoTime(), null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
              lines.add(event.getLevel() + " " + event.getMessage().getFormattedMessage());
            }
          };
      appender.start();
      logger.addAppender(appender);
    }

    List<String> snapshot() {
      synchronized (lines) {
        return new ArrayList<>(lines);
      }
    }

    boolean any(String... parts) {
      for (String line : snapshot()) {
        boolean all = true;
        for (String p : parts) {
          all &= line.contains(p);
        }
        if (all) {
          return true;
        }
      }
      return false;
    }

    long count(String part) {
      return snapshot().stream().filter(l -> l.contains(part)).count();
    }

    @Override
    public void close() {
      logger.removeAppender(appender);
      appender.stop();
    }
  }
}
