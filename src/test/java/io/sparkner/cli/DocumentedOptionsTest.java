package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The commands README.md and docs/*.md show still work as shown: every {@code bin/sparkner SUB
 * ...}, {@code spark-submit ... sparkner*.jar SUB ...} and {@code jobs/SUB.sh ...} names a
 * subcommand that exists, and every {@code --option} it shows is an option of that subcommand
 * (picocli's model of {@link Main#commandLine()}), listed by {@code SUB --help} unless it is
 * hidden. Links between the pages point at files and headings that exist, and the README opens with
 * the two commands a new user runs, the second being what CI runs.
 */
class DocumentedOptionsTest {
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final Pattern INLINE_CODE = Pattern.compile("`([^`]+)`");
  private static final Pattern JOB_SCRIPT = Pattern.compile("(?:^|/)jobs/([a-z-]+)\\.sh$");
  private static final Pattern PLACEHOLDER = Pattern.compile("[A-Z][A-Z_]*|\\.\\.\\.");
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

  /** The languages of the code blocks whose lines are shell commands. */
  private static final Set<String> SHELL = Set.of("bash", "sh", "shell", "console");

  /** A command as a page shows it: where, and its words from the launcher on. */
  record Shown(String where, List<String> words) {}

  /** The pages: README.md, then docs/*.md by name. */
  static List<Path> pages() throws IOException {
    List<Path> pages = new ArrayList<>();
    pages.add(ROOT.resolve("README.md"));
    try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    return pages;
  }

  /**
   * Every command a page shows: in shell code blocks (lines ending in {@code \} joined), and in
   * inline code, where a span that starts with a subcommand followed by an option ({@code train
   * --replicas N}) counts too.
   */
  static List<Shown> shownCommands(Path page, Set<String> subcommands) throws IOException {
    List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
    String name = ROOT.relativize(page).toString();
    List<Shown> shown = new ArrayList<>();
    boolean fenced = false;
    boolean shell = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.strip().startsWith("```")) {
        fenced = !fenced;
        shell = fenced && SHELL.contains(line.strip().substring(3).strip());
        continue;
      }
      String where = name + ":" + (i + 1);
      if (shell) {
        StringBuilder joined = new StringBuilder();
        while (line.endsWith("\\") && i + 1 < lines.size()) {
          joined.append(line, 0, line.length() - 1).append(' ');
          line = lines.get(++i);
        }
        joined.append(line);
        commandsIn(joined.toString(), where, false, subcommands, shown);
      } else if (!fenced) {
        Matcher m = INLINE_CODE.matcher(line);
        while (m.find()) {
          commandsIn(m.group(1), where, true, subcommands, shown);
        }
      }
    }
    return shown;
  }

  private static void commandsIn(
      String text, String where, boolean inline, Set<String> subcommands, List<Shown> out) {
    List<String> words = new ArrayList<>();
    for (String w : text.strip().split("\\s+")) {
      // a comment, a pipe, a redirection or the next command ends the one shown
      if (w.startsWith("#")
          || w.equals("|")
          || w.equals("||")
          || w.equals("&&")
          || w.equals(";")
          || w.startsWith(">")
          || w.startsWith("2>")) {
        break;
      }
      words.add(w.replaceAll("^[\"']|[\"']$", ""));
    }
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      if (w.equals("bin/sparkner") || w.endsWith("/bin/sparkner")) {
        out.add(new Shown(where, words.subList(i + 1, words.size())));
        return;
      }
      if (w.equals("spark-submit") || w.endsWith("/spark-submit")) {
        for (int j = i + 1; j < words.size(); j++) {
          String jar = words.get(j);
          if (jar.endsWith(".jar")
              && jar.substring(jar.lastIndexOf('/') + 1).startsWith("sparkner")
              && !words.get(j - 1).equals("--jars")) {
            out.add(new Shown(where, words.subList(j + 1, words.size())));
            return;
          }
        }
        return;
      }
      Matcher job = JOB_SCRIPT.matcher(w);
      if (job.find() && subcommands.contains(job.group(1))) {
        List<String> sub = new ArrayList<>();
        sub.add(job.group(1));
        sub.addAll(words.subList(i + 1, words.size()));
        out.add(new Shown(where, sub));
        return;
      }
    }
    if (inline
        && words.size() > 1
        && subcommands.contains(words.get(0))
        && words.get(1).startsWith("--")) {
      out.add(new Shown(where, words));
    }
  }

  /** The option a word shows, or null: {@code [--set} and {@code --set=K=V} are {@code --set}. */
  static String option(String word) {
    String w = word.replaceAll("^[\\[(]+", "").replaceAll("[\\]),.:]+$", "");
    if (!w.startsWith("--") || w.length() < 3) {
      return null;
    }
    int eq = w.indexOf('=');
    return eq > 0 ? w.substring(0, eq) : w;
  }

  @Test
  void everyShownCommandAndOptionExists() throws IOException {
    CommandLine root = Main.commandLine();
    Set<String> subcommands = new TreeSet<>(root.getSubcommands().keySet());
    List<String> problems = new ArrayList<>();
    // per subcommand (by its full name), the options the pages show and where
    Map<String, Map<String, String>> documented = new TreeMap<>();
    Map<String, CommandSpec> specs = new TreeMap<>();
    int commands = 0;
    for (Path page : pages()) {
      for (Shown s : shownCommands(page, subcommands)) {
        commands++;
        CommandSpec spec = root.getCommandSpec();
        String path = "";
        List<String> words = s.words();
        int i = 0;
        boolean skip =
            false; // a placeholder, or an unknown subcommand whose options cannot be checked
        while (i < words.size()) {
          String w = words.get(i);
          if (w.equals("--master")) { // bin/sparkner's own option, taken wherever it stands
            i += 2;
            continue;
          }
          if (w.startsWith("-")) {
            break;
          }
          CommandLine sub = spec.subcommands().get(w);
          if (sub == null) {
            if (spec == root.getCommandSpec()) {
              if (PLACEHOLDER.matcher(w).matches()) {
                skip = true; // bin/sparkner SUBCOMMAND --help, bin/sparkner ...
              } else {
                problems.add(
                    s.where()
                        + ": `sparkner "
                        + w
                        + "`: no such subcommand (there are "
                        + subcommands
                        + ")");
                skip = true;
              }
            }
            break;
          }
          spec = sub.getCommandSpec();
          path = path.isEmpty() ? w : path + " " + w;
          i++;
        }
        if (skip) {
          continue;
        }
        String shownAs = path.isEmpty() ? "sparkner" : "sparkner " + path;
        specs.put(shownAs, spec);
        for (; i < words.size(); i++) {
          String o = option(words.get(i));
          if (o == null || o.equals("--master")) {
            continue;
          }
          if (!spec.optionsMap().containsKey(o) && !spec.negatedOptionsMap().containsKey(o)) {
            problems.add(
                s.where()
                    + ": `"
                    + shownAs
                    + "` has no option "
                    + o
                    + " (see `"
                    + shownAs
                    + " --help`)");
          } else {
            documented.computeIfAbsent(shownAs, k -> new TreeMap<>()).putIfAbsent(o, s.where());
          }
        }
      }
    }
    assertTrue(commands > 30, "found only " + commands + " shown commands in README.md and docs/");
    // the --help of each documented subcommand lists what the pages show (hidden options excepted)
    for (Map.Entry<String, Map<String, String>> e : documented.entrySet()) {
      String help = help(e.getKey());
      CommandSpec spec = specs.get(e.getKey());
      for (Map.Entry<String, String> o : e.getValue().entrySet()) {
        OptionSpec opt =
            spec.optionsMap().getOrDefault(o.getKey(), spec.negatedOptionsMap().get(o.getKey()));
        String base = opt.longestName().replaceFirst("^--", "");
        boolean listed =
            help.contains(o.getKey()) || (opt.negatable() && help.contains("--[no-]" + base));
        if (!opt.hidden() && !listed) {
          problems.add(o.getValue() + ": `" + e.getKey() + " --help` does not list " + o.getKey());
        }
      }
    }
    // every subcommand that runs something is shown somewhere
    for (String sub : OptionTableTest.subcommands().keySet()) {
      if (OptionTableTest.subcommands().get(sub).subcommands().isEmpty()
          && !specs.containsKey("sparkner " + sub)) {
        problems.add("no page shows a `bin/sparkner " + sub + "` command");
      }
    }
    assertEquals(List.of(), problems, "commands in README.md and docs/ that do not work as shown");
  }

  /**
   * The options the text names outside commands ({@code `--resume-from DIR`}, {@code
   * `--no-sort-by-length`}): each is an option of some subcommand, or one of the few of the
   * launcher, spark-submit and the JVM.
   */
  @Test
  void everyOptionTheTextNamesExists() throws IOException {
    Set<String> ours = new TreeSet<>();
    for (CommandSpec spec : OptionTableTest.subcommands().values()) {
      ours.addAll(spec.optionsMap().keySet());
      ours.addAll(spec.negatedOptionsMap().keySet());
    }
    Set<String> others = Set.of("--master", "--jars", "--files", "--add-opens");
    List<String> problems = new ArrayList<>();
    int named = 0;
    for (Path page : pages()) {
      List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
      boolean fenced = false;
      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).strip().startsWith("```")) {
          fenced = !fenced;
          continue;
        }
        Matcher m = INLINE_CODE.matcher(lines.get(i));
        while (!fenced && m.find()) {
          if (!m.group(1).startsWith("--")) {
            continue;
          }
          for (String w : m.group(1).split("\\s+")) {
            String o = option(w);
            if (o != null) {
              named++;
              if (!ours.contains(o) && !others.contains(o)) {
                problems.add(
                    ROOT.relativize(page)
                        + ":"
                        + (i + 1)
                        + ": "
                        + o
                        + " is no option of any subcommand");
              }
            }
          }
        }
      }
    }
    assertTrue(named > 50, "found only " + named + " options named in the text");
    assertEquals(List.of(), problems, "options named in README.md and docs/ that do not exist");
  }

  /** What {@code sparkner PATH --help} prints, run in-process as a user would run it. */
  static String help(String shownAs) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    List<String> args = new ArrayList<>(Arrays.asList(shownAs.split(" ")));
    args.remove(0);
    args.add("--help");
    int code = cl.execute(args.toArray(new String[0]));
    assertEquals(0, code, shownAs + " --help: " + err);
    return out.toString();
  }

  @Test
  void theReadmeOpensWithTheDemoAndTheTestCommandCiRuns() throws IOException {
    List<String> readme = Files.readAllLines(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    int fence = readme.indexOf("```bash");
    assertTrue(fence > 0 && fence < 5, "README.md must open with a code block of the two commands");
    assertEquals("bin/sparkner demo", readme.get(fence + 1).replaceFirst("\\s+#.*", ""));
    String testCommand = readme.get(fence + 2).replaceFirst("\\s+#.*", "");
    assertTrue(testCommand.startsWith("mvn -B verify"), testCommand);
    List<String> ci = Files.readAllLines(ROOT.resolve(".ci/run"), StandardCharsets.UTF_8);
    assertEquals(
        testCommand,
        ci.get(ci.size() - 1).strip(),
        ".ci/run must run exactly the README's test command");
  }

  @Test
  void everyLinkBetweenThePagesResolves() throws IOException {
    Map<Path, Set<String>> anchors = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    int links = 0;
    for (Path page : pages()) {
      List<String> lines = Files.readAllLines(page, StandardCharsets.UTF_8);
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = LINK.matcher(lines.get(i));
        while (m.find()) {
          String target = m.group(1);
          if (target.matches("^[a-z]+:.*")) {
            continue; // http(s), mailto
          }
          links++;
          int hash = target.indexOf('#');
          Path file =
              hash == 0
                  ? page
                  : page.getParent()
                      .resolve(hash > 0 ? target.substring(0, hash) : target)
                      .normalize();
          String where = ROOT.relativize(page) + ":" + (i + 1) + ": " + target;
          if (!Files.exists(file)) {
            problems.add(where + ": no such file");
          } else if (hash >= 0
              && !anchors
                  .computeIfAbsent(file, DocumentedOptionsTest::headings)
                  .contains(target.substring(hash + 1))) {
            problems.add(where + ": no such heading in " + ROOT.relativize(file));
          }
        }
      }
    }
    assertTrue(links > 15, "found only " + links + " links");
    assertEquals(List.of(), problems, "broken links in README.md and docs/");
  }

  /** The anchors of a page's headings, as GitHub makes them. */
  static Set<String> headings(Path page) {
    Set<String> out = new TreeSet<>();
    try {
      boolean fenced = false;
      for (String l : Files.readAllLines(page, StandardCharsets.UTF_8)) {
        if (l.strip().startsWith("```")) {
          fenced = !fenced;
        } else if (!fenced && l.matches("^#{1,6} .*")) {
          String text = l.replaceFirst("^#+ ", "").toLowerCase(Locale.ROOT);
          out.add(text.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
