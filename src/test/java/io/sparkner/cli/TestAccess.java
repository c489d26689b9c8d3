package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.sparkner.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/** Lets tests in other packages run package-private CLI steps. */
public final class TestAccess {
  private TestAccess() {}

  /** What a CLI run returned, printed on stdout and printed on picocli's stderr. */
  public record Cli(int code, String out, String err) {}

  /**
   * Runs {@code sparkner ARGS...} as a user would, on the tests' Spark session (which the command
   * reuses and must leave running), capturing what it prints.
   */
  public static Cli cli(String... args) {
    SparkSession spark = TestSpark.session();
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      int code = cl.execute(args);
      return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(original);
      assertFalse(
          spark.sparkContext().isStopped(), "the command must not stop a session it did not start");
    }
  }

  public static void init(String config, String tokenizer, String labels, String output)
      throws IOException {
    InitCommand.init(config, tokenizer, labels, output, 42);
  }
}
