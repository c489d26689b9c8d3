package io.sparkner.score;

import java.nio.charset.StandardCharsets;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.layout.PatternLayout;

/** Every log4j2 event that reaches the root logger's level while open, with its stack trace. */
final class LogCapture implements AutoCloseable {
  private final StringBuffer logs = new StringBuffer();
  private final AbstractAppender appender;
  private final LoggerConfig root;

  LogCapture() {
    PatternLayout layout = PatternLayout.newBuilder().withPattern("%p %c: %m%n%throwable").build();
    appender =
        new AbstractAppender(
            "score-log-capture-" + System.nanoTime(), null, layout, true, Property.EMPTY_ARRAY) {
          @Override
          public void append(LogEvent event) {
            logs.append(new String(getLayout().toByteArray(event), StandardCharsets.UTF_8));
          }
        };
    appender.start();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    root = ctx.getConfiguration().getRootLogger();
    root.addAppender(appender, null, null);
    // io.sparkner logs at info and does not add its own appender: its events reach the root's
    // appenders
    ctx.updateLoggers();
  }

  String text() {
    return logs.toString();
  }

  @Override
  public void close() {
    root.removeAppender(appender.getName());
    ((LoggerContext) LogManager.getContext(false)).updateLoggers();
    appender.stop();
  }
}
