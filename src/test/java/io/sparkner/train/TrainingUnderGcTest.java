package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkner.collective.DirectFloats;
import io.sparkner.model.Autograd;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.Scalars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Training does not depend on when the garbage collector runs. Tensors over Java direct buffers
 * (DJL's {@code create}, {@code mul(Number)}) that autograd saves for backward were freed by the
 * collector before backward read them, so replicas of a run diverged (by ~0.02 after 20 steps)
 * whenever a collection fell between forward and backward: rarely on a quiet machine, often under
 * load. Here a thread collects continuously while two trainings run concurrently, as Spark runs
 * replicas as threads of one executor, and both must equal a run without that thread bit for bit.
 */
class TrainingUnderGcTest {
  static final int STEPS = 8;

  @Test
  void aConstantFactorInTheGraphSurvivesCollectionBeforeBackward() throws InterruptedException {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.ones(new Shape(4));
      x.setRequiresGradient(true);
      NDArray y;
      try (Autograd.Scope rec = Autograd.recording()) {
        y = Scalars.times(x, 3f).sum();
      }
      collect();
      try (Autograd.Scope rec = Autograd.recording()) {
        Autograd.backward(y);
      }
      assertArrayEquals(new float[] {3, 3, 3, 3}, x.getGradient().toFloatArray(), 0f);
    }
  }

  @Test
  void trainingsUnderCollectionPressureEqualAQuietOneBitForBit() throws Exception {
    Engine.getInstance();
    int before = JniUtils.getNumThreads();
    ModelConfig c =
        ModelConfig.parse(Files.readString(Path.of("conf/tiny-xlmr-config.json")), "tiny")
            .withLabels(List.of("O", "B-A", "I-A", "B-B", "I-B"))
            .withDropout(0.0, 0.0, 0.0);
    Checkpoints.Weights w = Checkpoints.map(c, Map.of(), 7);
    List<Example> data = TrainerTest.examples(48, 5);
    TrainConfig cfg =
        TrainConfig.resolve(
            TrainingArguments.defaults()
                .withOverrides(
                    List.of(
                        "learning_rate=2e-3",
                        "per_device_train_batch_size=12",
                        "max_steps=" + STEPS,
                        "warmup_steps=2",
                        "weight_decay=0.01",
                        "seed=7")),
            null,
            1,
            data.size(),
            32);
    long[][] quiet;
    JniUtils.setNumThreads(
        1); // the same intra-op thread count on every thread: same summation order
    try {
      quiet = train(w, data, cfg);
    } finally {
      JniUtils.setNumThreads(before);
    }

    AtomicBoolean stop = new AtomicBoolean();
    Thread collector =
        new Thread(
            () -> {
              while (!stop.get()) {
                System.gc();
                try {
                  Thread.sleep(5);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "gc-pressure");
    collector.setDaemon(true);
    int n = 2;
    long[][][] runs = new long[n][][];
    Throwable[] errors = new Throwable[n];
    Thread[] replicas = new Thread[n];
    collector.start();
    try {
      for (int i = 0; i < n; i++) {
        int k = i;
        replicas[i] =
            new Thread(
                () -> {
                  try {
                    JniUtils.setNumThreads(1);
                    runs[k] = train(w, data, cfg);
                  } catch (Throwable e) {
                    errors[k] = e;
                  }
                },
                "replica-" + i);
        replicas[i].start();
      }
      for (Thread t : replicas) {
        t.join();
      }
    } finally {
      stop.set(true);
      collector.join();
    }
    for (int i = 0; i < n; i++) {
      if (errors[i] != null) {
        throw new AssertionError(errors[i]);
      }
      for (int s = 0; s < STEPS; s++) {
        assertEquals(quiet[s][0], runs[i][s][0], "replica " + i + ": gradients of step " + s);
        assertEquals(quiet[s][1], runs[i][s][1], "replica " + i + ": weights after step " + s);
      }
    }
  }

  /** Per step: a hash of the local gradients and of the weights after the update. */
  static long[][] train(Checkpoints.Weights w, List<Example> data, TrainConfig cfg) {
    long[][] trace = new long[STEPS][2];
    try (NDManager m = NDManager.newBaseManager()) {
      Trainer t =
          new Trainer(
              Checkpoints.build(w, m, DataType.FLOAT32),
              cfg,
              tracingLocalGradients(trace),
              new Trainer.Hooks() {
                @Override
                public void afterStep(Trainer tr) {
                  trace[(int) tr.state().globalStep() - 1][1] =
                      Arrays.hashCode(tr.parameterValues());
                }
              });
      t.train(data);
    }
    return trace;
  }

  /**
   * The one-replica exchange, hashing the local gradients it is given into {@code trace[step][0]}.
   */
  static GradientExchange tracingLocalGradients(long[][] trace) {
    return new GradientExchange.Forwarding(GradientExchange.SINGLE) {
      @Override
      public void reduceGradients(DirectFloats local, float[] shard, long step) {
        trace[(int) step][0] = Arrays.hashCode(local.toArray());
        inner.reduceGradients(local, shard, step);
      }
    };
  }

  /** Lets the collector and the cleaner free whatever is unreachable. */
  static void collect() throws InterruptedException {
    for (int i = 0; i < 10; i++) {
      System.gc();
      Thread.sleep(20);
    }
  }
}
