package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The fault-injection options ({@code train --fail-at-step/--fail-rank}, {@code retrain
 * --fail-after}) are hidden: {@code --help} does not show them, yet they are parsed, checked and
 * build the run's fault plan.
 */
class FaultOptionsTest {
  @TempDir Path dir;

  static final Map<String, List<String>> HIDDEN =
      Map.of("train", List.of("--fail-at-step", "--fail-rank"), "retrain", List.of("--fail-after"));

  /** What {@code sparkner COMMAND --help} prints. */
  static String help(String command) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out));
    assertEquals(0, cl.execute(command, "--help"));
    return out.toString();
  }

  @Test
  void helpDoesNotShowTheFaultOptions() {
    for (Map.Entry<String, List<String>> e : HIDDEN.entrySet()) {
      String help = help(e.getKey());
      assertTrue(help.contains("--conf"), help); // the visible options are there
      for (String option : e.getValue()) {
        assertFalse(help.contains(option), e.getKey() + " --help shows " + option + ":\n" + help);
        // still an option of the command, only hidden
        var spec =
            Main.commandLine().getSubcommands().get(e.getKey()).getCommandSpec().findOption(option);
        assertTrue(spec != null && spec.hidden(), option);
      }
    }
    String train = help("train");
    assertTrue(train.contains("--overwrite") && train.contains("--resume-from"), train);
  }

  @Test
  void theHiddenOptionsBuildTheFaultPlanOfTheRun() throws Exception {
    TrainCommandTest.prepareAndInit(dir);
    String[] base = {
      "train",
      "--data",
      dir.resolve("prepared").toString(),
      "--model",
      dir.resolve("tiny").toString(),
      "--set",
      "max_steps=3",
      "--set",
      "logging_steps=1",
      "--set",
      "eval_strategy=no",
      "--set",
      "save_steps=1000"
    };
    // rank 0 (the default --fail-rank) dies right after step 2
    TestAccess.Cli failed =
        TestAccess.cli(
            with(base, "--output", dir.resolve("failed").toString(), "--fail-at-step", "2"));
    assertEquals(1, failed.code(), failed.out());
    assertTrue(
        failed.err().contains("injected failure of rank 0 after step 2 (--fail-at-step)"),
        failed.err());
    assertTrue(
        failed.out().contains("step 2/3") && !failed.out().contains("step 3/3"), failed.out());
    assertFalse(Files.exists(dir.resolve("failed/model.safetensors")));
    // one replica has no rank 1: nothing dies
    TestAccess.Cli other =
        TestAccess.cli(
            with(
                base,
                "--output",
                dir.resolve("other").toString(),
                "--fail-at-step",
                "2",
                "--fail-rank",
                "1"));
    assertEquals(0, other.code(), other.err());
    assertTrue(Files.exists(dir.resolve("other/model.safetensors")));
  }

  private static String[] with(String[] base, String... more) {
    String[] out = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, out, base.length, more.length);
    return out;
  }
}
