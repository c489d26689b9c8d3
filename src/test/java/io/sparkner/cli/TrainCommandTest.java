package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** init → train → evaluate as a user runs them, and the errors a user can make. */
class TrainCommandTest {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() {
    PrepareCommandTest.Run p =
        PrepareCommandTest.run(
            "prepare",
            "--input", "stockmark:" + TestData.sample("stockmark/ner.json"),
            "--tokenizer", TestData.tokenizer("unigram").toString(),
            "--output", dir.resolve("prepared").toString(),
            "--max-length", "128");
    assertEquals(0, p.code(), p.err());
    PrepareCommandTest.Run i =
        PrepareCommandTest.run(
            "init",
            "--config", Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
            "--tokenizer", TestData.tokenizer("unigram").toString(),
            "--labels", dir.resolve("prepared/labels.json").toString(),
            "--output", dir.resolve("tiny").toString());
    assertEquals(0, i.code(), i.err());
  }

  @Test
  void trainThenEvaluate() throws IOException {
    Path out = dir.resolve("trained");
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data", dir.resolve("prepared").toString(),
            "--model", dir.resolve("tiny").toString(),
            "--output", out.toString(),
            "--conf", Path.of("conf/train-demo.json").toAbsolutePath().toString(),
            "--set", "max_steps=6",
            "--set", "logging_steps=2",
            "--set", "save_steps=3");
    assertEquals(0, t.code(), t.err() + t.out());
    assertTrue(t.out().contains("step 6/6"), t.out());
    assertTrue(t.out().contains("ETA"), t.out());
    List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(3, metrics.size());
    // every step line says where the step's time went (DeepSpeed's wall_clock_breakdown)
    for (String line : metrics) {
      JsonNode m = new ObjectMapper().readTree(line);
      JsonNode b = m.path("breakdown_seconds");
      double sum = 0;
      for (String phase : List.of("forward_backward", "reduce_gradients", "optimizer", "gather_parameters")) {
        assertTrue(b.path(phase).isNumber() && b.path(phase).asDouble() >= 0, phase + " in " + line);
        sum += b.path(phase).asDouble();
      }
      assertTrue(b.path("forward_backward").asDouble() > 0, line);
      double step = m.path("step_seconds").asDouble();
      assertTrue(sum <= step + 1e-3 && sum >= 0.9 * step - 1e-3, "phases " + sum + " vs step " + step + ": " + line);
    }
    assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-3/COMPLETE")));
    assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-6/COMPLETE")));

    PrepareCommandTest.Run e =
        PrepareCommandTest.run(
            "evaluate",
            "--model", out.toString(),
            "--data", dir.resolve("prepared").toString(),
            "--split", "test",
            "--report", dir.resolve("report").toString());
    assertEquals(0, e.code(), e.err());
    assertTrue(e.out().contains("micro avg"), e.out());
    JsonNode report = new ObjectMapper().readTree(dir.resolve("report/report.json").toFile());
    long testEntities = report.path("seqeval_default").path("micro").path("support").asLong();
    assertTrue(testEntities > 0);
    assertTrue(report.path("by_lang").has("ja"));
    assertTrue(report.path("tokens").path("matrix").isArray());
  }

  @Test
  void evalStrategyDecidesWhenValidationRuns() throws IOException {
    PrepareCommandTest.Run none =
        PrepareCommandTest.run(
            "train", "--data", dir.resolve("prepared").toString(), "--model", dir.resolve("tiny").toString(),
            "--output", dir.resolve("eval-no").toString(),
            "--set", "num_train_epochs=1", "--set", "per_device_train_batch_size=32", "--set", "eval_strategy=no");
    assertEquals(0, none.code(), none.err());
    assertTrue(Files.readAllLines(dir.resolve("eval-no/metrics.jsonl")).stream().noneMatch(l -> l.contains("eval_f1")));
    PrepareCommandTest.Run steps =
        PrepareCommandTest.run(
            "train", "--data", dir.resolve("prepared").toString(), "--model", dir.resolve("tiny").toString(),
            "--output", dir.resolve("eval-steps").toString(),
            "--set", "max_steps=6", "--set", "eval_strategy=steps", "--set", "eval_steps=3");
    assertEquals(0, steps.code(), steps.err());
    assertEquals(2, Files.readAllLines(dir.resolve("eval-steps/metrics.jsonl")).stream().filter(l -> l.contains("eval_f1")).count());
  }

  @Test
  void bf16OnCpuIsRefusedWithAReason() {
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data", dir.resolve("prepared").toString(),
            "--model", dir.resolve("tiny").toString(),
            "--output", dir.resolve("bf16").toString(),
            "--set", "bf16=true",
            "--set", "max_steps=1");
    assertEquals(1, t.code());
    assertTrue(t.err().contains("bf16") && t.err().contains("fp16 or fp32"), t.err());
  }

  @Test
  void unknownConfigKeysNameThePath() throws IOException {
    Path conf = dir.resolve("bad.json");
    Files.writeString(conf, "{\"learning_rte\": 1e-4}");
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data", dir.resolve("prepared").toString(),
            "--model", dir.resolve("tiny").toString(),
            "--output", dir.resolve("bad").toString(),
            "--conf", conf.toString());
    assertEquals(1, t.code());
    assertTrue(t.err().contains("learning_rte") && t.err().contains("learning_rate"), t.err());
  }
}
