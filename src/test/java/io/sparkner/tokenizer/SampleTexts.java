package io.sparkner.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The texts of the bundled sample corpora (data/), in a fixed order: Stockmark sentences, then
 * PAN-X ja, zh, ko, en, de, each train, dev, test. The tokenizer fixtures are built from these.
 */
final class SampleTexts {
  static final String[] PANX_LANGUAGES = {"ja", "zh", "ko", "en", "de"};
  static final String[] PANX_SPLITS = {"train", "dev", "test"};

  private SampleTexts() {}

  static List<String> load(Path dataDir) throws IOException {
    List<String> texts = new ArrayList<>();
    JsonNode records = new ObjectMapper().readTree(dataDir.resolve("stockmark/ner.json").toFile());
    for (JsonNode record : records) {
      texts.add(record.get("text").asText());
    }
    for (String lang : PANX_LANGUAGES) {
      boolean characterPerLine = lang.equals("ja") || lang.equals("zh");
      for (String split : PANX_SPLITS) {
        texts.addAll(panx(dataDir.resolve("panx").resolve(lang).resolve(split), characterPerLine));
      }
    }
    return texts;
  }

  /**
   * PAN-X (XTREME): token TAB tag per line, blank line between sentences. ja/zh have one character
   * per line and '#' where the source had a space.
   */
  static List<String> panx(Path file, boolean characterPerLine) throws IOException {
    List<String> sentences = new ArrayList<>();
    StringBuilder sentence = new StringBuilder();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        flush(sentence, sentences);
        continue;
      }
      int tab = line.indexOf('\t');
      String token = tab < 0 ? line : line.substring(0, tab);
      if (characterPerLine) {
        sentence.append(token.equals("#") ? " " : token);
      } else {
        if (sentence.length() > 0) {
          sentence.append(' ');
        }
        sentence.append(token);
      }
    }
    flush(sentence, sentences);
    return sentences;
  }

  private static void flush(StringBuilder sentence, List<String> sentences) {
    String s = sentence.toString().strip();
    if (!s.isEmpty()) {
      sentences.add(s);
    }
    sentence.setLength(0);
  }
}
