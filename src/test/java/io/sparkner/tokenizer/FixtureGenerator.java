package io.sparkner.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Regenerates the tokenizer fixtures under src/test/resources/tokenizers from the bundled samples
 * in data/. Run from the repository root; see src/test/resources/tokenizers/README.md.
 * TokenizerBuilderTest checks that the committed fixtures equal what this produces.
 */
public final class FixtureGenerator {
  static final int UNIGRAM_VOCAB = 8000;
  static final int WORDPIECE_VOCAB = 6000;

  private FixtureGenerator() {}

  static TokenizerBuilder.Options options(TokenizerBuilder.Kind kind) {
    TokenizerBuilder.Options o = new TokenizerBuilder.Options();
    o.vocabSize = kind == TokenizerBuilder.Kind.UNIGRAM ? UNIGRAM_VOCAB : WORDPIECE_VOCAB;
    return o;
  }

  static String fixtureName(TokenizerBuilder.Kind kind) {
    return kind == TokenizerBuilder.Kind.UNIGRAM ? "unigram" : "wordpiece";
  }

  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length > 0 ? args[0] : ".");
    List<String> texts = SampleTexts.load(root.resolve("data"));
    for (TokenizerBuilder.Kind kind : TokenizerBuilder.Kind.values()) {
      String json = TokenizerBuilder.build(kind, texts, options(kind));
      Path out =
          root.resolve("src/test/resources/tokenizers")
              .resolve(fixtureName(kind))
              .resolve("tokenizer.json");
      Files.createDirectories(out.getParent());
      Files.writeString(out, json, StandardCharsets.UTF_8);
      System.out.printf(
          "%s: %d texts -> %s (%d bytes)%n", kind, texts.size(), out, Files.size(out));
    }
  }
}
