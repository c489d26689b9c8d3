package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.train.TrainingArguments.EvalStrategy;
import io.sparkner.train.TrainingArguments.LrSchedulerType;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingArgumentsConfigTest {

  private static IllegalArgumentException fails(Runnable r) {
    return assertThrows(IllegalArgumentException.class, r::run);
  }

  @Test
  void defaultsAreHuggingFacesWhereSensible() {
    TrainingArguments a = TrainingArguments.defaults();
    assertEquals(5e-5, a.learningRate());
    assertEquals(3.0, a.numTrainEpochs());
    assertEquals(-1, a.maxSteps());
    assertEquals(12, a.perDeviceTrainBatchSize());
    assertEquals(32, a.perDeviceEvalBatchSize());
    assertEquals(1, a.gradientAccumulationSteps());
    assertEquals(0.0, a.warmupRatio());
    assertEquals(0, a.warmupSteps());
    assertEquals(0.0, a.weightDecay());
    assertEquals(0.9, a.adamBeta1());
    assertEquals(0.999, a.adamBeta2());
    assertEquals(1e-8, a.adamEpsilon());
    assertEquals(1.0, a.maxGradNorm());
    assertEquals(LrSchedulerType.LINEAR, a.lrSchedulerType());
    assertEquals(50, a.loggingSteps());
    assertEquals(500, a.saveSteps());
    assertNull(a.saveTotalLimit());
    assertEquals(EvalStrategy.EPOCH, a.evalStrategy());
    assertEquals(42, a.seed());
    assertNull(a.dataSeed());
    assertFalse(a.fp16());
    assertFalse(a.bf16());
    assertFalse(a.dataloaderDropLast());
    assertNull(a.outputDir());
    assertFalse(a.reportToMlflow());
    assertEquals(1, a.replicas());
    assertEquals(0, a.zeroStage());
    assertNull(a.hiddenDropoutProb());
    assertNull(a.attentionProbsDropoutProb());
    assertNull(a.classifierDropout());
    assertTrue(a.explicitKeys().isEmpty());
  }

  @Test
  void theExampleConfLoads() {
    TrainingArguments a = TrainingArguments.fromFile(Path.of("conf/train-stockmark.json"));
    assertEquals(5e-5, a.learningRate());
    assertEquals(12, a.perDeviceTrainBatchSize());
    assertEquals(0.01, a.weightDecay());
    assertEquals(0.1, a.warmupRatio());
    assertEquals(2.0, a.numTrainEpochs());
    assertEquals(1.0, a.maxGradNorm());
    assertEquals(50, a.loggingSteps());
    assertEquals(42, a.seed());
    assertTrue(a.isExplicit("warmup_ratio"));
    assertFalse(a.isExplicit("fp16"));
    assertEquals("train-stockmark.json", a.source());

    TrainingArguments demo = TrainingArguments.fromFile(Path.of("conf/train-demo.json"));
    assertEquals(10.0, demo.numTrainEpochs());
    assertEquals(16, demo.perDeviceTrainBatchSize());
    assertEquals(3e-3, demo.learningRate());
    assertEquals(25, demo.loggingSteps());
  }

  @Test
  void yamlAndJsonGiveTheSameArguments(@TempDir Path dir) throws Exception {
    String json =
        "{\"learning_rate\": 3e-5, \"num_train_epochs\": 2, \"per_device_train_batch_size\": 16,"
            + " \"report_to\": [\"mlflow\"], \"fp16\": true, \"eval_strategy\": \"steps\","
            + " \"eval_steps\": 100, \"hidden_dropout_prob\": 0.2, \"save_total_limit\": null}";
    // YAML 1.1 reads 3e-5 (no dot) as a string: it must still be the number
    String yaml =
        "# the same, in YAML\n"
            + "learning_rate: 3e-5\n"
            + "num_train_epochs: 2\n"
            + "per_device_train_batch_size: 16\n"
            + "report_to:\n  - mlflow\n"
            + "fp16: true\n"
            + "eval_strategy: steps\n"
            + "eval_steps: 100\n"
            + "hidden_dropout_prob: 0.2\n"
            + "save_total_limit: null\n";
    Files.writeString(dir.resolve("a.json"), json);
    Files.writeString(dir.resolve("a.yaml"), yaml);
    Files.writeString(dir.resolve("a.yml"), yaml);
    TrainingArguments j = TrainingArguments.fromFile(dir.resolve("a.json"));
    TrainingArguments y = TrainingArguments.fromFile(dir.resolve("a.yaml"));
    TrainingArguments y2 = TrainingArguments.parse(new StringReader(yaml), "hdfs:///conf/a.yml");
    assertEquals(j, y);
    assertEquals(j, y2);
    assertEquals(j.explicitKeys(), y.explicitKeys());
    assertEquals(3e-5, y.learningRate());
    assertEquals(EvalStrategy.STEPS, y.evalStrategy());
    assertEquals(100, y.evalSteps());
    assertTrue(y.reportToMlflow());
    assertEquals(0.2, y.hiddenDropoutProb());
  }

  @Test
  void anEmptyYamlFileIsAllDefaults() {
    assertEquals(TrainingArguments.defaults(), TrainingArguments.parse("", "empty.yaml"));
    assertEquals(
        TrainingArguments.defaults(), TrainingArguments.parse("# nothing\n", "empty.yaml"));
  }

  @Test
  void unknownKeysAreNamedWithASuggestion() {
    IllegalArgumentException e =
        fails(() -> TrainingArguments.parse("{\"learning_rte\": 1e-4}", "conf.json"));
    assertEquals(
        "conf.json: unknown key \"learning_rte\" (did you mean \"learning_rate\"?)",
        e.getMessage());
    e = fails(() -> TrainingArguments.parse("per_device_batch_size: 4\n", "conf.yaml"));
    assertEquals(
        "conf.yaml: unknown key \"per_device_batch_size\" (did you mean"
            + " \"per_device_eval_batch_size\"?)",
        e.getMessage());
    e = fails(() -> TrainingArguments.parse("{\"completely_unrelated\": 1}", "conf.json"));
    assertEquals("conf.json: unknown key \"completely_unrelated\"", e.getMessage());
  }

  @Test
  void typeErrorsNameTheKeyAndTheExpectedType() {
    IllegalArgumentException e =
        fails(
            () ->
                TrainingArguments.parse(
                    "{\"per_device_train_batch_size\": \"twelve\"}", "conf.json"));
    assertEquals(
        "conf.json: \"per_device_train_batch_size\" must be an integer, got the string"
            + " \"twelve\"",
        e.getMessage());
    e =
        fails(
            () -> TrainingArguments.parse("{\"per_device_train_batch_size\": 12.5}", "conf.json"));
    assertEquals(
        "conf.json: \"per_device_train_batch_size\" must be an integer, got 12.5", e.getMessage());
    e = fails(() -> TrainingArguments.parse("{\"fp16\": 1}", "conf.json"));
    assertEquals("conf.json: \"fp16\" must be true or false, got 1", e.getMessage());
    e = fails(() -> TrainingArguments.parse("{\"learning_rate\": null}", "conf.json"));
    assertEquals("conf.json: \"learning_rate\" must be a number, not null", e.getMessage());
    e = fails(() -> TrainingArguments.parse("{\"lr_scheduler_type\": \"cosine\"}", "conf.json"));
    assertEquals(
        "conf.json: \"lr_scheduler_type\" must be one of linear, constant,"
            + " constant_with_warmup (got \"cosine\")",
        e.getMessage());
    e = fails(() -> TrainingArguments.parse("[1, 2]", "conf.json"));
    assertTrue(e.getMessage().startsWith("conf.json: the configuration must be a mapping"));
    // integral doubles are fine for integer keys (2e3 in JSON is a double)
    assertEquals(2000, TrainingArguments.parse("{\"save_steps\": 2e3}", "c.json").saveSteps());
  }

  @Test
  void everyErrorOfAFileIsReportedAtOnce() {
    IllegalArgumentException e =
        fails(
            () ->
                TrainingArguments.parse(
                    "{\"learnig_rate\": 1, \"seed\": \"x\", \"fp16\": true, \"bf16\": true}",
                    "c.json"));
    assertTrue(e.getMessage().startsWith("2 configuration errors:"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown key \"learnig_rate\""), e.getMessage());
    assertTrue(e.getMessage().contains("\"seed\" must be an integer"), e.getMessage());
    // the fp16+bf16 check runs once the keys are valid
    e = fails(() -> TrainingArguments.parse("{\"fp16\": true, \"bf16\": true}", "c.json"));
    assertEquals("c.json: at most one of fp16 and bf16 can be true", e.getMessage());
  }

  @Test
  void unsupportedValuesAreRejectedClearly() {
    assertEquals(
        "c.json: label_smoothing_factor 0.1 is not supported (only 0)",
        fails(() -> TrainingArguments.parse("{\"label_smoothing_factor\": 0.1}", "c.json"))
            .getMessage());
    assertEquals(
        0.0,
        TrainingArguments.parse("{\"label_smoothing_factor\": 0}", "c.json")
            .labelSmoothingFactor());
    assertEquals(
        "c.json: zero_stage 3: ZeRO stage 3 is out of scope (use 0, 1 or 2)",
        fails(() -> TrainingArguments.parse("{\"zero_stage\": 3}", "c.json")).getMessage());
    assertTrue(
        fails(() -> TrainingArguments.parse("{\"warmup_ratio\": 1.5}", "c.json"))
            .getMessage()
            .contains("warmup_ratio must be in [0, 1]"));
    assertTrue(
        fails(() -> TrainingArguments.parse("{\"hidden_dropout_prob\": 1}", "c.json"))
            .getMessage()
            .contains("hidden_dropout_prob must be in [0, 1)"));
  }

  @Test
  void evaluationStrategyIsAcceptedUnderItsOldName() {
    TrainingArguments a =
        TrainingArguments.parse(
            "{\"evaluation_strategy\": \"steps\", \"logging_steps\": 20}", "c.json");
    assertEquals(EvalStrategy.STEPS, a.evalStrategy());
    assertEquals(20, a.evalSteps(), "eval_steps defaults to logging_steps, as in HF");
    assertTrue(a.isExplicit("eval_strategy"));
    assertTrue(a.isExplicit("evaluation_strategy"));
    assertEquals(
        "c.json: give \"eval_strategy\" or its older name \"evaluation_strategy\", not" + " both",
        fails(
                () ->
                    TrainingArguments.parse(
                        "{\"evaluation_strategy\": \"no\", \"eval_strategy\": \"no\"}", "c.json"))
            .getMessage());
  }

  @Test
  void harmlessHuggingFaceKeysAndReportTargetsAreListedAsIgnored() {
    TrainingArguments a =
        TrainingArguments.parse(
            "{\"do_train\": true, \"report_to\": [\"mlflow\", \"tensorboard\"]}", "c.json");
    assertTrue(a.reportToMlflow());
    assertEquals(2, a.ignoredKeys().size(), a.ignoredKeys().toString());
    assertTrue(a.ignoredKeys().get(0).startsWith("do_train ("));
    assertEquals("report_to \"tensorboard\" (only mlflow is supported)", a.ignoredKeys().get(1));
    assertFalse(TrainingArguments.parse("{\"report_to\": \"none\"}", "c.json").reportToMlflow());
  }

  @Test
  void duplicateKeysAndUnknownFormatsAreErrors() {
    assertTrue(
        fails(() -> TrainingArguments.parse("{\"seed\": 1, \"seed\": 2}", "c.json"))
            .getMessage()
            .startsWith("c.json: not valid JSON: Duplicate field 'seed'"));
    assertTrue(
        fails(() -> TrainingArguments.parse("seed: 1\nseed: 2\n", "c.yaml"))
            .getMessage()
            .startsWith("c.yaml: not valid YAML: Duplicate field 'seed'"));
    assertEquals(
        "c.txt: unknown configuration format (the name must end in .json, .yaml or" + " .yml)",
        fails(() -> TrainingArguments.parse("{}", "c.txt")).getMessage());
    assertTrue(
        fails(() -> TrainingArguments.parse("{\"seed\": ", "c.json"))
            .getMessage()
            .startsWith("c.json: not valid JSON"));
  }

  @Test
  void setOverridesParseTypes() {
    TrainingArguments base = TrainingArguments.fromFile(Path.of("conf/train-stockmark.json"));
    TrainingArguments a =
        base.withOverrides(
            List.of(
                "learning_rate=3e-5",
                "fp16=true",
                "lr_scheduler_type=constant_with_warmup",
                "num_train_epochs=1.5",
                "save_total_limit=2",
                "report_to=[\"mlflow\"]",
                "output_dir=s3a://bucket/out=1",
                "data_seed=7",
                "group_by_length=true"));
    assertEquals(3e-5, a.learningRate());
    assertTrue(a.fp16());
    assertEquals(LrSchedulerType.CONSTANT_WITH_WARMUP, a.lrSchedulerType());
    assertEquals(1.5, a.numTrainEpochs());
    assertEquals(2, a.saveTotalLimit());
    assertTrue(a.reportToMlflow());
    assertEquals("s3a://bucket/out=1", a.outputDir());
    assertEquals(7L, a.dataSeed());
    assertTrue(a.groupByLength());
    assertFalse(base.groupByLength());
    // untouched values and explicitness carry over; the original is unchanged
    assertEquals(0.01, a.weightDecay());
    assertTrue(a.isExplicit("weight_decay"));
    assertTrue(a.isExplicit("fp16"));
    assertEquals(5e-5, base.learningRate());
    assertFalse(base.fp16());
    assertEquals("train-stockmark.json + --set", a.source());
    assertNull(a.withOverrides(List.of("save_total_limit=null")).saveTotalLimit());
    assertSame(base, base.withOverrides(List.of()));

    assertEquals(
        "--set learnig_rate=1: unknown key \"learnig_rate\" (did you mean" + " \"learning_rate\"?)",
        fails(() -> base.withOverrides(List.of("learnig_rate=1"))).getMessage());
    assertEquals(
        "--set fp16: expected key=value",
        fails(() -> base.withOverrides(List.of("fp16"))).getMessage());
    assertEquals(
        "--set seed=abc: \"seed\" must be an integer, got the string \"abc\"",
        fails(() -> base.withOverrides(List.of("seed=abc"))).getMessage());
    assertEquals(
        "--set: at most one of fp16 and bf16 can be true",
        fails(() -> a.withOverrides(List.of("bf16=true"))).getMessage());
  }

  @Test
  void argumentsAreSerializable() throws Exception {
    TrainingArguments a =
        TrainingArguments.fromFile(Path.of("conf/train-stockmark.json"))
            .withOverrides(List.of("hidden_dropout_prob=0.05"));
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(a);
    }
    try (java.io.ObjectInputStream in =
        new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      TrainingArguments b = (TrainingArguments) in.readObject();
      assertEquals(a, b);
      assertEquals(a.explicitKeys(), b.explicitKeys());
    }
  }
}
