package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.train.DeepSpeedConfig.SchedulerType;
import io.sparkner.train.DeepSpeedConfig.WarmupType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeepSpeedConfigTest {

  private static String error(String json) {
    return assertThrows(
            IllegalArgumentException.class, () -> DeepSpeedConfig.parse(json, "ds_config.json"))
        .getMessage();
  }

  @Test
  void theOriginalZero2FileLoadsUnchanged() {
    DeepSpeedConfig ds = DeepSpeedConfig.fromFile(Path.of("conf/ds_config_zero2.json"));
    assertEquals("ds_config_zero2.json", ds.displayName());
    assertTrue(ds.trainBatchSize().isAuto());
    assertTrue(ds.trainMicroBatchSizePerGpu().isAuto());
    assertTrue(ds.gradientAccumulationSteps().isAuto());
    assertTrue(ds.gradientClipping().isAuto());
    assertTrue(ds.fp16Enabled().isAuto());
    assertTrue(ds.bf16Enabled().isAbsent());
    assertEquals(0.0, ds.lossScale());
    assertEquals(16, ds.initialScalePower());
    assertEquals(1000, ds.lossScaleWindow());
    assertEquals(2, ds.hysteresis());
    assertEquals(1.0, ds.minLossScale());
    assertFalse(ds.consecutiveHysteresis());
    assertEquals("AdamW", ds.optimizerType());
    assertTrue(ds.decoupledWeightDecay());
    assertTrue(ds.lr().isAuto());
    assertTrue(ds.betas().isAuto());
    assertTrue(ds.eps().isAuto());
    assertTrue(ds.weightDecay().isAuto());
    assertEquals(SchedulerType.WARMUP_LR, ds.schedulerType());
    assertEquals(WarmupType.LOG, ds.warmupType(), "DeepSpeed's default warmup_type is log");
    assertTrue(ds.warmupMinLr().isAuto());
    assertTrue(ds.warmupMaxLr().isAuto());
    assertTrue(ds.warmupNumSteps().isAuto());
    assertTrue(ds.totalNumSteps().isAbsent());
    assertEquals(2, ds.zeroStage());
    assertEquals(200_000_000L, ds.reduceBucketSize().value());
    assertEquals(200_000_000L, ds.allgatherBucketSize());
    assertEquals("cpu", ds.offloadOptimizerDevice());
    assertEquals("none", ds.offloadParamDevice());
    List<String> ignored = ds.ignoredKeys();
    assertTrue(
        ignored.contains(
            "zero_optimization.offload_optimizer (device \"cpu\": not"
                + " offloaded, optimizer state stays on the replica)"),
        ignored.toString());
    for (String key :
        List.of(
            "steps_per_print",
            "wall_clock_breakdown",
            "zero_optimization.allgather_partitions",
            "zero_optimization.reduce_scatter",
            "zero_optimization.contiguous_gradients")) {
      assertTrue(ignored.stream().anyMatch(s -> s.startsWith(key + " (")), key + " in " + ignored);
    }
    // overlap_comm is read, not ignored
    assertTrue(ds.overlapComm());
    assertFalse(
        ignored.stream().anyMatch(s -> s.startsWith("zero_optimization.overlap_comm")),
        ignored.toString());
  }

  @Test
  void unknownKeysNameTheirPath() {
    assertEquals(
        "ds_config.json: unknown key \"zero_optimization.stgae\" (did you mean"
            + " \"zero_optimization.stage\"?)",
        error("{\"zero_optimization\": {\"stgae\": 2}}"));
    assertEquals(
        "ds_config.json: unknown key \"zero_optimizaton\" (did you mean"
            + " \"zero_optimization\"?)",
        error("{\"zero_optimizaton\": {\"stage\": 2}}"));
    assertEquals(
        "ds_config.json: unknown key \"optimizer.params.momentum\" (known here: adam_w_mode, lr,"
            + " betas, eps, weight_decay, torch_adam)",
        error("{\"optimizer\": {\"type\": \"AdamW\", \"params\": {\"momentum\": 0.9}}}"));
    assertEquals(
        "ds_config.json: unknown key \"activation_checkpointing\"",
        error("{\"activation_checkpointing\": {}}"));
  }

  @Test
  void zeroStage3IsOutOfScope() {
    assertEquals(
        "ds_config.json: zero_optimization.stage 3: ZeRO stage 3 is out of scope (use 0,"
            + " 1 or 2)",
        error("{\"zero_optimization\": {\"stage\": 3}}"));
    assertEquals(
        "ds_config.json: \"zero_optimization.stage3_prefetch_bucket_size\": ZeRO stage 3"
            + " is out of scope",
        error("{\"zero_optimization\": {\"stage\": 2, \"stage3_prefetch_bucket_size\": 1}}"));
  }

  @Test
  void unsupportedOptimizersSchedulersAndDevicesAreClearErrors() {
    assertEquals(
        "ds_config.json: scheduler.type \"WarmupCosineLR\" is out of scope (WarmupLR or"
            + " WarmupDecayLR)",
        error("{\"scheduler\": {\"type\": \"WarmupCosineLR\"}}"));
    assertEquals(
        "ds_config.json: optimizer.type \"Lamb\" is not supported (Adam or AdamW)",
        error("{\"optimizer\": {\"type\": \"Lamb\"}}"));
    assertEquals(
        "ds_config.json: zero_optimization.offload_optimizer.device \"nvme\" is not"
            + " supported (none or cpu)",
        error(
            "{\"zero_optimization\": {\"stage\": 2, \"offload_optimizer\": {\"device\":"
                + " \"nvme\"}}}"));
    assertEquals(
        "ds_config.json: scheduler.params.warmup_type must be \"log\" or \"linear\" (got"
            + " \"cosine\")",
        error(
            "{\"scheduler\": {\"type\": \"WarmupLR\", \"params\": {\"warmup_type\":"
                + " \"cosine\"}}}"));
    assertTrue(
        error(
                "{\"scheduler\": {\"type\": \"WarmupLR\", \"params\": {\"total_num_steps\":"
                    + " 10}}}")
            .contains("total_num_steps is a WarmupDecayLR parameter"));
    assertEquals(
        "ds_config.json: fp16.enabled and bf16.enabled cannot both be true",
        error("{\"fp16\": {\"enabled\": true}, \"bf16\": {\"enabled\": true}}"));
  }

  @Test
  void autoOnlyWhereHuggingFaceFillsIt() {
    assertTrue(
        error("{\"zero_optimization\": {\"stage\": \"auto\"}}")
            .startsWith("ds_config.json: \"zero_optimization.stage\" cannot be \"auto\""));
    assertEquals(
        "ds_config.json: \"train_batch_size\" must be an integer, got the string"
            + " \"big\" or \"auto\"",
        error("{\"train_batch_size\": \"big\"}"));
    assertEquals(
        "ds_config.json: \"optimizer.params.betas\" must be a list of two numbers or"
            + " \"auto\", got 0.9",
        error("{\"optimizer\": {\"type\": \"Adam\", \"params\":" + " {\"betas\": 0.9}}}"));
  }

  @Test
  void adamIsDecoupledUnlessAdamWModeIsOff() {
    DeepSpeedConfig adam =
        DeepSpeedConfig.parse(
            "{\"optimizer\": {\"type\": \"adam\", \"params\": {\"weight_decay\": 0.01}}}",
            "ds.json");
    assertEquals("Adam", adam.optimizerType());
    assertTrue(adam.decoupledWeightDecay(), "DeepSpeed's adam_w_mode defaults to true");
    DeepSpeedConfig l2 =
        DeepSpeedConfig.parse(
            "{\"optimizer\": {\"type\": \"Adam\", \"params\":"
                + " {\"adam_w_mode\": false, \"torch_adam\": true}}}",
            "ds.json");
    assertFalse(l2.decoupledWeightDecay());
    assertTrue(l2.ignoredKeys().get(0).startsWith("optimizer.params.torch_adam ("));
    DeepSpeedConfig adamw =
        DeepSpeedConfig.parse(
            "{\"optimizer\": {\"type\": \"AdamW\"," + " \"params\": {\"adam_w_mode\": false}}}",
            "ds.json");
    assertTrue(adamw.decoupledWeightDecay(), "AdamW forces adam_w_mode");
  }

  @Test
  void emptyConfigAndOldNames() {
    DeepSpeedConfig empty = DeepSpeedConfig.parse("{}", "ds.json");
    assertNull(empty.optimizerType());
    assertNull(empty.schedulerType());
    assertEquals(0, empty.zeroStage());
    assertTrue(empty.ignoredKeys().isEmpty());
    DeepSpeedConfig old =
        DeepSpeedConfig.parse(
            "{\"bfloat16\": {\"enabled\": true}, \"zero_optimization\": {\"stage\": 1,"
                + " \"cpu_offload\": true}}",
            "ds.json");
    assertEquals(Boolean.TRUE, old.bf16Enabled().value());
    assertEquals("cpu", old.offloadOptimizerDevice());
    assertTrue(old.ignoredKeys().get(0).startsWith("zero_optimization.cpu_offload ("));
    assertEquals(
        "ds.json: give \"bf16\" or its older name \"bfloat16\", not both",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    DeepSpeedConfig.parse(
                        "{\"bfloat16\": {\"enabled\": true}, \"bf16\": {\"enabled\": true}}",
                        "ds.json"))
            .getMessage());
  }

  @Test
  void sectionsAreKnownByTheirPathUnderTheirMainName() {
    DeepSpeedConfig d =
        DeepSpeedConfig.parse(
            "{\"bfloat16\": {}, \"zero_optimization\":"
                + " {\"offload_param\": {}}, \"fp16\": null}",
            "ds.json");
    assertTrue(d.hasSection("bf16"));
    assertTrue(d.hasSection("zero_optimization"));
    assertTrue(d.hasSection("zero_optimization.offload_param"));
    assertFalse(d.hasSection("fp16"), "null is absent");
    assertFalse(d.hasSection("optimizer"));
  }

  @Test
  void overlapCommIsABooleanOffByDefault() {
    assertFalse(DeepSpeedConfig.parse("{}", "ds_config.json").overlapComm());
    assertFalse(
        DeepSpeedConfig.parse("{\"zero_optimization\": {\"stage\": 2}}", "ds_config.json")
            .overlapComm());
    assertTrue(
        DeepSpeedConfig.parse(
                "{\"zero_optimization\": {\"stage\": 1, \"overlap_comm\": true}}", "ds_config.json")
            .overlapComm());
    assertFalse(
        DeepSpeedConfig.parse(
                "{\"zero_optimization\": {\"overlap_comm\": false}}", "ds_config.json")
            .overlapComm());
    assertEquals(
        "ds_config.json: \"zero_optimization.overlap_comm\" must be true or false, got the"
            + " string \"yes\"",
        error("{\"zero_optimization\": {\"overlap_comm\": \"yes\"}}"));
    assertTrue(
        error("{\"zero_optimization\": {\"overlap_com\": true}}")
            .contains("did you mean \"zero_optimization.overlap_comm\""),
        error("{\"zero_optimization\": {\"overlap_com\": true}}"));
  }

  @Test
  void sparseGradientsIsABooleanOffByDefault() {
    assertFalse(DeepSpeedConfig.parse("{}", "ds_config.json").sparseGradients());
    assertFalse(DeepSpeedConfig.fromFile(Path.of("conf/ds_config_zero2.json")).sparseGradients());
    assertTrue(
        DeepSpeedConfig.parse("{\"sparse_gradients\": true}", "ds_config.json").sparseGradients());
    assertFalse(
        DeepSpeedConfig.parse("{\"sparse_gradients\": false}", "ds_config.json").sparseGradients());
    assertEquals(
        "ds_config.json: \"sparse_gradients\" must be true or false, got the string \"yes\"",
        error("{\"sparse_gradients\": \"yes\"}"));
    assertTrue(
        error("{\"sparse_gradients\": 1}").contains("\"sparse_gradients\" must be true or false"),
        error("{\"sparse_gradients\": 1}"));
    assertTrue(
        error("{\"sparse_gradients\": \"auto\"}")
            .contains("\"sparse_gradients\" cannot be \"auto\""),
        error("{\"sparse_gradients\": \"auto\"}"));
    // a misspelling is an unknown key, with the right one suggested
    assertTrue(
        error("{\"sparse_gradient\": true}").contains("did you mean \"sparse_gradients\""),
        error("{\"sparse_gradient\": true}"));
  }
}
