package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.TestData;
import io.sparkner.score.NerTagger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every option of every subcommand, found reflectively: each must say what it accepts ({@link
 * Accepts}), and each hostile value for its kind (0, -1, too large, not a number, a missing path,
 * an existing output, ...) must end the command within seconds with exit code 2, a message naming
 * the option, and nothing written.
 */
class OptionTableTest {
  static final Duration LIMIT = Duration.ofSeconds(30);

  @TempDir static Path dir;
  static Path prepared;
  static Path model;
  static Path corpus;
  static Path emptyDir;
  static Path incomplete;
  static Path existing;
  static Path existingFile;
  static Path cases;

  @BeforeAll
  static void inputs() throws IOException {
    corpus = dir.resolve("corpus.jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      lines
          .append("{\"id\":\"d")
          .append(i)
          .append(
              "\",\"text\":\"Anna lives in"
                  + " Berlin\",\"entities\":[{\"start\":0,\"end\":4,\"type\":\"PER\"},{\"start\":14,\"end\":20,\"type\":\"LOC\"}]}\n");
    }
    Files.writeString(corpus, lines, StandardCharsets.UTF_8);
    prepared = dir.resolve("prepared");
    TestAccess.Cli p =
        TestAccess.cli(
            "prepare",
            "--input",
            "jsonl:en:" + corpus,
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--output",
            prepared.toString());
    assertEquals(0, p.code(), p.err());
    model = dir.resolve("model");
    TestAccess.Cli i =
        TestAccess.cli(
            "init",
            "--config",
            Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--labels",
            prepared.resolve("labels.json").toString(),
            "--output",
            model.toString());
    assertEquals(0, i.code(), i.err());
    emptyDir = Files.createDirectories(dir.resolve("empty"));
    incomplete = Files.createDirectories(dir.resolve("labels-only"));
    Files.copy(prepared.resolve("labels.json"), incomplete.resolve("labels.json"));
    existing = Files.createDirectories(dir.resolve("existing"));
    Files.writeString(existing.resolve("keep.txt"), "keep");
    existingFile = Files.writeString(dir.resolve("existing-file.txt"), "keep");
    cases = Files.createDirectories(dir.resolve("cases"));
  }

  /** Every subcommand that runs something, by its full name ("tokenizer build"). */
  static Map<String, CommandSpec> subcommands() {
    Map<String, CommandSpec> out = new TreeMap<>();
    collect(Main.commandLine(), "", out);
    return out;
  }

  private static void collect(CommandLine cl, String prefix, Map<String, CommandSpec> out) {
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (e.getValue().getCommand() instanceof CommandLine.HelpCommand) {
        continue;
      }
      String name = prefix + e.getKey();
      out.put(name, e.getValue().getCommandSpec());
      collect(e.getValue(), name + " ", out);
    }
  }

  static boolean ours(OptionSpec o) {
    return !o.usageHelp() && !o.versionHelp();
  }

  @Test
  void everyOptionSaysWhatItAccepts() {
    List<String> missing = new ArrayList<>();
    int options = 0;
    for (Map.Entry<String, CommandSpec> c : subcommands().entrySet()) {
      for (OptionSpec o : c.getValue().options()) {
        if (ours(o)) {
          options++;
          if (OptionChecks.accepts(o) == null) {
            missing.add(c.getKey() + " " + o.longestName());
          }
        }
      }
    }
    assertTrue(options > 60, "found " + options + " options");
    assertEquals(
        List.of(), missing, "options without @Accepts: a new option must say what it accepts");
  }

  /** A value every check passes, for the required options around the one under test. */
  static String valid(String command, OptionSpec o, Path out) {
    Accepts a = OptionChecks.accepts(o);
    return switch (a.value()) {
      case CORPUS -> "jsonl:en:" + corpus;
      case TOKENIZER -> TestData.tokenizer("unigram").toString();
      case PREPARED -> prepared.toString();
      case CHECKPOINT -> model.toString();
      case LABELS -> prepared.resolve("labels.json").toString();
      case INPUT ->
          command.equals("init")
              ? Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString()
              : corpus.toString();
      case NEW_OUTPUT, OUTPUT -> out.resolve(o.longestName().substring(2)).toString();
      case ONE_OF -> a.oneOf()[0];
      case INT -> String.valueOf(Math.max(a.min(), 1));
      case KEY_VALUE -> "max_steps=1";
      case TYPE_MAP -> "A=B";
      case TEXT -> "x";
      case ENUM -> o.type().getEnumConstants()[0].toString();
      case PORT_RANGE -> "0-0";
      case FLAG -> "true";
    };
  }

  /** The values an option of its kind must refuse. */
  static List<String> hostile(OptionSpec o) {
    Accepts a = OptionChecks.accepts(o);
    List<String> out = new ArrayList<>();
    switch (a.value()) {
      case INT -> {
        if (a.min() > Long.MIN_VALUE) {
          for (long v : new long[] {0, -1, a.min() - 1, Integer.MIN_VALUE}) {
            if (v < a.min() && !out.contains(String.valueOf(v))) {
              out.add(String.valueOf(v));
            }
          }
        }
        if (a.max() < Long.MAX_VALUE) {
          out.add(String.valueOf(a.max() + 1));
          out.add(String.valueOf(Integer.MAX_VALUE));
        }
        out.add("99999999999999999999");
        out.add("abc");
        out.add("1.5");
        out.add("");
      }
      case PORT_RANGE ->
          out.addAll(List.of("a-b", "0-70000", "5-3", "-1-5", "40000", "", "0-40000"));
      case ONE_OF -> out.addAll(List.of("xml", ""));
      case ENUM -> out.add("nope");
      case TEXT, OUTPUT -> out.addAll(List.of("", "  "));
      case KEY_VALUE -> out.addAll(List.of("novalue", "=1"));
      case TYPE_MAP -> out.add("ORG-P");
      case INPUT -> out.add(dir.resolve("missing.json").toString());
      case CORPUS -> out.addAll(List.of("jsonl:en:" + dir.resolve("missing.jsonl"), "conllu:x"));
      case TOKENIZER -> out.addAll(List.of(dir.resolve("missing").toString(), emptyDir.toString()));
      case CHECKPOINT ->
          out.addAll(List.of(dir.resolve("missing").toString(), emptyDir.toString()));
      case PREPARED ->
          out.addAll(
              List.of(
                  dir.resolve("missing").toString(), emptyDir.toString(), incomplete.toString()));
      case LABELS -> out.addAll(List.of(dir.resolve("missing.json").toString(), "B-PER,,O"));
      case NEW_OUTPUT -> out.addAll(List.of(existing.toString(), existingFile.toString()));
      case FLAG -> {}
    }
    return out;
  }

  @TestFactory
  Stream<DynamicTest> hostileValuesEndWithExitTwoNamingTheOptionAndNothingWritten() {
    List<DynamicTest> tests = new ArrayList<>();
    int[] n = {0};
    for (Map.Entry<String, CommandSpec> c : subcommands().entrySet()) {
      String command = c.getKey();
      for (OptionSpec o : c.getValue().options()) {
        if (!ours(o) || OptionChecks.accepts(o) == null) {
          continue;
        }
        for (String bad : hostile(o)) {
          int id = n[0]++;
          tests.add(
              DynamicTest.dynamicTest(
                  command + " " + o.longestName() + "=" + bad.replace(dir.toString(), "<tmp>"),
                  () -> runHostile(command, c.getValue(), o, bad, cases.resolve("case-" + id))));
        }
      }
    }
    assertTrue(tests.size() > 150, "only " + tests.size() + " cases");
    return tests.stream();
  }

  private static void runHostile(
      String command, CommandSpec spec, OptionSpec option, String bad, Path out)
      throws IOException {
    List<String> args = new ArrayList<>(List.of(command.split(" ")));
    for (OptionSpec o : spec.options()) {
      if (o.required() && o != option) {
        args.add(o.longestName() + "=" + valid(command, o, out));
      }
    }
    args.add(option.longestName() + "=" + bad);
    TestAccess.Cli r =
        assertTimeoutPreemptively(
            LIMIT, () -> TestAccess.cli(args.toArray(new String[0])), () -> "hung: " + args);
    assertEquals(2, r.code(), () -> args + "\nerr: " + r.err() + "\nout: " + r.out());
    String first = r.err().lines().findFirst().orElse("");
    assertTrue(
        first.startsWith("error: ") && first.contains(option.longestName()),
        () -> args + ": the first line must name the option: " + first);
    assertFalse(
        first.contains("error: null")
            || first.contains("No enum constant")
            || first.contains("For input string"),
        first);
    assertFalse(Files.exists(out), () -> "written by " + args + ": " + out);
    assertEquals(
        List.of(existing.resolve("keep.txt")), list(existing), "the existing output was touched");
    assertEquals("keep", Files.readString(existing.resolve("keep.txt")));
    assertEquals("keep", Files.readString(existingFile));
  }

  private static List<Path> list(Path d) throws IOException {
    try (Stream<Path> s = Files.list(d)) {
      return s.toList();
    }
  }

  @Test
  void incompletePreparedDataIsRefusedNamingTheDirectoryAndWhatIsMissing() throws IOException {
    // a prepare --overwrite that fails half way (here: a corrupt .gz input) leaves old and new
    // tables mixed; summary.json, deleted first and written last, is what marks that
    Path mixed = dir.resolve("mixed");
    String tok = TestData.tokenizer("unigram").toString();
    assertEquals(
        0,
        TestAccess.cli(
                "prepare",
                "--input",
                "jsonl:en:" + corpus,
                "--tokenizer",
                tok,
                "--output",
                mixed.toString())
            .code());
    assertTrue(Files.exists(mixed.resolve("summary.json")));
    Path broken = Files.createDirectories(dir.resolve("broken-input"));
    Files.copy(corpus, broken.resolve("a.jsonl"));
    Files.write(
        broken.resolve("b.jsonl.gz"),
        new byte[] {0x1f, (byte) 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    TestAccess.Cli failed =
        TestAccess.cli(
            "prepare",
            "--input",
            "jsonl:en:" + broken,
            "--tokenizer",
            tok,
            "--output",
            mixed.toString(),
            "--overwrite");
    assertEquals(1, failed.code(), failed.err());
    assertFalse(
        Files.exists(mixed.resolve("summary.json")),
        "summary.json is removed before any table is replaced");
    assertTrue(
        Files.exists(mixed.resolve("labels.json")),
        "the old labels.json is still there: the state the check is for");

    for (String[] args :
        List.of(
            new String[] {
              "evaluate",
              "--model",
              model.toString(),
              "--data",
              mixed.toString(),
              "--report",
              dir.resolve("r1").toString()
            },
            new String[] {
              "train",
              "--data",
              mixed.toString(),
              "--model",
              model.toString(),
              "--output",
              dir.resolve("t1").toString()
            })) {
      TestAccess.Cli r = assertTimeoutPreemptively(LIMIT, () -> TestAccess.cli(args));
      assertEquals(2, r.code(), r.err() + r.out());
      String first = r.err().lines().findFirst().orElse("");
      assertTrue(
          first.contains("--data")
              && first.contains(mixed.toString())
              && first.contains("missing summary.json"),
          first);
      assertFalse(Files.exists(dir.resolve("r1")) || Files.exists(dir.resolve("t1")));
    }
    // only labels.json: every missing part is named
    TestAccess.Cli r =
        TestAccess.cli(
            "evaluate",
            "--model",
            model.toString(),
            "--data",
            incomplete.toString(),
            "--report",
            dir.resolve("r2").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("missing documents, features, quarantine, summary.json"), r.err());
  }

  @Test
  void initAndTokenizerBuildRefuseAnExistingOutputUnlessOverwrite() throws IOException {
    Path trained = Files.createDirectories(dir.resolve("fine-tuned"));
    Files.writeString(trained.resolve("config.json"), "{\"fine\": \"tuned\"}");
    Files.writeString(trained.resolve("metrics.jsonl"), "{}\n");
    String tok = TestData.tokenizer("unigram").toString();
    String[] init = {
      "init",
      "--config",
      Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
      "--tokenizer",
      tok,
      "--labels",
      prepared.resolve("labels.json").toString(),
      "--output",
      trained.toString()
    };
    TestAccess.Cli refused = TestAccess.cli(init);
    assertEquals(2, refused.code(), refused.err());
    assertTrue(
        refused.err().contains(trained.toString()) && refused.err().contains("--overwrite"),
        refused.err());
    assertEquals("{\"fine\": \"tuned\"}", Files.readString(trained.resolve("config.json")));

    List<String> withOverwrite = new ArrayList<>(List.of(init));
    withOverwrite.add("--overwrite");
    TestAccess.Cli replaced = TestAccess.cli(withOverwrite.toArray(new String[0]));
    assertEquals(0, replaced.code(), replaced.err());
    assertTrue(Files.readString(trained.resolve("config.json")).contains("xlm-roberta"));
    assertFalse(
        Files.exists(trained.resolve("metrics.jsonl")),
        "a replaced checkpoint keeps nothing of the old one");

    Path tokDir = Files.createDirectories(dir.resolve("tok"));
    Files.writeString(tokDir.resolve("tokenizer.json"), "{}");
    String[] build = {
      "tokenizer",
      "build",
      "--corpus",
      "jsonl:en:" + corpus,
      "--vocab-size",
      "200",
      "--output",
      tokDir.toString()
    };
    TestAccess.Cli tokRefused = TestAccess.cli(build);
    assertEquals(2, tokRefused.code(), tokRefused.err());
    assertTrue(
        tokRefused.err().contains(tokDir.toString()) && tokRefused.err().contains("--overwrite"),
        tokRefused.err());
    assertEquals("{}", Files.readString(tokDir.resolve("tokenizer.json")));
    List<String> buildOver = new ArrayList<>(List.of(build));
    buildOver.add("--overwrite");
    assertEquals(0, TestAccess.cli(buildOver.toArray(new String[0])).code());
    assertTrue(Files.readString(tokDir.resolve("tokenizer.json")).contains("\"model\""));
  }

  @Test
  void anExceptionWithoutAMessageIsDescribedByTypeAndCauseNeverNull() {
    IllegalStateException noMessage = new IllegalStateException((String) null);
    noMessage.initCause(new RuntimeException((String) null, new java.io.IOException("disk full")));
    String d = Main.describe(noMessage);
    assertTrue(
        d.startsWith("java.lang.IllegalStateException")
            && d.contains("java.io.IOException: disk full"),
        d);
    String npe = Main.describe(new NullPointerException());
    assertTrue(npe.startsWith("java.lang.NullPointerException") && !npe.equals("null"), npe);
    assertEquals("plain", Main.describe(new IllegalArgumentException("plain")));
  }

  @Test
  void nerTaggerRefusesABatchSizeBelowOne() {
    for (int bad : new int[] {0, -5}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> new NerTagger().setBatchSize(bad));
      assertNotNull(e.getMessage());
      assertTrue(
          e.getMessage().contains("batchSize") && e.getMessage().contains(String.valueOf(bad)),
          e.getMessage());
    }
  }
}
