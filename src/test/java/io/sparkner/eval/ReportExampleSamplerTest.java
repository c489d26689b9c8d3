package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.sparkner.corpus.Entity;
import io.sparkner.eval.metrics.Chunker.Chunk;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The choice of example documents: deterministic, mixed, spread over languages. */
class ReportExampleSamplerTest {
  /** Document {@code i} of a language: correct when i % 3 == 0, else an error; every 5th long. */
  private static List<Evaluator.Scored> documents(String lang, int n) {
    List<Evaluator.Scored> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String text = "Tokyo is big " + i + (i % 5 == 4 ? "x".repeat(400) : "");
      List<Chunk> gold = List.of(new Chunk("LOC", 0, 5));
      List<Chunk> predicted = i % 3 == 0 ? gold : List.of(new Chunk("ORG", 0, 5));
      out.add(
          new Evaluator.Scored(
              new GoldDocument(lang + "-" + i, lang, text, List.of(new Entity(0, 5, "LOC"))),
              gold,
              predicted,
              List.of()));
    }
    return out;
  }

  private static ArrayNode sample(List<Evaluator.Scored> docs, int count) {
    ExampleSampler s = new ExampleSampler(count);
    for (Evaluator.Scored d : docs) {
      s.offer(
          d.document().lang().equals("ko") ? 1 : 0,
          d.document().lang().equals("ko") ? "panx" : "stockmark",
          d);
    }
    return s.toJson();
  }

  @Test
  void sameChoiceWhateverTheOrder() {
    List<Evaluator.Scored> docs = new ArrayList<>(documents("ja", 50));
    docs.addAll(documents("ko", 50));
    ArrayNode first = sample(docs, 20);
    Collections.shuffle(docs, new Random(7));
    assertEquals(first, sample(docs, 20));
  }

  @Test
  void halfErrorsHalfCorrectFromEveryLanguageShortTextsFirst() {
    List<Evaluator.Scored> docs = new ArrayList<>(documents("ja", 60));
    docs.addAll(documents("ko", 60));
    ArrayNode chosen = sample(docs, 20);
    assertEquals(20, chosen.size());
    int errors = 0;
    int ja = 0;
    for (JsonNode e : chosen) {
      errors += e.path("status").asText().equals("error") ? 1 : 0;
      ja += e.path("lang").asText().equals("ja") ? 1 : 0;
      assertTrue(e.path("text").asText().length() < 300, "short texts first: " + e.path("id"));
    }
    assertEquals(10, errors);
    assertEquals(10, ja);
    JsonNode predicted = chosen.path(0).path("predicted").path(0);
    assertEquals("Tokyo", predicted.path("text").asText());
  }

  @Test
  void aShortCategoryIsFilledFromTheOther() {
    List<Evaluator.Scored> docs = documents("ja", 7); // 3 correct (0, 3, 6), 4 errors
    ArrayNode chosen = sample(docs, 20);
    assertEquals(7, chosen.size());
    List<Evaluator.Scored> many = documents("ja", 40).subList(1, 3); // errors only
    assertEquals(2, sample(many, 20).size());
    assertEquals(0, sample(documents("ja", 5), 0).size());
  }
}
