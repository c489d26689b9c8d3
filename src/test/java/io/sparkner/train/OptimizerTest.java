package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** AdamW against torch.optim.AdamW, and the loss scaler against DeepSpeed's rules. */
class OptimizerTest {

  /**
   * Expected values from torch 1.13: AdamW([{a, weight_decay 0.01}, {b, weight_decay 0}], lr 1e-2,
   * betas (0.9, 0.999), eps 1e-8), three steps with the gradients below.
   */
  @Test
  void adamWMatchesTorch() {
    float[] master = {0.5f, -0.3f, 1.0f, 2.0f};
    AdamW opt =
        new AdamW(
            0,
            master,
            new boolean[] {true, true, false, false},
            new AdamW.Hyperparameters(0.9, 0.999, 1e-8, 0.01));
    float[][] grads = {
      {0.1f, -0.2f, 0.3f, 0.0f}, {0.05f, 0.4f, -0.1f, 1.0f}, {-0.2f, 0.1f, 0.2f, -0.5f}
    };
    for (float[] g : grads) {
      opt.update(g, 1e-2);
    }
    assertArrayEquals(
        new float[] {
          0.48259469866752625f, -0.2977291941642761f, 0.979966938495636f, 1.9902721643447876f
        },
        master,
        1e-6f);
    assertEquals(3, opt.step());
    assertEquals(4 * 12, opt.stateBytes()); // 12 bytes per parameter: master, m, v in fp32
  }

  /** Over ranges on several threads (a large shard) the update has the bits of one thread's. */
  @Test
  void anUpdateOnThreeThreadsHasTheBitsOfOne() {
    int n = 1_000_003;
    float[] one = new float[n];
    float[] three = new float[n];
    boolean[] decay = new boolean[n];
    java.util.Random r = new java.util.Random(5);
    for (int i = 0; i < n; i++) {
      one[i] = three[i] = (float) r.nextGaussian();
      decay[i] = i % 3 != 0;
    }
    AdamW.Hyperparameters h = new AdamW.Hyperparameters(0.9, 0.999, 1e-8, 0.01);
    AdamW a = new AdamW(0, one, decay, h, 1);
    AdamW b = new AdamW(0, three, decay, h, 3);
    for (int step = 0; step < 3; step++) {
      float[] g = new float[n];
      for (int i = 0; i < n; i++) {
        g[i] = (float) r.nextGaussian();
      }
      a.update(g, 1e-3);
      b.update(g, 1e-3);
    }
    assertArrayEquals(one, three);
    assertFalse(one[7] == 0f);
  }

  @Test
  void weightDecayExcludesBiasAndLayerNorm() {
    assertTrue(FlatParameters.decays("bert.encoder.layer.0.attention.self.query.weight"));
    assertTrue(FlatParameters.decays("classifier.weight"));
    assertFalse(FlatParameters.decays("classifier.bias"));
    assertFalse(FlatParameters.decays("bert.embeddings.LayerNorm.weight"));
    assertFalse(FlatParameters.decays("roberta.encoder.layer.3.output.LayerNorm.bias"));
  }

  @Test
  void lossScalerFollowsDeepSpeed() {
    LossScaler scaler = new LossScaler(true, 65536, 4, 2, false, 1, 1);
    LossScaler.State s = scaler.start();
    assertEquals(65536, s.scale());
    s = scaler.next(s, true); // first overflow: absorbed by hysteresis, scale kept, step skipped
    assertEquals(65536, s.scale());
    s = scaler.next(s, true); // second: hysteresis exhausted, halve
    assertEquals(32768, s.scale());
    s = scaler.next(s, true);
    assertEquals(16384, s.scale());
    // window 4 clean steps after the last overflow (iteration 2): doubles at iteration 6
    s = scaler.next(s, false);
    s = scaler.next(s, false);
    s = scaler.next(s, false);
    assertEquals(16384, s.scale());
    s = scaler.next(s, false);
    assertEquals(32768, s.scale());
    // never below the minimum
    LossScaler low = new LossScaler(true, 2, 1000, 1, false, 1, 1);
    LossScaler.State l = low.start();
    l = low.next(l, true);
    l = low.next(l, true);
    l = low.next(l, true);
    assertEquals(1, l.scale());
    // a static scale never moves
    LossScaler fixed = new LossScaler(false, 128, 1000, 2, false, 1, 128);
    assertEquals(128, fixed.next(fixed.start(), true).scale());
    assertTrue(
        LossScaler.overflowed(
            LossScaler.sumOfSquares(new float[] {1f, Float.POSITIVE_INFINITY}, 0, 2)));
    assertTrue(LossScaler.overflowed(LossScaler.sumOfSquares(new float[] {Float.NaN}, 0, 1)));
    assertTrue(
        LossScaler.overflowed(
            LossScaler.sumOfSquares(new float[] {Float.NEGATIVE_INFINITY, 2f}, 0, 2)));
    // the largest finite floats, squared and summed, stay finite in double
    assertFalse(
        LossScaler.overflowed(
            LossScaler.sumOfSquares(
                new float[] {Float.MAX_VALUE, -Float.MAX_VALUE, -3e38f}, 0, 3)));
    assertEquals(25.0, LossScaler.sumOfSquares(new float[] {9f, 3f, 4f, 9f}, 1, 3));
  }

  @Test
  void deepSpeedDefaultsFromTheExampleConfig() {
    TrainConfig c =
        TrainConfig.resolve(
            TrainingArguments.defaults().withOverrides(java.util.List.of("fp16=true")),
            DeepSpeedConfig.fromFile(java.nio.file.Path.of("conf/ds_config_zero2.json")),
            1,
            100,
            32);
    assertEquals(65536, c.lossScaler().start().scale()); // 2^initial_scale_power 16
  }
}
