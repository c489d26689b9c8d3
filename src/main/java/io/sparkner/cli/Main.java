package io.sparkner.cli;

import io.sparkner.model.DeviceUnavailable;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.Redaction;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of every job: {@code sparkner SUBCOMMAND ...}, on embedded Spark or under
 * spark-submit.
 */
@Command(
    name = "sparkner",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Distributed fine-tuning and batch scoring of transformer NER models on Spark.",
    subcommands = {
      PrepareCommand.class,
      InitCommand.class,
      TrainCommand.class,
      EvaluateCommand.class,
      ScoreCommand.class,
      CrossLingualCommand.class,
      TokenizerCommand.class,
      DemoCommand.class,
      RetrainCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /**
   * Runs the command line and exits the JVM explicitly: after a Spark barrier job a non-daemon
   * "Barrier task timer" thread keeps the JVM alive otherwise.
   */
  public static void main(String[] args) {
    int code = commandLine().execute(args);
    System.exit(code);
  }

  /** The configured command line, without exiting: for tests and for the demo. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    // every option is checked against its @Accepts before the command runs (exit 2 naming it)
    cl.setExecutionStrategy(
        parseResult -> {
          OptionChecks.check(parseResult);
          return new CommandLine.RunLast().execute(parseResult);
        });
    // every message a user sees is redacted: an exception may quote a path with credentials, a
    // mistyped option may echo one (s3a://KEY:SECRET@bucket), a library may quote a setting
    cl.setExecutionExceptionHandler(
        (ex, cmd, parseResult) -> {
          Configuration conf = HadoopConf.current();
          DeviceUnavailable device = DeviceUnavailable.in(ex);
          if (device != null) {
            // a task's device does not exist: a configuration error, told as the task said it
            cmd.getErr().println("error: " + Redaction.text(device.getMessage(), conf));
            return 2;
          }
          cmd.getErr().println("error: " + Redaction.text(describe(ex), conf));
          if (Boolean.getBoolean("sparkner.debug")) {
            StringWriter trace = new StringWriter();
            ex.printStackTrace(new PrintWriter(trace));
            cmd.getErr().print(Redaction.text(trace.toString(), conf));
          }
          return 1;
        });
    cl.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine cmd = ex.getCommandLine();
          cmd.getErr().println("error: " + Redaction.text(ex.getMessage()));
          if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, cmd.getErr())) {
            cmd.usage(cmd.getErr());
          }
          return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
    return cl;
  }

  /**
   * What a user is told about a failure: its message, or, for an exception without one (a
   * NullPointerException deep inside a library), its type and the first cause that has a message;
   * never "null".
   */
  static String describe(Throwable ex) {
    String own = ex.getMessage();
    if (own != null && !own.isBlank()) {
      return own;
    }
    StringBuilder b = new StringBuilder(ex.getClass().getName());
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Throwable c = ex.getCause(); c != null && seen.add(c); c = c.getCause()) {
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        return b.append(" caused by ")
            .append(c.getClass().getName())
            .append(": ")
            .append(c.getMessage())
            .toString();
      }
    }
    StackTraceElement[] at = ex.getStackTrace();
    if (at.length > 0) {
      b.append(" at ").append(at[0]);
    }
    return b.append(" (rerun with -Dsparkner.debug=true for the stack trace)").toString();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"sparkner " + (v == null ? "dev" : v)};
    }
  }
}
