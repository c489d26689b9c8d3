package io.sparkner;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Where test inputs are: the bundled sample, the test fixtures, and ../shared when present. */
public final class TestData {
  private TestData() {}

  /** The repository's bundled sample corpora. */
  public static Path sample(String relative) {
    return Path.of("data").resolve(relative).toAbsolutePath();
  }

  /** The XLM-R-shaped (unigram) or BERT-shaped (wordpiece) test tokenizer. */
  public static Path tokenizer(String kind) {
    return Path.of("src/test/resources/tokenizers", kind, "tokenizer.json").toAbsolutePath();
  }

  /** A path under ../shared; skips the calling test, saying why, when it is not there. */
  public static Path shared(String relative) {
    Path root = Path.of(System.getProperty("sparkner.shared", "../shared"));
    Path p = root.resolve(relative).toAbsolutePath().normalize();
    Assumptions.assumeTrue(
        Files.exists(p),
        "skipped: " + p + " is absent (the shared corpora are not on this machine)");
    return p;
  }
}
