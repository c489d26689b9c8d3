package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.SafeTensors;
import io.sparkner.model.TokenClassificationModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on the tiny BERT fixture: learning, fp16, checkpoints and exact resume. */
class TrainerTest {
  static final Path TINY = Path.of("src/test/resources/parity/bert");
  @TempDir Path dir;

  static List<Example> examples(int n, long seed) {
    Random r = new Random(seed);
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = 5 + r.nextInt(8);
      int[] ids = new int[len];
      int[] labels = new int[len];
      int[] starts = new int[len];
      int[] ends = new int[len];
      for (int j = 0; j < len; j++) {
        boolean special = j == 0 || j == len - 1;
        ids[j] = special ? (j == 0 ? 2 : 3) : 4 + r.nextInt(100);
        labels[j] = special ? -100 : ids[j] % 5; // learnable: the label is a function of the token
        starts[j] = special ? -1 : j;
        ends[j] = special ? -1 : j + 1;
      }
      out.add(new Example("d" + i, 0, ids, labels, starts, ends));
    }
    return out;
  }

  static TrainConfig config(int examples, String... overrides) {
    List<String> o =
        new ArrayList<>(
            List.of(
                "learning_rate=5e-3",
                "per_device_train_batch_size=4",
                "logging_steps=1",
                "warmup_ratio=0.1",
                "weight_decay=0.01"));
    o.addAll(List.of(overrides));
    return TrainConfig.resolve(
        TrainingArguments.defaults().withOverrides(o), null, 1, examples, 32);
  }

  static Checkpoints.Weights tiny() {
    return Checkpoints.read(TINY, null, 0);
  }

  @Test
  void lossFallsAndCheckpointsLoadBackBitIdentically() throws Exception {
    List<Example> data = examples(16, 1);
    TrainConfig cfg = config(data.size(), "num_train_epochs=15");
    List<Double> losses = new ArrayList<>();
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(tiny(), m, DataType.FLOAT32);
      Trainer t =
          new Trainer(
              model,
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {
                @Override
                public void log(Trainer.StepMetrics s) {
                  losses.add(s.loss());
                }
              });
      t.train(data);
      assertEquals(cfg.totalSteps(), t.state().globalStep());
      assertEquals(cfg.totalSteps(), losses.size());
      double first = losses.get(0);
      double last = losses.get(losses.size() - 1);
      assertTrue(last < first * 0.5, "loss " + first + " -> " + last);

      CheckpointStore store = new CheckpointStore(dir.toUri().toString(), new Configuration());
      String out = dir.resolve("final").toUri().toString();
      store.writeModel(t, out, null);
      Map<String, SafeTensors.Tensor> back =
          SafeTensors.read(dir.resolve("final/model.safetensors"));
      float[] values = t.parameterValues();
      for (FlatParameters.Slot s : t.flat().slots()) {
        float[] expected =
            java.util.Arrays.copyOfRange(values, (int) s.offset(), (int) (s.offset() + s.size()));
        assertArrayEquals(expected, back.get(s.name()).data(), 0f, s.name());
      }
      // and the model itself holds what was saved
      assertArrayEquals(values, t.flat().values(), 0f);
      String config = Files.readString(dir.resolve("final/config.json"));
      assertTrue(
          config.contains("\"id2label\"") && config.contains("BertForTokenClassification"), config);
    }
  }

  @Test
  void resumingFromACheckpointReachesTheSameWeights() {
    float[][] runs = uninterruptedAndResumed(DataType.FLOAT32, dir);
    float[] uninterrupted = runs[0];
    float[] resumed = runs[1];
    double worst = 0;
    for (int i = 0; i < resumed.length; i++) {
      worst = Math.max(worst, Math.abs(resumed[i] - uninterrupted[i]));
    }
    assertEquals(0.0, worst, 1e-6, "resumed run differs from the uninterrupted one by " + worst);
  }

  @Test
  void anFp16RunResumesFromItsFp32MasterWeightsToTheSameBits() {
    // the fp16 model copy holds the masters rounded: resumed from it, the run used to drift off
    float[][] runs = uninterruptedAndResumed(DataType.FLOAT16, dir);
    assertArrayEquals(
        DistributedTrainingTest.bits(runs[0]),
        DistributedTrainingTest.bits(runs[1]),
        "fp16: the resumed run's master weights");
  }

  /**
   * 12 steps uninterrupted, and 12 steps by a run that dies right after its checkpoint at step 10
   * and a new trainer resumed from that checkpoint: both runs' final parameter values.
   */
  static float[][] uninterruptedAndResumed(DataType dtype, Path dir) {
    List<Example> data = examples(20, 2);
    TrainConfig cfg =
        config(data.size(), "max_steps=12", "save_steps=5", "fp16=" + (dtype == DataType.FLOAT16));
    float[] uninterrupted;
    try (NDManager m = NDManager.newBaseManager()) {
      Trainer t =
          new Trainer(
              Checkpoints.build(tiny(), m, dtype),
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {});
      t.train(data);
      uninterrupted = t.parameterValues().clone();
    }
    CheckpointStore store = new CheckpointStore(dir.toUri().toString(), new Configuration());
    class Crash extends RuntimeException {
      private static final long serialVersionUID = 1L;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      Trainer t =
          new Trainer(
              Checkpoints.build(tiny(), m, dtype),
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {
                @Override
                public void save(Trainer tr) {
                  store.save(tr, GradientExchange.SINGLE, null);
                  if (tr.state().globalStep() == 10) {
                    throw new Crash(); // the task dies right after its second checkpoint
                  }
                }
              });
      assertThrows(Crash.class, () -> t.train(data));
    }
    CheckpointStore.Saved saved = store.newest().orElseThrow();
    assertEquals(10, saved.step());
    float[] resumed;
    try (NDManager m = NDManager.newBaseManager()) {
      Path local = Path.of(java.net.URI.create(saved.dir()));
      Checkpoints.Weights w = Checkpoints.read(local, null, 0);
      assertTrue(w.report().clean(), w.report().describe());
      Trainer t =
          new Trainer(
              Checkpoints.build(w, m, dtype), cfg, GradientExchange.SINGLE, new Trainer.Hooks() {});
      store.restore(saved, t);
      assertEquals(10, t.state().globalStep());
      t.train(data);
      assertEquals(12, t.state().globalStep());
      resumed = t.parameterValues();
    }
    return new float[][] {uninterrupted, resumed};
  }

  @Test
  void incompleteCheckpointsAreSkipped() throws Exception {
    CheckpointStore store = new CheckpointStore(dir.toUri().toString(), new Configuration());
    Files.createDirectories(dir.resolve("checkpoints/checkpoint-99"));
    Files.writeString(dir.resolve("checkpoints/checkpoint-99/model.safetensors"), "half written");
    assertTrue(store.newest().isEmpty());
  }

  @Test
  void fp16TrainsWithLossScalingOnCpu() {
    List<Example> data = examples(16, 3);
    TrainConfig cfg = config(data.size(), "max_steps=6", "fp16=true");
    assertEquals(TrainConfig.Precision.FP16, cfg.precision());
    List<Trainer.StepMetrics> logs = new ArrayList<>();
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(tiny(), m, DataType.FLOAT16);
      assertEquals(DataType.FLOAT16, model.dataType());
      Trainer t =
          new Trainer(
              model,
              cfg,
              GradientExchange.SINGLE,
              new Trainer.Hooks() {
                @Override
                public void log(Trainer.StepMetrics s) {
                  logs.add(s);
                }
              });
      t.train(data);
      for (Trainer.StepMetrics s : logs) {
        assertTrue(Double.isFinite(s.loss()), "loss " + s.loss());
      }
      assertEquals(65536, logs.get(0).lossScale());
      // fp32 master weights moved, and the fp16 model copy follows them
      float[] master = t.parameterValues();
      float[] inModel = t.flat().values();
      for (int i = 0; i < master.length; i++) {
        assertEquals(master[i], inModel[i], Math.abs(master[i]) * 1e-3 + 1e-4);
      }
    }
  }
}
