package io.sparkner.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documentation points at source lines ({@code `train/Trainer.java:244` — `sum.getFloat()`}):
 * each such reference names a file of {@code src/main/java/io/sparkner} and a line (or range) that
 * exists, and where the documentation quotes the code there, that line holds it. A refactoring or
 * reformatting that moves the code fails here instead of leaving the documentation pointing at
 * something else.
 */
class SourceReferencesTest {
  private static final Path SOURCES = Path.of("src/main/java/io/sparkner");

  /**
   * One or more {@code `dir/File.java:N`} or {@code :N–M} references, then optionally " — `code`"
   * or " (`code`)".
   */
  private static final Pattern GROUP =
      Pattern.compile(
          "((?:`[\\w/]+\\.java:\\d+(?:[–-]\\d+)?`(?:, | and )?)+)(?: — `([^`]+)`|"
              + " \\(`([^`]+)`\\))?");

  private static final Pattern REF = Pattern.compile("`([\\w/]+\\.java):(\\d+)(?:[–-](\\d+))?`");

  @Test
  void everyDocumentedSourceLineHoldsWhatTheDocumentationQuotes() throws IOException {
    List<String> wrong = new ArrayList<>();
    int checked = 0;
    int quoted = 0;
    for (Path doc : docs()) {
      List<String> lines = Files.readAllLines(doc);
      for (int i = 0; i < lines.size(); i++) {
        Matcher g = GROUP.matcher(lines.get(i));
        while (g.find()) {
          String code = g.group(2) != null ? g.group(2) : g.group(3);
          Matcher r = REF.matcher(g.group(1));
          while (r.find()) {
            checked++;
            String where = doc + ":" + (i + 1) + ": `" + r.group(1) + ":" + r.group(2) + "`";
            Path file = SOURCES.resolve(r.group(1));
            if (!Files.isRegularFile(file)) {
              wrong.add(where + " names no file " + file);
              continue;
            }
            List<String> source = Files.readAllLines(file);
            int from = Integer.parseInt(r.group(2));
            int to = r.group(3) == null ? from : Integer.parseInt(r.group(3));
            if (from < 1 || to < from || to > source.size()) {
              wrong.add(where + " is outside the file's " + source.size() + " lines");
              continue;
            }
            if (code != null) {
              quoted++;
              String span = String.join("\n", source.subList(from - 1, to));
              if (!span.replaceAll("\\s+", " ").contains(code.replaceAll("\\s+", " "))) {
                wrong.add(where + " should hold `" + code + "` but holds: " + span.strip());
              }
            }
          }
        }
      }
    }
    assertFalse(checked == 0, "no source reference found in " + docs());
    assertFalse(quoted == 0, "no source reference quotes its code");
    assertEquals(
        List.of(),
        wrong,
        "documentation pointing at moved code (" + checked + " references checked)");
  }

  private static List<Path> docs() throws IOException {
    List<Path> docs = new ArrayList<>(List.of(Path.of("README.md")));
    if (Files.isDirectory(Path.of("docs"))) {
      try (Stream<Path> s = Files.walk(Path.of("docs"))) {
        s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
      }
    }
    return docs;
  }
}
