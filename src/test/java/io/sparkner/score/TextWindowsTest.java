package io.sparkner.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.Aligner;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.tokenizer.TokenizerHandle;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Scoring cuts a text into exactly the windows prepare cut it into for training. */
class TextWindowsTest {
  @Test
  void scoringWindowsAreThoseOfPrepare() throws IOException {
    JsonNode records = new ObjectMapper().readTree(TestData.sample("stockmark/ner.json").toFile());
    for (String kind : List.of("unigram", "wordpiece")) {
      for (boolean allSubwords : new boolean[] {true, false}) {
        try (TokenizerHandle tok = TokenizerHandle.load(TestData.tokenizer(kind))) {
          int maxLength = 24;
          int stride = 6;
          Aligner aligner =
              new Aligner(
                  tok,
                  new Labels(LabelScheme.IOB2, List.of("PER")),
                  new AlignOptions(maxLength, stride, allSubwords));
          int multi = 0;
          int continuations = 0;
          for (JsonNode r : records) {
            String text = r.path("text").asText() + " 😀𠮷 " + r.path("text").asText();
            List<Aligner.Window> expected = aligner.align("x", text, List.of()).windows();
            List<TextWindows.Window> got =
                TextWindows.of(
                    tok.tokenize(text),
                    tok.prefixIds(),
                    tok.suffixIds(),
                    maxLength - tok.specialTokenCount(),
                    stride,
                    allSubwords);
            String what = kind + (allSubwords ? " all subwords " : " first subwords ") + text;
            assertEquals(expected.size(), got.size(), text);
            for (int w = 0; w < got.size(); w++) {
              assertArrayEquals(expected.get(w).inputIds(), got.get(w).ids(), what);
              assertArrayEquals(expected.get(w).starts(), got.get(w).starts(), what);
              assertArrayEquals(expected.get(w).ends(), got.get(w).ends(), what);
              // scoring decodes exactly the positions prepare labels (no entity: O there)
              int[] labels = expected.get(w).labels();
              for (int j = 0; j < labels.length; j++) {
                assertEquals(labels[j] != Labels.IGNORE, got.get(w).labelled()[j], what + " @" + j);
                if (got.get(w).starts()[j] >= 0
                    && got.get(w).starts()[j] < got.get(w).ends()[j]
                    && !got.get(w).labelled()[j]) {
                  continuations++;
                }
              }
            }
            multi += got.size() > 1 ? 1 : 0;
          }
          assertTrue(multi > 500, kind + ": texts cut into several windows: " + multi);
          // only first-subword labelling leaves subwords that cover text unlabelled
          assertEquals(allSubwords, continuations == 0, kind + ": " + continuations);
        }
      }
    }
  }
}
