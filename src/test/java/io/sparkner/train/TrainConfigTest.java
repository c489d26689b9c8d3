package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.train.DeepSpeedConfig.WarmupType;
import io.sparkner.train.TrainConfig.Precision;
import io.sparkner.train.TrainConfig.Schedule;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {
  /** A Stockmark-sized training split: 4274 windows (12 × 356 + 2). */
  private static final long WINDOWS = 4274;

  private static final double TOL = 1e-15;

  private static TrainingArguments stockmark() {
    return TrainingArguments.fromFile(Path.of("conf/train-stockmark.json"));
  }

  private static DeepSpeedConfig zero2() {
    return DeepSpeedConfig.fromFile(Path.of("conf/ds_config_zero2.json"));
  }

  private static DeepSpeedConfig ds(String json) {
    return DeepSpeedConfig.parse(json, "ds.json");
  }

  private static TrainingArguments conf(String json) {
    return TrainingArguments.parse(json, "conf.json");
  }

  private static String error(Runnable r) {
    return assertThrows(IllegalArgumentException.class, r::run).getMessage();
  }

  @Test
  void theExampleResolvesOnOneReplica() {
    TrainConfig c = TrainConfig.resolve(stockmark(), zero2(), 1, WINDOWS, 768);
    assertEquals(12, c.microBatch());
    assertEquals(1, c.accumulation());
    assertEquals(12, c.globalBatch(), "train_batch_size auto = 12 × 1 × 1");
    assertEquals(1, c.replicas());
    assertEquals(357, c.stepsPerEpoch(), "ceil(4274 / 12)");
    assertEquals(2, c.epochs());
    assertEquals(714, c.totalSteps());
    assertEquals(72, c.warmupSteps(), "ceil(0.1 × 714) = ceil(71.4)");
    assertEquals(5e-5, c.learningRate());
    assertEquals(0.9, c.beta1());
    assertEquals(0.999, c.beta2());
    assertEquals(0.9, c.betas()[0]);
    assertEquals(1e-8, c.eps());
    assertEquals(0.01, c.weightDecay());
    assertTrue(c.decoupledWeightDecay());
    assertEquals(1.0, c.maxGradNorm());
    assertEquals(Schedule.WARMUP_LR, c.schedule());
    assertEquals(WarmupType.LOG, c.warmupType());
    assertEquals(0.0, c.warmupMinLr());
    assertEquals(Precision.FP32, c.precision(), "fp16 auto ← fp16 false");
    assertEquals(LossScaler.NONE, c.lossScaler());
    assertEquals(2, c.zeroStage());
    assertEquals(200_000_000L, c.reduceBucketSize());
    assertEquals(200_000_000L, c.allgatherBucketSize());
    assertEquals("cpu", c.offloadOptimizerDevice());
    assertEquals(42, c.seed());
    assertEquals(42, c.dataSeed());
    assertFalse(c.groupByLength(), "group_by_length is off by default, as in transformers");
    assertEquals(50, c.loggingSteps());
    assertEquals(List.of("train-stockmark.json", "ds_config_zero2.json"), c.sources());
    assertTrue(
        c.ignoredKeys().stream()
            .anyMatch(s -> s.startsWith("zero_optimization.offload_optimizer (device \"cpu\"")),
        c.ignoredKeys().toString());
  }

  @Test
  void theExampleResolvesOnTwoReplicas() {
    TrainConfig c = TrainConfig.resolve(stockmark(), zero2(), 2, WINDOWS, 768);
    assertEquals(12, c.microBatch());
    assertEquals(1, c.accumulation());
    assertEquals(24, c.globalBatch(), "train_batch_size auto = 12 × 1 × 2");
    assertEquals(179, c.stepsPerEpoch(), "ceil(4274 / 24)");
    assertEquals(358, c.totalSteps());
    assertEquals(36, c.warmupSteps(), "ceil(0.1 × 358) = ceil(35.8)");
    // DeepSpeed WarmupLR, log warmup over 36 steps, update k uses γ(k - 1)
    assertEquals(0.0, c.lrAt(0));
    assertEquals(0.0, c.lrAt(1));
    assertEquals(9.67132018086354e-06, c.lrAt(2), TOL, "ln 2 / ln 36 × 5e-5");
    assertEquals(5e-5, c.lrAt(37), TOL);
    assertEquals(5e-5, c.lrAt(357), TOL, "WarmupLR holds the peak: no decay");
  }

  @Test
  void fp16FromTheCommandLineUsesDeepSpeedsLossScaler() {
    TrainingArguments a = stockmark().withOverrides(List.of("fp16=true"));
    TrainConfig c = TrainConfig.resolve(a, zero2(), 1, WINDOWS, 768);
    assertEquals(Precision.FP16, c.precision());
    LossScaler s = c.lossScaler();
    assertTrue(s.dynamic());
    assertEquals(65536.0, s.initialScale());
    assertEquals(1000, s.window());
    assertEquals(2, s.hysteresis());
    assertEquals(1.0, s.minScale());
    assertFalse(s.consecutiveHysteresis());
    // without DeepSpeed: DeepSpeed's defaults all the same
    assertEquals(s, TrainConfig.resolve(a, null, 1, WINDOWS, 768).lossScaler());
    // a static scale
    TrainConfig st =
        TrainConfig.resolve(
            a,
            ds("{\"fp16\": {\"enabled\": \"auto\"," + " \"loss_scale\": 128}}"),
            1,
            WINDOWS,
            768);
    assertFalse(st.lossScaler().dynamic());
    assertEquals(128.0, st.lossScaler().staticScale());
    // bf16
    assertEquals(
        Precision.BF16,
        TrainConfig.resolve(stockmark(), ds("{\"bf16\": {\"enabled\": true}}"), 1, WINDOWS, 768)
            .precision());
  }

  @Test
  void huggingFaceLinearScheduleMatchesTheFormula() {
    // no DeepSpeed: lr_scheduler_type linear (the default), warmup ceil(0.1 × 714) = 72
    TrainConfig c = TrainConfig.resolve(stockmark(), null, 1, WINDOWS, 768);
    assertEquals(Schedule.LINEAR, c.schedule());
    assertEquals(714, c.totalSteps());
    assertEquals(72, c.warmupSteps());
    assertEquals(0.0, c.lrAt(0), TOL);
    assertEquals(2.5e-5, c.lrAt(36), TOL, "5e-5 × 36/72");
    assertEquals(5e-5, c.lrAt(72), TOL, "end of warmup: 5e-5 × (714-72)/(714-72)");
    assertEquals(2.5e-5, c.lrAt(393), TOL, "middle of the decay: 5e-5 × 321/642");
    assertEquals(5e-5 / 642, c.lrAt(713), TOL, "last update");
    assertEquals(0.0, c.lrAt(714), TOL);
    assertEquals(0.0, c.lrAt(800), TOL, "never negative");
    assertEquals(0, c.zeroStage());
    assertEquals(500_000_000L, c.reduceBucketSize());
    assertTrue(c.decoupledWeightDecay());
  }

  @Test
  void constantSchedules() {
    TrainConfig cw =
        TrainConfig.resolve(
            stockmark().withOverrides(List.of("lr_scheduler_type=constant_with_warmup")),
            null,
            1,
            WINDOWS,
            768);
    assertEquals(Schedule.CONSTANT_WITH_WARMUP, cw.schedule());
    assertEquals(0.0, cw.lrAt(0), TOL);
    assertEquals(2.5e-5, cw.lrAt(36), TOL);
    assertEquals(5e-5, cw.lrAt(72), TOL);
    assertEquals(5e-5, cw.lrAt(714), TOL);
    TrainConfig c =
        TrainConfig.resolve(
            stockmark().withOverrides(List.of("lr_scheduler_type=constant")),
            null,
            1,
            WINDOWS,
            768);
    assertEquals(0, c.warmupSteps());
    assertEquals(5e-5, c.lrAt(0), TOL);
    assertTrue(c.ignoredKeys().get(0).startsWith("warmup_steps/warmup_ratio"));
  }

  @Test
  void deepSpeedSchedulesMatchDeepSpeedsFormulas() {
    // 1000 windows / micro 10 = 100 steps; warmup 10
    TrainingArguments a =
        conf(
            "{\"learning_rate\": 1e-4, \"per_device_train_batch_size\": 10,"
                + " \"num_train_epochs\": 1, \"warmup_steps\": 10}");
    DeepSpeedConfig decay =
        ds(
            "{\"scheduler\": {\"type\": \"WarmupDecayLR\", \"params\": {\"warmup_min_lr\":"
                + " \"auto\", \"warmup_max_lr\": \"auto\", \"warmup_num_steps\": \"auto\","
                + " \"total_num_steps\": \"auto\", \"warmup_type\": \"linear\"}}}");
    TrainConfig c = TrainConfig.resolve(a, decay, 1, 1000, 0);
    assertEquals(Schedule.WARMUP_DECAY_LR, c.schedule());
    assertEquals(WarmupType.LINEAR, c.warmupType());
    assertEquals(100, c.totalSteps());
    assertEquals(10, c.warmupSteps());
    assertEquals(0.0, c.lrAt(0), TOL, "DeepSpeed starts at warmup_min_lr");
    assertEquals(0.0, c.lrAt(1), TOL, "γ(0) = 0/10");
    assertEquals(5e-5, c.lrAt(6), TOL, "γ(5) = 5/10");
    assertEquals(1e-4, c.lrAt(11), TOL, "γ(10) = (100-10)/(100-10)");
    assertEquals(5e-5, c.lrAt(56), TOL, "γ(55) = 45/90");
    assertEquals(0.0, c.lrAt(101), TOL);

    // a warmup_min_lr and log warmup: min + (max - min) × ln(k+1)/ln(W)
    DeepSpeedConfig log =
        ds("{\"scheduler\": {\"type\": \"WarmupLR\", \"params\":" + " {\"warmup_min_lr\": 1e-5}}}");
    TrainConfig l = TrainConfig.resolve(a, log, 1, 1000, 0);
    assertEquals(1e-5, l.lrAt(0), TOL);
    assertEquals(1e-5 + 9e-5 * Math.log(5) / Math.log(10), l.lrAt(5), TOL);
    assertEquals(1e-4, l.lrAt(50), TOL);

    // DeepSpeed's floor of 2 warmup steps when warmup resolves to 0
    TrainConfig none =
        TrainConfig.resolve(
            conf("{\"per_device_train_batch_size\": 10}"),
            ds("{\"scheduler\": {\"type\": \"WarmupLR\"}}"),
            1,
            1000,
            0);
    assertEquals(0, none.warmupSteps());
    assertEquals(0.0, none.lrAt(1), TOL);
    assertEquals(5e-5, none.lrAt(2), TOL, "ln 2 / ln 2");
  }

  @Test
  void inconsistentBatchSizesNameTheKeysAndNumbers() {
    TrainingArguments a = conf("{\"per_device_train_batch_size\": 12}");
    assertEquals(
        "ds.json: train_batch_size=32 does not equal train_micro_batch_size_per_gpu (12)"
            + " × gradient_accumulation_steps (1) × replicas (2) = 24",
        error(
            () ->
                TrainConfig.resolve(
                    a,
                    ds("{\"train_batch_size\": 32," + " \"gradient_accumulation_steps\": 1}"),
                    2,
                    WINDOWS,
                    768)));
    // DeepSpeed infers the missing one: 48 = 12 × accumulation × 2
    TrainConfig c = TrainConfig.resolve(a, ds("{\"train_batch_size\": 48}"), 2, WINDOWS, 768);
    assertEquals(2, c.accumulation());
    assertEquals(48, c.globalBatch());
    assertEquals(89, c.stepsPerEpoch(), "floor(ceil(4274 / 24) / 2) = floor(179 / 2)");
    // or the micro batch when nothing fixes it
    TrainConfig m =
        TrainConfig.resolve(
            TrainingArguments.defaults(),
            ds("{\"train_batch_size\": 64, \"gradient_accumulation_steps\": 2}"),
            4,
            WINDOWS,
            768);
    assertEquals(8, m.microBatch());
    assertEquals(2, m.accumulation());
  }

  @Test
  void adamWithL2WeightDecayIsRefusedNotRunWithoutItsDecay() {
    TrainingArguments a = stockmark(); // weight_decay 0.01
    String msg =
        error(
            () ->
                TrainConfig.resolve(
                    a,
                    ds(
                        "{\"optimizer\": {\"type\": \"Adam\", \"params\":"
                            + " {\"adam_w_mode\": false, \"weight_decay\": \"auto\"}}}"),
                    1,
                    WINDOWS,
                    768));
    assertTrue(
        msg.contains(
            "ds.json: optimizer \"Adam\" with adam_w_mode false asks for L2 weight decay in the"
                + " gradient (weight_decay 0.01), which sparkner does not implement: set"
                + " adam_w_mode true"),
        msg);
    // without decay the two are the same optimizer: runs
    TrainConfig c =
        TrainConfig.resolve(
            a.withOverrides(List.of("weight_decay=0")),
            ds(
                "{\"optimizer\": {\"type\": \"Adam\","
                    + " \"params\": {\"adam_w_mode\": false, \"weight_decay\": \"auto\"}}}"),
            1,
            WINDOWS,
            768);
    assertFalse(c.decoupledWeightDecay());
    assertEquals(0.0, c.weightDecay());
  }

  @Test
  void valuesGivenInBothFilesMustAgree() {
    TrainingArguments a = stockmark();
    String msg =
        error(
            () ->
                TrainConfig.resolve(
                    a,
                    ds(
                        "{\"optimizer\": {\"type\": \"AdamW\", \"params\": {\"lr\": 3e-5,"
                            + " \"weight_decay\": 0.0}}, \"gradient_clipping\": 1.0,"
                            + " \"train_micro_batch_size_per_gpu\": 16}"),
                    1,
                    WINDOWS,
                    768));
    assertEquals(
        "ds.json: these DeepSpeed values mismatch the training arguments of"
            + " train-stockmark.json (set them to \"auto\" in ds.json, or make them equal):\n"
            + "- ds train_micro_batch_size_per_gpu=16 vs hf per_device_train_batch_size=12\n"
            + "- ds optimizer.params.lr=0.00003 vs hf learning_rate=0.00005\n"
            + "- ds optimizer.params.weight_decay=0 vs hf weight_decay=0.01",
        msg);
    // a DeepSpeed value wins over a training-argument default (adam_epsilon is not in the conf)
    TrainConfig c =
        TrainConfig.resolve(
            a,
            ds(
                "{\"optimizer\": {\"type\": \"AdamW\", \"params\":"
                    + " {\"eps\": 1e-6, \"betas\": [0.9, 0.98]}}}"),
            1,
            WINDOWS,
            768);
    assertEquals(1e-6, c.eps());
    assertEquals(0.98, c.beta2());
    // fp16 set in both
    assertTrue(
        error(
                () ->
                    TrainConfig.resolve(
                        a.withOverrides(List.of("fp16=false")),
                        ds("{\"fp16\": {\"enabled\": true}}"),
                        1,
                        WINDOWS,
                        768))
            .contains("- ds fp16.enabled=true vs hf fp16=false"));
    // total_num_steps must be the computed one
    assertTrue(
        error(
                () ->
                    TrainConfig.resolve(
                        a,
                        ds(
                            "{\"scheduler\": {\"type\":"
                                + " \"WarmupDecayLR\", \"params\": {\"total_num_steps\": 1000}}}"),
                        1,
                        WINDOWS,
                        768))
            .contains(
                "- ds scheduler.params.total_num_steps=1000 vs hf num_training_steps"
                    + " (calculated)=714"));
  }

  @Test
  void zeroStageAndSchedulerFromDeepSpeedWinWithANote() {
    TrainingArguments a =
        stockmark().withOverrides(List.of("zero_stage=1", "lr_scheduler_type=constant"));
    TrainConfig c = TrainConfig.resolve(a, zero2(), 1, WINDOWS, 768);
    assertEquals(2, c.zeroStage());
    assertEquals(Schedule.WARMUP_LR, c.schedule());
    assertTrue(
        c.ignoredKeys()
            .contains(
                "zero_stage=1 of train-stockmark.json + --set"
                    + " (zero_optimization.stage=2 of ds_config_zero2.json wins)"),
        c.ignoredKeys().toString());
    assertTrue(c.ignoredKeys().stream().anyMatch(s -> s.startsWith("lr_scheduler_type=constant")));
    // without a zero_optimization section the conf's zero_stage applies
    assertEquals(1, TrainConfig.resolve(a, ds("{}"), 1, WINDOWS, 768).zeroStage());
  }

  @Test
  void reduceBucketSizeAutoIsHiddenSizeSquared() {
    DeepSpeedConfig d =
        ds("{\"zero_optimization\": {\"stage\": 1, \"reduce_bucket_size\":" + " \"auto\"}}");
    assertEquals(
        768L * 768, TrainConfig.resolve(stockmark(), d, 1, WINDOWS, 768).reduceBucketSize());
    assertTrue(
        error(() -> TrainConfig.resolve(stockmark(), d, 1, WINDOWS, 0))
            .contains("reduce_bucket_size is \"auto\" but the model's hidden_size is unknown"));
  }

  @Test
  void stepsFromMaxStepsFractionalEpochsAndDropLast() {
    TrainConfig m =
        TrainConfig.resolve(
            conf("{\"max_steps\": 500, \"warmup_ratio\": 0.1}"), null, 1, WINDOWS, 768);
    assertEquals(500, m.totalSteps());
    assertEquals(2, m.epochs(), "ceil(500 / 357)");
    assertEquals(50, m.warmupSteps());
    TrainConfig f = TrainConfig.resolve(conf("{\"num_train_epochs\": 1.5}"), null, 1, WINDOWS, 768);
    assertEquals(536, f.totalSteps(), "ceil(1.5 × 357)");
    assertEquals(2, f.epochs());
    TrainConfig d =
        TrainConfig.resolve(conf("{\"dataloader_drop_last\": true}"), null, 1, WINDOWS, 768);
    assertEquals(356, d.stepsPerEpoch(), "floor(4274 / 12)");
    assertEquals(
        "dataloader_drop_last leaves no batch: 20 training examples are fewer than micro"
            + " batch (12) × replicas (2) = 24",
        error(
            () -> TrainConfig.resolve(conf("{\"dataloader_drop_last\": true}"), null, 2, 20, 768)));
    assertEquals(
        1, TrainConfig.resolve(TrainingArguments.defaults(), null, 2, 20, 768).stepsPerEpoch());
  }

  @Test
  void theDemoConfResolves() {
    TrainConfig c =
        TrainConfig.resolve(
            TrainingArguments.fromFile(Path.of("conf/train-demo.json")), null, 2, 100, 384);
    assertEquals(16, c.microBatch());
    assertEquals(32, c.globalBatch());
    assertEquals(40, c.totalSteps(), "10 epochs x ceil(100 / 32)");
    assertEquals(4, c.warmupSteps(), "ceil(0.1 x 40)");
    assertEquals(0, c.lrAt(0), TOL);
    assertEquals(3e-3, c.lrAt(4), TOL);
    assertEquals(25, c.loggingSteps());
    assertEquals(0.0, c.hiddenDropoutProb()); // the demo turns dropout off for its tiny model
    assertNull(c.classifierDropout());
  }

  @Test
  void yamlAndJsonGiveTheSameConfig(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("train.yaml"),
        "learning_rate: 5e-5\n"
            + "per_device_train_batch_size: 12\nweight_decay: 0.01\nwarmup_ratio: 0.1\n"
            + "num_train_epochs: 2\nmax_grad_norm: 1.0\nlogging_steps: 50\nseed: 42\n");
    TrainingArguments y = TrainingArguments.fromFile(dir.resolve("train.yaml"));
    TrainConfig fromYaml = TrainConfig.resolve(y, zero2(), 2, WINDOWS, 768);
    TrainConfig fromJson = TrainConfig.resolve(stockmark(), zero2(), 2, WINDOWS, 768);
    assertEquals(
        fromJson.toMap().entrySet().stream().filter(e -> !e.getKey().equals("sources")).toList(),
        fromYaml.toMap().entrySet().stream().filter(e -> !e.getKey().equals("sources")).toList());
    assertEquals(List.of("train.yaml", "ds_config_zero2.json"), fromYaml.sources());
  }

  @Test
  void serializableAndDumpedAsJson() throws Exception {
    TrainConfig c =
        TrainConfig.resolve(
            stockmark().withOverrides(List.of("fp16=true", "classifier_dropout=0.1")),
            zero2(),
            2,
            WINDOWS,
            768);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertEquals(c, in.readObject());
    }
    JsonNode j = new ObjectMapper().readTree(c.toJson());
    assertEquals(5e-5, j.get("learning_rate").doubleValue());
    assertEquals(24, j.get("global_batch").intValue());
    assertEquals("WarmupLR", j.get("lr_schedule").textValue());
    assertEquals("log", j.get("warmup_type").textValue());
    assertEquals("fp16", j.get("precision").textValue());
    assertEquals(65536.0, j.get("loss_scaler").get("initial_scale").doubleValue());
    assertEquals(0.1, j.get("classifier_dropout").doubleValue());
    assertTrue(j.get("ignored_keys").isArray());
  }

  @Test
  void badInputsToResolve() {
    assertEquals(
        "there are no training examples to train on",
        error(() -> TrainConfig.resolve(stockmark(), null, 1, 0, 768)));
    assertEquals(
        "replicas must be >= 1 (got 0)",
        error(() -> TrainConfig.resolve(stockmark(), null, 0, 10, 768)));
    assertTrue(
        error(
                () ->
                    TrainConfig.resolve(
                        stockmark(),
                        ds(
                            "{\"optimizer\": {\"type\": \"AdamW\", \"params\": {\"lr\": 5e-5}},"
                                + " \"scheduler\": {\"type\": \"WarmupLR\", \"params\":"
                                + " {\"warmup_max_lr\": 1e-4}}}"),
                        1,
                        WINDOWS,
                        768))
            .contains("- ds scheduler.params.warmup_max_lr=0.0001 vs hf learning_rate=0.00005"));
  }

  @Test
  void overlapCommComesFromTheDeepSpeedConfigAndIsNotedAsWithoutEffectAtStageZero() {
    // the Hugging Face ZeRO-2 example sets it
    TrainConfig zero2 = TrainConfig.resolve(stockmark(), zero2(), 2, WINDOWS, 768);
    assertTrue(zero2.overlapComm());
    assertEquals(true, zero2.toMap().get("overlap_comm"));
    assertTrue(
        zero2.ignoredKeys().stream().noneMatch(k -> k.startsWith("zero_optimization.overlap_comm")),
        zero2.ignoredKeys().toString());
    TrainConfig none = TrainConfig.resolve(stockmark(), null, 2, WINDOWS, 768);
    assertFalse(none.overlapComm());
    assertEquals(false, none.toMap().get("overlap_comm"));
    // stage 0: accepted, recorded, and noted once as without effect
    TrainConfig zero0 =
        TrainConfig.resolve(
            stockmark(),
            ds("{\"zero_optimization\": {\"stage\": 0, \"overlap_comm\": true}}"),
            2,
            WINDOWS,
            768);
    assertTrue(zero0.overlapComm());
    assertEquals(
        1,
        zero0.ignoredKeys().stream()
            .filter(
                k ->
                    k.startsWith(
                        "zero_optimization.overlap_comm (no effect at ZeRO stage 0: it overlaps"
                            + " the parameter all-gather of stages 1 and 2"))
            .count(),
        zero0.ignoredKeys().toString());
  }

  @Test
  void sparseGradientsComesFromTheDeepSpeedConfigAndIsRecorded() {
    TrainConfig off = TrainConfig.resolve(stockmark(), zero2(), 2, WINDOWS, 768);
    assertFalse(off.sparseGradients());
    assertEquals(false, off.toMap().get("sparse_gradients"));
    assertFalse(TrainConfig.resolve(stockmark(), null, 2, WINDOWS, 768).sparseGradients());
    TrainConfig on =
        TrainConfig.resolve(stockmark(), ds("{\"sparse_gradients\": true}"), 2, WINDOWS, 768);
    assertTrue(on.sparseGradients());
    assertEquals(true, on.toMap().get("sparse_gradients"));
  }
}
