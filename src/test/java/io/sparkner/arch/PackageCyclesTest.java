package io.sparkner.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The packages of the main code form no cycle: their dependencies, read by the JDK's {@code jdeps}
 * from the compiled classes (imports, fully qualified names and inlined constants alike), are a
 * directed acyclic graph. A cycle is reported as the packages that depend on each other and the
 * class dependencies between them.
 */
class PackageCyclesTest {
  private static final Pattern EDGE =
      Pattern.compile("^\\s*(io\\.sparkner[\\w.]*)\\s+->\\s+([\\w.]+)\\s");
  private static final Pattern CLASS_EDGE =
      Pattern.compile("^\\s*(io\\.sparkner[\\w.$]*)\\s+->\\s+([\\w.$]+)\\s");

  @Test
  void mainPackagesFormNoCycle() {
    Map<String, Set<String>> graph = dependencies("package");
    assertTrue(
        graph.containsKey("io.sparkner.train") && graph.containsKey("io.sparkner.collective"),
        graph.keySet().toString());
    List<List<String>> cycles = cycles(graph);
    StringBuilder why = new StringBuilder();
    if (!cycles.isEmpty()) {
      Map<String, Set<String>> classes = dependencies("class");
      for (List<String> cycle : cycles) {
        why.append("\npackages that depend on each other: ").append(cycle).append(", through:");
        classes.forEach(
            (c, targets) ->
                targets.stream()
                    .filter(
                        t ->
                            !packageOf(c).equals(packageOf(t))
                                && cycle.contains(packageOf(c))
                                && cycle.contains(packageOf(t)))
                    .forEach(t -> why.append("\n  ").append(c).append(" -> ").append(t)));
      }
    }
    assertEquals(List.of(), cycles, "package cycles in the main code:" + why);
  }

  @Test
  void theCollectiveLibraryKnowsNeitherSparkNorTraining() {
    Map<String, Set<String>> classes =
        dependencies("class", "(io\\.sparkner|org\\.apache\\.spark|scala|ai\\.djl)\\..*");
    List<String> wrong = new ArrayList<>();
    classes.forEach(
        (c, targets) -> {
          if (packageOf(c).equals("io.sparkner.collective")) {
            targets.stream()
                .filter(
                    t ->
                        !Set.of("io.sparkner.collective", "io.sparkner.model", "io.sparkner.lang")
                            .contains(packageOf(t)))
                .forEach(t -> wrong.add(c + " -> " + t));
          }
        });
    assertEquals(List.of(), wrong);
  }

  /**
   * io.sparkner.lang (helpers any package may use, the collective library included) depends on
   * nothing of sparkner, Spark or DJL.
   */
  @Test
  void theLanguageHelpersDependOnNothing() {
    Map<String, Set<String>> classes =
        dependencies("class", "(io\\.sparkner|org\\.apache\\.spark|scala|ai\\.djl)\\..*");
    List<String> wrong = new ArrayList<>();
    classes.forEach(
        (c, targets) -> {
          if (packageOf(c).equals("io.sparkner.lang")) {
            targets.stream()
                .filter(t -> !packageOf(t).equals("io.sparkner.lang"))
                .forEach(t -> wrong.add(c + " -> " + t));
          }
        });
    assertEquals(List.of(), wrong);
  }

  /**
   * The strongly connected components of more than one package (Tarjan): each is one or more
   * cycles.
   */
  static List<List<String>> cycles(Map<String, Set<String>> graph) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    Set<String> onStack = new java.util.HashSet<>();
    List<List<String>> out = new ArrayList<>();
    int[] counter = {0};
    for (String v : graph.keySet()) {
      if (!index.containsKey(v)) {
        connect(v, graph, index, low, stack, onStack, out, counter);
      }
    }
    return out;
  }

  private static void connect(
      String v,
      Map<String, Set<String>> g,
      Map<String, Integer> index,
      Map<String, Integer> low,
      Deque<String> stack,
      Set<String> onStack,
      List<List<String>> out,
      int[] counter) {
    index.put(v, counter[0]);
    low.put(v, counter[0]++);
    stack.push(v);
    onStack.add(v);
    for (String w : g.getOrDefault(v, Set.of())) {
      if (!index.containsKey(w)) {
        connect(w, g, index, low, stack, onStack, out, counter);
        low.put(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.contains(w)) {
        low.put(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v).equals(index.get(v))) {
      List<String> component = new ArrayList<>();
      String w;
      do {
        w = stack.pop();
        onStack.remove(w);
        component.add(w);
      } while (!w.equals(v));
      if (component.size() > 1) {
        java.util.Collections.reverse(component);
        out.add(component);
      }
    }
  }

  @Test
  void metricsAreComputedWithoutSparkOrReportRendering() {
    Map<String, Set<String>> classes =
        dependencies("class", "(io\\.sparkner|org\\.apache\\.spark|scala|ai\\.djl)\\..*");
    List<String> wrong = new ArrayList<>();
    classes.forEach(
        (c, targets) -> {
          if (packageOf(c).equals("io.sparkner.eval.metrics")) {
            targets.stream()
                .filter(
                    t ->
                        !Set.of(
                                "io.sparkner.eval.metrics",
                                "io.sparkner.align",
                                "io.sparkner.corpus")
                            .contains(packageOf(t)))
                .forEach(t -> wrong.add(c + " -> " + t));
          }
        });
    assertEquals(List.of(), wrong);
  }

  @Test
  void tokenizerCodeLivesInOnePackage() {
    List<String> elsewhere =
        dependencies("class").keySet().stream()
            .filter(
                c ->
                    c.substring(c.lastIndexOf('.') + 1).startsWith("Tokeniz")
                        && !packageOf(c).equals("io.sparkner.tokenizer"))
            .filter(
                c ->
                    !packageOf(c).equals("io.sparkner.cli")
                        && !c.endsWith(".TokenizerCheck")
                        && !c.contains(".TokenizerCheck$"))
            .toList();
    assertEquals(
        List.of(),
        elsewhere,
        "tokenizer classes outside io.sparkner.tokenizer (the CLI command and evaluate's model/data"
            + " check aside)");
  }

  /** io.sparkner → io.sparkner dependencies of the main classes, at package or class level. */
  static Map<String, Set<String>> dependencies(String level) {
    return dependencies(level, "io\\.sparkner\\..*");
  }

  /**
   * Dependencies of the main classes on the packages {@code targets} (a jdeps {@code -e} regex)
   * matches.
   */
  static Map<String, Set<String>> dependencies(String level, String targets) {
    Path classes = Path.of("target/classes");
    if (!Files.isDirectory(classes.resolve("io/sparkner"))) {
      classes =
          Path.of(
              io.sparkner.storage.HadoopFiles.class
                  .getProtectionDomain()
                  .getCodeSource()
                  .getLocation()
                  .getPath());
    }
    ToolProvider jdeps =
        ToolProvider.findFirst("jdeps")
            .orElseThrow(() -> new AssertionError("this JDK has no jdeps"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        jdeps.run(
            new PrintWriter(out),
            new PrintWriter(err),
            "-verbose:" + level,
            "-filter:none",
            "-e",
            targets,
            classes.toString());
    assertEquals(0, code, err.toString());
    Map<String, Set<String>> graph = new TreeMap<>();
    Pattern p = level.equals("package") ? EDGE : CLASS_EDGE;
    for (String line : out.toString().split("\n")) {
      Matcher m = p.matcher(line);
      if (m.find() && !m.group(1).equals(m.group(2))) {
        graph.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
      }
    }
    return graph;
  }

  static String packageOf(String cls) {
    String outer = cls.contains("$") ? cls.substring(0, cls.indexOf('$')) : cls;
    return outer.substring(0, outer.lastIndexOf('.'));
  }
}
