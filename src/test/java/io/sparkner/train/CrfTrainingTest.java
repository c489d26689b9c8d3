package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.eval.Evaluator;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Crf;
import io.sparkner.model.Example;
import io.sparkner.model.SafeTensors;
import io.sparkner.model.TagConstraints;
import io.sparkner.model.TokenClassificationModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CRF head ({@code "crf": true}) in the checkpoint and the trainer: its parameters initialised,
 * saved and read back under {@code crf.*}, trained by its negative log-likelihood, decoded by
 * Viterbi in evaluation. Distributed, ZeRO, fp16 and resume: {@code DistributedTrainingTest}.
 */
class CrfTrainingTest {
  @TempDir Path dir;

  static final List<String> CRF_KEYS =
      List.of("crf.start_transitions", "crf.end_transitions", "crf.transitions");

  /** The tiny BERT (labels O, B-PER, I-PER, B-LOC, I-LOC) with a CRF head. */
  static Checkpoints.Weights tinyCrf() {
    return tinyCrfOf(TrainerTest.TINY.toString(), 0);
  }

  /**
   * The checkpoint at {@code dir} with a CRF head, as a training run with crf=true and {@code seed}
   * reads it.
   */
  static Checkpoints.Weights tinyCrfOf(String dir, long seed) {
    return Checkpoints.read(dir, new Configuration(), null, c -> c.withCrf(true), seed);
  }

  @Test
  void aCrfHeadIsInitialisedLikePytorchCrfSavedUnderItsNamesAndReadBack() throws Exception {
    Checkpoints.Weights plain = TrainerTest.tiny();
    Checkpoints.Weights crf = tinyCrf();
    assertTrue(crf.config().crf);
    assertFalse(plain.config().crf);
    assertEquals(CRF_KEYS, crf.report().newlyInitialized(), crf.report().describe());
    // uniform in [-0.1, 0.1), not zeros; the shapes pytorch-crf gives them
    assertArrayEquals(new long[] {5}, crf.tensors().get("crf.start_transitions").shape());
    assertArrayEquals(new long[] {5, 5}, crf.tensors().get("crf.transitions").shape());
    for (String k : CRF_KEYS) {
      float[] v = crf.tensors().get(k).data();
      double max = 0;
      for (float x : v) {
        assertTrue(x >= -Crf.INIT_RANGE && x < Crf.INIT_RANGE, k + ": " + x);
        max = Math.max(max, Math.abs(x));
      }
      assertTrue(max > 0.01, k + " is not initialised: " + Arrays.toString(v));
    }
    // every other weight is what the plain head reads: the CRF draws after them
    for (Map.Entry<String, SafeTensors.Tensor> e : plain.tensors().entrySet()) {
      assertArrayEquals(e.getValue().data(), crf.tensors().get(e.getKey()).data(), e.getKey());
    }

    Path saved = dir.resolve("crf-model");
    Checkpoints.write(crf.config(), crf.tensors(), Checkpoints.local(saved));
    String json = Files.readString(saved.resolve(Checkpoints.CONFIG));
    assertTrue(json.contains("\"crf\" : true"), json);
    Checkpoints.Weights back = Checkpoints.read(saved, null, 0);
    assertTrue(back.config().crf);
    assertTrue(back.report().clean(), back.report().describe());
    for (String k : CRF_KEYS) {
      assertArrayEquals(crf.tensors().get(k).data(), back.tensors().get(k).data(), k);
    }
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(back, m, DataType.FLOAT32);
      assertNotNull(model.crf());
      assertTrue(model.parameters().keySet().containsAll(CRF_KEYS));
      // the CRF belongs to the head part, gathered (overlap_comm) before the classifier runs
      List<TokenClassificationModel.ForwardPart> parts = model.forwardParts();
      assertTrue(parts.get(parts.size() - 1).parameters().containsAll(CRF_KEYS));
    }

    // a plain softmax head reading it (config without "crf"): the CRF is reported unused
    Checkpoints.Weights softmax =
        Checkpoints.read(saved.toString(), new Configuration(), null, c -> c.withCrf(false), 0);
    assertFalse(softmax.config().crf);
    assertEquals(
        new java.util.TreeSet<>(CRF_KEYS),
        new java.util.TreeSet<>(softmax.report().unused()),
        softmax.report().describe());
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(softmax, m, DataType.FLOAT32);
      assertNull(model.crf());
      assertFalse(model.parameters().containsKey("crf.transitions"));
    }
  }

  /**
   * Windows whose labels are well-formed IOB2 and a function of the token: O tokens 4–33, B-PER
   * 34–43, I-PER 44–53, B-LOC 54–63, I-LOC 64–73; CLS and SEP around, labelled -100.
   */
  static List<Example> iob2Examples(int n, long seed) {
    Random r = new Random(seed);
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      List<Integer> ids = new ArrayList<>(List.of(2));
      List<Integer> labels = new ArrayList<>(List.of(-100));
      while (ids.size() < 12) {
        int kind = r.nextInt(3); // O, PER or LOC
        if (kind == 0) {
          ids.add(4 + r.nextInt(30));
          labels.add(0);
        } else {
          int b = kind == 1 ? 1 : 3;
          int len = 1 + r.nextInt(3);
          for (int k = 0; k < len; k++) {
            int label = k == 0 ? b : b + 1;
            ids.add(34 + (label - 1) * 10 + r.nextInt(10));
            labels.add(label);
          }
        }
      }
      ids.add(3);
      labels.add(-100);
      int len = ids.size();
      int[] starts = new int[len];
      int[] ends = new int[len];
      for (int j = 0; j < len; j++) {
        boolean special = j == 0 || j == len - 1;
        starts[j] = special ? -1 : j;
        ends[j] = special ? -1 : j + 1;
      }
      out.add(
          new Example(
              "d" + i,
              0,
              ids.stream().mapToInt(Integer::intValue).toArray(),
              labels.stream().mapToInt(Integer::intValue).toArray(),
              starts,
              ends));
    }
    return out;
  }

  @Test
  void theTrainerMinimisesTheCrfLikelihoodAndEvaluationDecodesTheViterbiPath() {
    List<Example> data = iob2Examples(16, 3);
    TrainConfig cfg =
        TrainerTest.config(
            data.size(), "num_train_epochs=6", "weight_decay=0.0", "learning_rate=1e-2");
    for (boolean withCrf : new boolean[] {true}) {
      List<Double> losses = new ArrayList<>();
      try (NDManager m = NDManager.newBaseManager()) {
        Checkpoints.Weights w = withCrf ? tinyCrf() : TrainerTest.tiny();
        TokenClassificationModel model = Checkpoints.build(w, m, DataType.FLOAT32);
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
        double first = losses.get(0);
        double last = losses.get(losses.size() - 1);
        assertTrue(last < first * 0.5, "crf " + withCrf + ": loss " + first + " -> " + last);
        if (!withCrf) {
          continue;
        }
        // the transitions learnt: they are trained by the likelihood, not only carried along
        float[] values = t.parameterValues();
        Map<String, SafeTensors.Tensor> initial = tinyCrf().tensors();
        for (FlatParameters.Slot s : t.flat().slots()) {
          if (CRF_KEYS.contains(s.name())) {
            float[] now =
                Arrays.copyOfRange(values, (int) s.offset(), (int) (s.offset() + s.size()));
            double moved = 0;
            for (int i = 0; i < now.length; i++) {
              moved = Math.max(moved, Math.abs(now[i] - initial.get(s.name()).data()[i]));
            }
            assertTrue(moved > 0.01, s.name() + " moved only " + moved);
          }
        }
        // O → I-PER is the transition the corpus never shows: learnt below the B-PER → I-PER one
        float[] trans = model.parameters().get("crf.transitions").getArray().toFloatArray();
        assertTrue(trans[2] < trans[5 + 2], "O→I-PER " + trans[2] + ", B-PER→I-PER " + trans[7]);

        // evaluation: the Viterbi path over the labelled positions, -100 elsewhere
        int[][] predicted = forward(model, data);
        TagConstraints iob2 = TagConstraints.forLabels(model.config().labels);
        int correct = 0;
        int labelled = 0;
        for (int i = 0; i < data.size(); i++) {
          int[] gold = data.get(i).labels();
          List<Integer> path = new ArrayList<>();
          for (int j = 0; j < gold.length; j++) {
            if (gold[j] < 0) {
              assertEquals(Crf.IGNORE, predicted[i][j], "window " + i + " position " + j);
            } else {
              labelled++;
              correct += gold[j] == predicted[i][j] ? 1 : 0;
              path.add(predicted[i][j]);
            }
          }
          assertTrue(
              iob2.allowsPath(path.stream().mapToInt(Integer::intValue).toArray()),
              "window " + i + ": " + path);
        }
        assertTrue(correct > 0.9 * labelled, correct + " of " + labelled);
      }
    }
  }

  @Test
  void theCrfLearningRateIsAParameterGroupUnderTheSameSchedule() {
    // AdamW: the tail from element 6 learns at 20× the rate, the head as before, bit for bit
    Random r = new Random(5);
    float[] start = new float[10];
    for (int i = 0; i < start.length; i++) {
      start[i] = (float) r.nextGaussian();
    }
    boolean[] decay = new boolean[10];
    Arrays.fill(decay, true);
    AdamW.Hyperparameters h = new AdamW.Hyperparameters(0.9, 0.999, 1e-8, 0.01);
    AdamW grouped = new AdamW(0, start.clone(), decay, h);
    grouped.scaleTail(6, 20);
    AdamW slow = new AdamW(0, start.clone(), decay, h);
    AdamW fast = new AdamW(0, start.clone(), decay, h);
    for (int step = 0; step < 5; step++) {
      float[] g = new float[10];
      for (int i = 0; i < g.length; i++) {
        g[i] = (float) r.nextGaussian();
      }
      double lr = 1e-3 * (5 - step) / 5; // a decaying schedule
      grouped.update(g.clone(), lr);
      slow.update(g.clone(), lr);
      fast.update(g.clone(), lr * 20);
    }
    for (int i = 0; i < 10; i++) {
      float expected = i < 6 ? slow.master()[i] : fast.master()[i];
      assertEquals(
          Float.floatToIntBits(expected), Float.floatToIntBits(grouped.master()[i]), "@" + i);
    }

    // the trainer gives the CRF's parameters that group, and refuses it without a CRF
    List<Example> data = iob2Examples(8, 4);
    double[] moved = new double[2];
    for (int k = 0; k < 2; k++) {
      List<String> o = new ArrayList<>(List.of("max_steps=4", "weight_decay=0.0"));
      if (k == 1) {
        o.add("crf_learning_rate=5e-1");
      }
      TrainConfig cfg = TrainerTest.config(data.size(), o.toArray(new String[0]));
      try (NDManager m = NDManager.newBaseManager()) {
        TokenClassificationModel model = Checkpoints.build(tinyCrf(), m, DataType.FLOAT32);
        Trainer t = new Trainer(model, cfg, GradientExchange.SINGLE, new Trainer.Hooks() {});
        t.train(data);
        float[] now = model.parameters().get("crf.transitions").getArray().toFloatArray();
        float[] was = tinyCrf().tensors().get("crf.transitions").data();
        for (int i = 0; i < now.length; i++) {
          moved[k] = Math.max(moved[k], Math.abs(now[i] - was[i]));
        }
      }
    }
    // Adam moves an element by about the learning rate per step: 4 steps at 5e-3 or at 0.5
    assertTrue(moved[0] < 0.03 && moved[1] > 0.3, Arrays.toString(moved));
    TrainConfig withRate = TrainerTest.config(8, "max_steps=1", "crf_learning_rate=1e-3");
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel plain = Checkpoints.build(TrainerTest.tiny(), m, DataType.FLOAT32);
      IllegalArgumentException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              IllegalArgumentException.class,
              () -> new Trainer(plain, withRate, GradientExchange.SINGLE, new Trainer.Hooks() {}));
      assertTrue(
          e.getMessage().contains("crf_learning_rate") && e.getMessage().contains("crf: true"));
    }
  }

  /** Evaluator's one-batch forward, as evaluate and validation decode. */
  static int[][] forward(TokenClassificationModel model, List<Example> windows) {
    Map<String, int[][]> p = Evaluator.predict(model, windows, 8);
    int[][] out = new int[windows.size()][];
    for (int i = 0; i < windows.size(); i++) {
      out[i] = p.get(windows.get(i).id() + "#0")[0];
    }
    return out;
  }
}
