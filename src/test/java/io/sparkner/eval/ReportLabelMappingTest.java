package io.sparkner.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.eval.metrics.LabelMapping;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rules of {@link LabelMapping}, label by label. */
class ReportLabelMappingTest {
  private static final List<String> STOCKMARK = ReportFixtures.stockmarkLabels();
  private static final Labels PANX = new Labels(LabelScheme.IOB2, List.of("LOC", "ORG", "PER"));

  private static int id(Labels l, String label) {
    return l.labels().indexOf(label);
  }

  @Test
  void stockmarkOnPanx() {
    LabelMapping m =
        LabelMapping.of(STOCKMARK, PANX, Map.of("ORG-P", "ORG", "ORG-O", "ORG"), "panx");
    assertEquals(id(PANX, "B-ORG"), m.apply(STOCKMARK.indexOf("B-ORG-P")));
    assertEquals(id(PANX, "I-ORG"), m.apply(STOCKMARK.indexOf("I-ORG-O")));
    assertEquals(id(PANX, "I-ORG"), m.apply(STOCKMARK.indexOf("I-ORG")));
    assertEquals(id(PANX, "B-PER"), m.apply(STOCKMARK.indexOf("B-PER")));
    assertEquals(0, m.apply(STOCKMARK.indexOf("B-INS")));
    assertEquals(0, m.apply(STOCKMARK.indexOf("I-EVT")));
    assertEquals(0, m.apply(0));
    assertEquals(Labels.IGNORE, m.apply(Labels.IGNORE));
    assertEquals(Set.of("EVT", "INS", "PRD"), m.dropped());
    assertEquals(Map.of("ORG-P", "ORG", "ORG-O", "ORG"), m.mapped());
    assertTrue(m.notPredicted().isEmpty());
  }

  @Test
  void withoutATypeMapTheSubtypesAreDroppedAndListed() {
    LabelMapping m = LabelMapping.of(STOCKMARK, PANX, Map.of(), "panx");
    assertEquals(Set.of("EVT", "INS", "ORG-O", "ORG-P", "PRD"), m.dropped());
    assertEquals(0, m.apply(STOCKMARK.indexOf("B-ORG-P")));
  }

  @Test
  void aTypeTheCorpusHasIsKeptEvenWhenTheMapNamesIt() {
    Labels stockmark =
        new Labels(
            LabelScheme.IOB2, List.of("EVT", "INS", "LOC", "ORG", "ORG-O", "ORG-P", "PER", "PRD"));
    LabelMapping m = LabelMapping.of(STOCKMARK, stockmark, Map.of("ORG-P", "ORG"), "stockmark");
    assertTrue(m.isIdentity());
    assertEquals(STOCKMARK.indexOf("B-ORG-P"), m.apply(STOCKMARK.indexOf("B-ORG-P")));
    assertEquals(List.of("ORG-P"), textList(m.toJson().path("type_map_unused")));
  }

  @Test
  void corpusTypesTheModelCannotPredictAreListed() {
    Labels conll = new Labels(LabelScheme.IOB2, List.of("LOC", "MISC", "ORG", "PER"));
    LabelMapping m = LabelMapping.of(PANX.labels(), conll, Map.of(), "conll");
    assertEquals(Set.of("MISC"), m.notPredicted());
    assertEquals(id(conll, "I-ORG"), m.apply(id(PANX, "I-ORG")));
  }

  @Test
  void mistakesAreErrorsThatSayWhat() {
    IllegalArgumentException typo =
        assertThrows(
            IllegalArgumentException.class,
            () -> LabelMapping.of(STOCKMARK, PANX, Map.of("ORGP", "ORG"), "panx"));
    assertTrue(
        typo.getMessage().contains("ORGP") && typo.getMessage().contains("ORG-P"),
        typo.getMessage());
    Labels io = new Labels(LabelScheme.IO, List.of("LOC", "ORG", "PER"));
    IllegalArgumentException scheme =
        assertThrows(
            IllegalArgumentException.class,
            () -> LabelMapping.of(STOCKMARK, io, Map.of(), "panx-io"));
    assertTrue(
        scheme.getMessage().contains("panx-io") && scheme.getMessage().contains("--scheme IOB2"),
        scheme.getMessage());
  }

  private static List<String> textList(com.fasterxml.jackson.databind.JsonNode a) {
    List<String> out = new java.util.ArrayList<>();
    a.forEach(n -> out.add(n.asText()));
    return out;
  }
}
