package io.sparkner.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.model.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** init → train → evaluate as a user runs them, and the errors a user can make. */
class TrainCommandTest {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() {
    prepareAndInit(dir);
  }

  /**
   * The sample prepared under {@code dir/prepared} and a tiny XLM-R initialised for its labels
   * under {@code dir/tiny}.
   */
  static void prepareAndInit(Path dir) {
    PrepareCommandTest.Run p =
        PrepareCommandTest.run(
            "prepare",
            "--input",
            "stockmark:" + TestData.sample("stockmark/ner.json"),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--output",
            dir.resolve("prepared").toString(),
            "--max-length",
            "128");
    assertEquals(0, p.code(), p.err());
    PrepareCommandTest.Run i =
        PrepareCommandTest.run(
            "init",
            "--config",
            Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
            "--tokenizer",
            TestData.tokenizer("unigram").toString(),
            "--labels",
            dir.resolve("prepared/labels.json").toString(),
            "--output",
            dir.resolve("tiny").toString());
    assertEquals(0, i.code(), i.err());
  }

  @Test
  void trainThenEvaluate() throws IOException {
    Path out = dir.resolve("trained");
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data",
            dir.resolve("prepared").toString(),
            "--model",
            dir.resolve("tiny").toString(),
            "--output",
            out.toString(),
            "--conf",
            Path.of("conf/train-demo.json").toAbsolutePath().toString(),
            "--set",
            "max_steps=6",
            "--set",
            "logging_steps=2",
            "--set",
            "save_steps=3");
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
      for (String phase :
          List.of("forward_backward", "reduce_gradients", "optimizer", "gather_parameters")) {
        assertTrue(
            b.path(phase).isNumber() && b.path(phase).asDouble() >= 0, phase + " in " + line);
        sum += b.path(phase).asDouble();
      }
      assertTrue(b.path("forward_backward").asDouble() > 0, line);
      double step = m.path("step_seconds").asDouble();
      assertTrue(
          sum <= step + 1e-3 && sum >= 0.9 * step - 1e-3,
          "phases " + sum + " vs step " + step + ": " + line);
    }
    assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-3/COMPLETE")));
    assertTrue(Files.exists(out.resolve("checkpoints/checkpoint-6/COMPLETE")));

    PrepareCommandTest.Run e =
        PrepareCommandTest.run(
            "evaluate",
            "--model",
            out.toString(),
            "--data",
            dir.resolve("prepared").toString(),
            "--split",
            "test",
            "--report",
            dir.resolve("report").toString());
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
            "train",
            "--data",
            dir.resolve("prepared").toString(),
            "--model",
            dir.resolve("tiny").toString(),
            "--output",
            dir.resolve("eval-no").toString(),
            "--set",
            "num_train_epochs=1",
            "--set",
            "per_device_train_batch_size=32",
            "--set",
            "eval_strategy=no");
    assertEquals(0, none.code(), none.err());
    assertTrue(
        Files.readAllLines(dir.resolve("eval-no/metrics.jsonl")).stream()
            .noneMatch(l -> l.contains("eval_f1")));
    PrepareCommandTest.Run steps =
        PrepareCommandTest.run(
            "train",
            "--data",
            dir.resolve("prepared").toString(),
            "--model",
            dir.resolve("tiny").toString(),
            "--output",
            dir.resolve("eval-steps").toString(),
            "--set",
            "max_steps=6",
            "--set",
            "eval_strategy=steps",
            "--set",
            "eval_steps=3");
    assertEquals(0, steps.code(), steps.err());
    assertEquals(
        2,
        Files.readAllLines(dir.resolve("eval-steps/metrics.jsonl")).stream()
            .filter(l -> l.contains("eval_f1"))
            .count());
  }

  @Test
  void bf16OnCpuIsRefusedWithAReason() {
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data",
            dir.resolve("prepared").toString(),
            "--model",
            dir.resolve("tiny").toString(),
            "--output",
            dir.resolve("bf16").toString(),
            "--set",
            "bf16=true",
            "--set",
            "max_steps=1");
    assertEquals(1, t.code());
    assertTrue(t.err().contains("bf16") && t.err().contains("fp16 or fp32"), t.err());
  }

  @Test
  void deviceGpuWithoutAnyGpuIsAnError() {
    // one replica trains on the driver: Spark assigned no GPU and the bundled libtorch is the CPU
    // build
    PrepareCommandTest.Run t =
        train(dir.resolve("device-gpu"), "--set", "max_steps=2", "--device", "gpu");
    assertEquals(2, t.code(), t.err());
    assertTrue(t.err().contains("error: the driver: --device=gpu, but there is no GPU"), t.err());
    assertTrue(t.err().contains("flavour cpu"), t.err());
    assertTrue(
        !Files.exists(dir.resolve("device-gpu/model.safetensors")), "nothing may be trained");
  }

  @Test
  void unknownConfigKeysNameThePath() throws IOException {
    Path conf = dir.resolve("bad.json");
    Files.writeString(conf, "{\"learning_rte\": 1e-4}");
    PrepareCommandTest.Run t =
        PrepareCommandTest.run(
            "train",
            "--data",
            dir.resolve("prepared").toString(),
            "--model",
            dir.resolve("tiny").toString(),
            "--output",
            dir.resolve("bad").toString(),
            "--conf",
            conf.toString());
    assertEquals(1, t.code());
    assertTrue(t.err().contains("learning_rte") && t.err().contains("learning_rate"), t.err());
  }

  static PrepareCommandTest.Run train(Path out, String... extra) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "train",
                "--data",
                dir.resolve("prepared").toString(),
                "--model",
                dir.resolve("tiny").toString(),
                "--output",
                out.toString(),
                "--set",
                "eval_strategy=no",
                "--set",
                "logging_steps=1"));
    args.addAll(List.of(extra));
    return PrepareCommandTest.run(args.toArray(new String[0]));
  }

  @Test
  void aRerunWithOtherEpochsIntoTheSameOutputStopsAndNamesWhatDiffers() throws IOException {
    Path out = dir.resolve("rerun");
    PrepareCommandTest.Run first =
        train(out, "--set", "num_train_epochs=2", "--set", "per_device_train_batch_size=64");
    assertEquals(0, first.code(), first.err() + first.out());
    byte[] model = Files.readAllBytes(out.resolve("model.safetensors"));
    long steps = Files.list(out.resolve("checkpoints")).count();

    PrepareCommandTest.Run again =
        train(out, "--set", "num_train_epochs=1", "--set", "per_device_train_batch_size=64");
    assertEquals(2, again.code(), again.err() + again.out());
    assertTrue(again.err().contains("num_train_epochs: 2 -> 1"), again.err());
    assertTrue(
        again.err().contains("--overwrite") && again.err().contains("--resume-from"), again.err());
    assertTrue(
        java.util.Arrays.equals(model, Files.readAllBytes(out.resolve("model.safetensors"))),
        "the earlier model is left as it was");
    assertEquals(steps, Files.list(out.resolve("checkpoints")).count());

    // --overwrite: the earlier run's files go, training starts afresh (no resume)
    PrepareCommandTest.Run fresh =
        train(
            out,
            "--set",
            "num_train_epochs=1",
            "--set",
            "per_device_train_batch_size=64",
            "--overwrite");
    assertEquals(0, fresh.code(), fresh.err() + fresh.out());
    assertTrue(!fresh.out().contains("resumed from"), fresh.out());
    JsonNode cfg = new ObjectMapper().readTree(out.resolve("training_config.json").toFile());
    long total = cfg.path("total_steps").asLong();
    assertEquals(1, cfg.path("epochs").asInt());
    assertEquals(
        total,
        Files.readAllLines(out.resolve("metrics.jsonl")).size(),
        "metrics of the earlier run are gone");
    try (var dirs = Files.list(out.resolve("checkpoints"))) {
      assertEquals(
          List.of("checkpoint-" + total),
          dirs.map(d -> d.getFileName().toString())
              .filter(n -> n.startsWith("checkpoint-"))
              .toList());
    }

    // the same command again (a driver retry, a rerun): resumes automatically
    PrepareCommandTest.Run same =
        train(out, "--set", "num_train_epochs=1", "--set", "per_device_train_batch_size=64");
    assertEquals(0, same.code(), same.err() + same.out());
    assertTrue(
        same.out().contains("resumed from")
            && same.out().contains("checkpoint-" + total + " at step " + total),
        same.out());
  }

  @Test
  void resumeFromContinuesACheckpointOfARunWithOtherSettings() {
    Path out = dir.resolve("extend");
    PrepareCommandTest.Run first = train(out, "--set", "max_steps=4", "--set", "save_steps=2");
    assertEquals(0, first.code(), first.err() + first.out());
    PrepareCommandTest.Run refused = train(out, "--set", "max_steps=6", "--set", "save_steps=2");
    assertEquals(2, refused.code(), refused.err() + refused.out());
    assertTrue(refused.err().contains("total_steps: 4 -> 6"), refused.err());
    PrepareCommandTest.Run more =
        train(
            out,
            "--set",
            "max_steps=6",
            "--set",
            "save_steps=2",
            "--resume-from",
            out.resolve("checkpoints/checkpoint-4").toString());
    assertEquals(0, more.code(), more.err() + more.out());
    assertTrue(
        more.out().contains("warning: --resume-from") && more.out().contains("total_steps: 4 -> 6"),
        more.out());
    assertTrue(
        more.out().contains("checkpoint-4 at step 4") && more.out().contains("step 6/6"),
        more.out());
  }

  @Test
  void aCheckpointWithoutFingerprintIsNotResumedAutomaticallyButWithResumeFrom()
      throws IOException {
    Path out = dir.resolve("old-format");
    PrepareCommandTest.Run first = train(out, "--set", "max_steps=2", "--set", "save_steps=2");
    assertEquals(0, first.code(), first.err() + first.out());
    Path manifest = out.resolve("checkpoints/checkpoint-2/COMPLETE");
    var m =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            new ObjectMapper().readTree(manifest.toFile());
    m.remove("fingerprint");
    Files.writeString(manifest, m.toString());
    Files.deleteIfExists(manifest.resolveSibling(".COMPLETE.crc"));
    PrepareCommandTest.Run again = train(out, "--set", "max_steps=2", "--set", "save_steps=2");
    assertEquals(2, again.code(), again.err() + again.out());
    assertTrue(
        again.err().contains("written before") && again.err().contains("--resume-from "),
        again.err());
    PrepareCommandTest.Run named =
        train(
            out,
            "--set",
            "max_steps=2",
            "--set",
            "save_steps=2",
            "--resume-from",
            out.resolve("checkpoints/checkpoint-2").toString());
    assertEquals(0, named.code(), named.err() + named.out());
    assertTrue(named.out().contains("checkpoint-2 at step 2"), named.out());
  }

  @Test
  void aCheckpointWithAMissingOrMisshapedTensorIsAnErrorNotRandomWeightsWithTwoReplicas()
      throws IOException {
    Path out = dir.resolve("misfit");
    PrepareCommandTest.Run first =
        train(
            out,
            "--set",
            "max_steps=2",
            "--set",
            "save_steps=2",
            "--set",
            "per_device_train_batch_size=8");
    assertEquals(0, first.code(), first.err() + first.out());
    Path ckpt = out.resolve("checkpoints/checkpoint-2");
    Map<String, SafeTensors.Tensor> t =
        new java.util.LinkedHashMap<>(SafeTensors.read(ckpt.resolve("model.safetensors")));
    assertTrue(t.remove("classifier.bias") != null, t.keySet().toString());
    SafeTensors.Tensor w = t.get("classifier.weight");
    t.put(
        "classifier.weight",
        new SafeTensors.Tensor(new long[] {w.shape()[1], w.shape()[0]}, w.data(), w.storedDtype()));
    try (var o = Files.newOutputStream(ckpt.resolve("model.safetensors"))) {
      SafeTensors.write(t, o);
    }
    // a manifest that agrees with the altered file: only the tensors are wrong
    byte[] bytes = Files.readAllBytes(ckpt.resolve("model.safetensors"));
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes);
    var m =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            new ObjectMapper().readTree(ckpt.resolve("COMPLETE").toFile());
    ((com.fasterxml.jackson.databind.node.ObjectNode) m.path("files").path("model.safetensors"))
        .put("size", bytes.length)
        .put("crc32c", Long.toHexString(crc.getValue()));
    Files.writeString(ckpt.resolve("COMPLETE"), m.toString());
    for (String f : List.of(".model.safetensors.crc", ".COMPLETE.crc")) {
      Files.deleteIfExists(ckpt.resolve(f));
    }
    byte[] model = Files.readAllBytes(out.resolve("model.safetensors"));
    PrepareCommandTest.Run resumed =
        train(
            out,
            "--set",
            "max_steps=2",
            "--set",
            "save_steps=2",
            "--set",
            "per_device_train_batch_size=4",
            "--replicas",
            "2");
    assertEquals(2, resumed.code(), resumed.err() + resumed.out());
    assertTrue(
        resumed.err().contains("missing tensors [classifier.bias]")
            && resumed.err().contains("classifier.weight: checkpoint"),
        resumed.err());
    assertTrue(
        java.util.Arrays.equals(model, Files.readAllBytes(out.resolve("model.safetensors"))),
        "no model written");
  }

  @Test
  void saveTotalLimitKeepsTheNewestCheckpoints() throws IOException {
    Path out = dir.resolve("limit");
    PrepareCommandTest.Run r =
        train(out, "--set", "max_steps=5", "--set", "save_steps=1", "--set", "save_total_limit=2");
    assertEquals(0, r.code(), r.err() + r.out());
    try (var dirs = Files.list(out.resolve("checkpoints"))) {
      assertEquals(
          List.of("checkpoint-4", "checkpoint-5"),
          dirs.map(d -> d.getFileName().toString())
              .filter(n -> n.startsWith("checkpoint-"))
              .sorted()
              .toList());
    }
  }
}
