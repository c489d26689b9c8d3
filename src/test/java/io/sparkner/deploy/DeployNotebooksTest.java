package io.sparkner.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The Databricks source notebooks of notebooks/: the source format Databricks imports (header,
 * {@code COMMAND ----------} separators, {@code MAGIC} lines), every sparkner command they run is
 * one the jar's parser accepts, every sparkner class they use exists with the methods they call,
 * and every configuration file they name is in the repository.
 */
class DeployNotebooksTest {
  static final Path ROOT = DeployDescriptorsTest.ROOT;

  /**
   * Classes written in parallel on other branches: allowed to be missing here, checked once
   * present.
   */
  static final Set<String> PENDING_CLASSES = Set.of();

  /** NerTagger's Params, as the design fixes them (DESIGN.md §6). */
  static final List<String> NER_TAGGER_SETTERS =
      List.of(
          "setInputCol",
          "setOutputCol",
          "setModelPath",
          "setBatchSize",
          "setMaxLength",
          "setStride",
          "setDevice");

  static List<Path> notebooks() throws IOException {
    try (Stream<Path> s = Files.list(ROOT.resolve("notebooks"))) {
      return s.filter(p -> p.toString().endsWith(".scala") || p.toString().endsWith(".py"))
          .sorted()
          .toList();
    }
  }

  @Test
  void notebooksAreDatabricksSourceFilesInScalaAndPython() throws IOException {
    List<Path> all = notebooks();
    assertTrue(all.stream().anyMatch(p -> p.toString().endsWith(".scala")), "a Scala notebook");
    assertTrue(all.stream().anyMatch(p -> p.toString().endsWith(".py")), "a Python notebook");
    for (Path p : all) {
      boolean scala = p.toString().endsWith(".scala");
      String comment = scala ? "//" : "#";
      List<String> lines = Files.readAllLines(p);
      assertEquals(
          comment + " Databricks notebook source",
          lines.get(0),
          p + ": the header Databricks imports by");
      long cells = lines.stream().filter((comment + " COMMAND ----------")::equals).count();
      assertTrue(cells >= 5, p + ": cells separated by '" + comment + " COMMAND ----------'");
      for (int i = 1; i < lines.size(); i++) {
        String l = lines.get(i);
        if (l.startsWith(comment + " COMMAND")) {
          assertEquals(comment + " COMMAND ----------", l, p + ":" + (i + 1));
          assertTrue(
              lines.get(i - 1).isEmpty() && lines.get(i + 1).isEmpty(),
              p + ":" + (i + 1) + ": a separator stands between blank lines");
        }
        if (l.contains("MAGIC")) {
          assertTrue(
              l.equals(comment + " MAGIC") || l.startsWith(comment + " MAGIC "),
              p + ":" + (i + 1) + ": " + l);
        }
      }
      String text = String.join("\n", lines);
      assertTrue(text.contains("displayHTML("), p + ": shows the evaluate report");
      assertTrue(text.contains("report.html"), p + ": the report");
    }
  }

  @Test
  void notebooksRunOnlyWhatTheJarHas() throws Exception {
    for (Path p : notebooks()) {
      String text = Files.readString(p);
      // sparkner("sub", "--opt", value, ...): the literal arguments, values replaced by a stand-in
      Matcher call =
          Pattern.compile("(?s)\\bsparkner\\(\\s*(\"[a-z]+\".*?)\\)\\s*\\n").matcher(text);
      Set<String> run = new TreeSet<>();
      while (call.find()) {
        String line = text.substring(text.lastIndexOf('\n', call.start()) + 1, call.start());
        if (line.trim().startsWith("//") || line.trim().startsWith("#")) {
          continue; // a commented-out example is checked below as a conf reference only
        }
        List<String> args = new ArrayList<>();
        for (String a : splitArguments(call.group(1))) {
          Matcher lit = Pattern.compile("^\"([^\"$]*)\"$").matcher(a.trim());
          args.add(lit.matches() ? lit.group(1) : "x"); // an interpolated or variable value
        }
        args.replaceAll(a -> a.equals("x") ? "1" : a); // numeric options accept the stand-in too
        DeployDescriptorsTest.checkCommandLine(
            args, p.getFileName() + ": sparkner(" + call.group(1).replace('\n', ' ') + ")");
        run.add(args.get(0));
      }
      assertEquals(Set.of("prepare", "train", "evaluate"), run, p + ": the notebook's steps");

      Matcher cls = Pattern.compile("\\bio\\.sparkner\\.([a-z]+)\\.([A-Z]\\w+)").matcher(text);
      while (cls.find()) {
        String name = "io.sparkner." + cls.group(1) + "." + cls.group(2);
        Class<?> c;
        try {
          c = Class.forName(name);
        } catch (ClassNotFoundException e) {
          assertTrue(
              PENDING_CLASSES.contains(name), p + ": uses " + name + ", which does not exist");
          continue;
        }
        if (name.endsWith("NerTagger")) {
          for (String setter : NER_TAGGER_SETTERS) {
            assertTrue(
                Stream.of(c.getMethods()).anyMatch(m -> m.getName().equals(setter)),
                name + " has no " + setter);
          }
          assertTrue(
              org.apache.spark.ml.Transformer.class.isAssignableFrom(c),
              name + " is a Spark ML Transformer");
        }
        if (name.equals(DeployDescriptorsTest.MAIN)) {
          Method m = c.getMethod("commandLine");
          assertEquals(picocli.CommandLine.class, m.getReturnType());
        }
      }
      for (String setter : NER_TAGGER_SETTERS) {
        assertTrue(text.contains("." + setter + "("), p + ": sets " + setter);
      }

      Matcher conf =
          Pattern.compile("[\\w/.-]*/(?:conf|deploy/databricks)/[\\w.-]+\\.json").matcher(text);
      int confs = 0;
      while (conf.find()) {
        Path f = DeployDescriptorsTest.repoFile(conf.group());
        assertTrue(Files.isRegularFile(f), p + ": " + conf.group());
        confs++;
      }
      assertTrue(confs > 0, p + " names a configuration");
    }
  }

  /** Top-level comma-separated arguments of a call (commas inside quotes or parentheses stay). */
  static List<String> splitArguments(String s) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    boolean quoted = false;
    StringBuilder cur = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' && (i == 0 || s.charAt(i - 1) != '\\')) {
        quoted = !quoted;
      } else if (!quoted && (c == '(' || c == '[' || c == '{')) {
        depth++;
      } else if (!quoted && (c == ')' || c == ']' || c == '}')) {
        depth--;
      } else if (!quoted && depth == 0 && c == ',') {
        out.add(cur.toString().trim());
        cur.setLength(0);
        continue;
      }
      cur.append(c);
    }
    if (!cur.toString().isBlank()) {
      out.add(cur.toString().trim());
    }
    // Python/Scala interpolation prefixes: f"..." and s"..." are variable values
    out.replaceAll(a -> a.matches("^[fs]\".*") ? "x" : a);
    assertFalse(out.isEmpty());
    return out;
  }

  @Test
  void splitArgumentsKeepsQuotedCommas() {
    assertEquals(
        List.of("\"--type-map\"", "\"ORG-P=ORG,ORG-O=ORG\"", "x", "model"),
        splitArguments("\"--type-map\", \"ORG-P=ORG,ORG-O=ORG\", s\"$a/b\", model"));
    if (splitArguments("\"a\"").size() != 1) {
      fail();
    }
  }
}
