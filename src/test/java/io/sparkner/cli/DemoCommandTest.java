package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, on the bundled data. */
class DemoCommandTest {
  @TempDir Path dir;

  @Test
  void demoRunsEndToEndOnTheBundledSample() throws IOException {
    PrepareCommandTest.Run r =
        PrepareCommandTest.run(
            "demo", "--data", TestData.sample("").toString(), "--output", dir.toString());
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(Files.isRegularFile(dir.resolve("tokenizer/tokenizer.json")));
    JsonNode summary = new ObjectMapper().readTree(dir.resolve("prepared/summary.json").toFile());
    assertEquals(1100, summary.path("records_in").asLong());
    assertEquals(1100, summary.path("documents").asLong());
    assertTrue(r.out().contains("== done"), r.out());
    // trained, evaluated, with the files a Hugging Face user expects
    for (String f :
        new String[] {"config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl"}) {
      assertTrue(Files.isRegularFile(dir.resolve("trained").resolve(f)), f);
    }
    JsonNode report = new ObjectMapper().readTree(dir.resolve("report/report.json").toFile());
    assertEquals("test", report.path("split").asText());
    assertTrue(report.path("seqeval_default").path("micro").path("support").asLong() > 0);
    assertTrue(
        Files.readAllLines(dir.resolve("trained/metrics.jsonl")).stream()
            .anyMatch(l -> l.contains("eval_f1")));
  }
}
