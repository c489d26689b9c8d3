package io.sparkner.storage;

import io.sparkner.TestSpark;
import io.sparkner.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Runs the command line as {@code bin/sparkner} does, on the test JVM's Spark session. */
final class StorageCli {
  private StorageCli() {}

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    TestSpark.session(); // the CLI reuses it and leaves it running
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(
        new PrintStream(
            new OutputStream() {
              @Override
              public void write(int b) {
                out.write(b);
                original.write(b);
              }

              @Override
              public void write(byte[] b, int off, int len) {
                out.write(b, off, len);
                original.write(b, off, len);
              }
            },
            true,
            StandardCharsets.UTF_8));
    try {
      int code = cl.execute(args);
      System.err.print(err); // where a terminal shows it (and where an output capture sees it)
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(original);
    }
  }
}
