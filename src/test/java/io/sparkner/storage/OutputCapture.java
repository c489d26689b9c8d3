package io.sparkner.storage;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.filter.AbstractFilterable;
import org.apache.logging.log4j.core.filter.ThresholdFilter;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * Everything a run prints: {@code System.out}, {@code System.err} and every log4j2 event (root at
 * INFO; sparkner and Hadoop's S3A connector at DEBUG), with stack traces. While capturing, the
 * console appender is held at WARN so that the test log stays readable.
 */
final class OutputCapture implements AutoCloseable {
  private static final Map<String, Level> LEVELS = new LinkedHashMap<>();

  static {
    LEVELS.put("io.sparkner", Level.DEBUG);
    LEVELS.put("org.apache.hadoop.fs.s3a", Level.DEBUG);
    LEVELS.put("org.apache.hadoop.fs.azure", Level.DEBUG);
  }

  private final StringBuffer logs = new StringBuffer();
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private final PrintStream originalOut = System.out;
  private final PrintStream originalErr = System.err;
  private final Map<String, Level> previous = new LinkedHashMap<>();
  private final Level previousRoot;
  private final Appender appender;
  private final Filter consoleFilter =
      ThresholdFilter.createFilter(Level.WARN, Filter.Result.NEUTRAL, Filter.Result.DENY);

  OutputCapture() {
    PatternLayout layout = PatternLayout.newBuilder().withPattern("%p %c: %m%n%throwable").build();
    appender =
        new AbstractAppender(
            "output-capture-" + System.nanoTime(), null, layout, true, Property.EMPTY_ARRAY) {
          @Override
          public void append(LogEvent event) {
            logs.append(new String(getLayout().toByteArray(event), StandardCharsets.UTF_8));
          }
        };
    appender.start();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    LoggerConfig root = ctx.getConfiguration().getRootLogger();
    previousRoot = root.getLevel();
    for (Appender a : root.getAppenders().values()) {
      if (a instanceof AbstractFilterable f) {
        f.addFilter(consoleFilter);
      }
    }
    root.addAppender(appender, Level.ALL, null);
    for (String name : LEVELS.keySet()) {
      previous.put(name, LogManager.getLogger(name).getLevel());
    }
    Configurator.setRootLevel(Level.INFO);
    Configurator.setLevel(LEVELS);
    ctx.updateLoggers();
    System.setOut(new PrintStream(new Tee(stdout, originalOut), true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(new Tee(stderr, originalErr), true, StandardCharsets.UTF_8));
  }

  /** Everything captured so far. */
  String all() {
    return "--- stdout\n"
        + stdout.toString(StandardCharsets.UTF_8)
        + "--- stderr\n"
        + stderr.toString(StandardCharsets.UTF_8)
        + "--- logs\n"
        + logs;
  }

  String logs() {
    return logs.toString();
  }

  @Override
  public void close() {
    System.setOut(originalOut);
    System.setErr(originalErr);
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    LoggerConfig root = ctx.getConfiguration().getRootLogger();
    root.removeAppender(appender.getName());
    for (Appender a : root.getAppenders().values()) {
      if (a instanceof AbstractFilterable f) {
        f.removeFilter(consoleFilter);
      }
    }
    Configurator.setRootLevel(previousRoot);
    Configurator.setLevel(previous);
    ctx.updateLoggers();
    appender.stop();
  }

  /** Writes to the capture and passes through to the original stream. */
  private static final class Tee extends OutputStream {
    private final ByteArrayOutputStream a;
    private final OutputStream b;

    Tee(ByteArrayOutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) {
      a.write(c);
      try {
        b.write(c);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) {
      a.write(buf, off, len);
      try {
        b.write(buf, off, len);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public void flush() throws java.io.IOException {
      b.flush();
    }
  }
}
