package io.sparkner.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.sparkner.align.Labels;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.SafeTensors;
import io.sparkner.prepare.PreparedData;
import io.sparkner.tokenizer.TokenizerHandle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scoring with a CRF head (Viterbi over the positions the model was trained on) and with a model
 * trained on each word's first subword only, on variants of the gold checkpoint ({@link
 * ScoreFixtures#gold()}), whose emissions reproduce the gold tags token by token.
 */
class CrfScoringTest {
  @TempDir static Path dir;

  /** The first gold checkpoint rewritten with another config and CRF transitions. */
  static Path variant(String name, UnaryOperator<ModelConfig> config, float[][] crf)
      throws IOException {
    Path gold = ScoreFixtures.gold().first().model();
    Checkpoints.Weights w = Checkpoints.read(gold, null, 0);
    Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(w.tensors());
    if (crf != null) {
      int n = w.config().numLabels();
      t.put("crf.start_transitions", new SafeTensors.Tensor(new long[] {n}, new float[n], "F32"));
      t.put("crf.end_transitions", new SafeTensors.Tensor(new long[] {n}, new float[n], "F32"));
      float[] trans = new float[n * n];
      for (int i = 0; i < n; i++) {
        System.arraycopy(crf[i], 0, trans, i * n, n);
      }
      t.put("crf.transitions", new SafeTensors.Tensor(new long[] {n, n}, trans, "F32"));
    }
    Path out = dir.resolve(name);
    Checkpoints.write(config.apply(w.config()), t, Checkpoints.local(out));
    Files.copy(gold.resolve(Checkpoints.TOKENIZER), out.resolve(Checkpoints.TOKENIZER));
    return out;
  }

  static Map<String, List<TaggedEntity>> tag(Path model, List<String> texts) {
    Dataset<Row> tagged =
        new NerTagger().setModelPath(model.toString()).transform(NerTaggerTest.texts(texts));
    return NerTaggerTest.entities(tagged, "entities");
  }

  static List<String> goldTexts() {
    List<String> texts = new ArrayList<>();
    for (PreparedData.GoldDocument d : ScoreFixtures.gold().first().documents()) {
      texts.add(d.text());
    }
    return texts;
  }

  /** Every window's predictions of {@code texts} by the checkpoint at {@code model}. */
  static List<Predicted> predict(Path model, List<String> texts) {
    Configuration conf = new Configuration();
    List<Predicted> out = new ArrayList<>();
    try (ScoringModel m =
        ScoringModel.load(
            model.toString(),
            ModelCache.version(model.toString(), conf),
            Device.cpu(),
            DataType.FLOAT32,
            conf)) {
      TokenizerHandle tok = m.tokenizer();
      WindowPredictor predictor = new WindowPredictor(m.model(), 8, true);
      for (String text : texts) {
        List<TextWindows.Window> windows =
            TextWindows.of(
                tok.tokenize(text),
                tok.prefixIds(),
                tok.suffixIds(),
                126,
                32,
                m.model().config().decodesAllSubwords());
        WindowPredictor.Prediction[] p = predictor.predict(windows);
        for (int w = 0; w < windows.size(); w++) {
          out.add(new Predicted(text, windows.get(w), p[w]));
        }
      }
    }
    return out;
  }

  record Predicted(String text, TextWindows.Window window, WindowPredictor.Prediction p) {}

  @Test
  void aCrfWithoutTransitionScoresTagsTheGoldEntitiesLikeTheSoftmaxHead() throws IOException {
    int n = labels().size();
    Path neutral = variant("crf-neutral", c -> c.withCrf(true), new float[n][n]);
    List<String> texts = goldTexts().subList(0, 40);
    Map<String, List<TaggedEntity>> softmax = tag(ScoreFixtures.gold().first().model(), texts);
    Map<String, List<TaggedEntity>> crf = tag(neutral, texts);
    int found = 0;
    for (int i = 0; i < texts.size(); i++) {
      List<TaggedEntity> a = softmax.get("r" + i);
      List<TaggedEntity> b = crf.get("r" + i);
      assertEquals(NerTaggerTest.spans(a), NerTaggerTest.spans(b), texts.get(i));
      found += b.size();
    }
    assertTrue(found > 20, "entities found: " + found);
  }

  @Test
  void theCrfsTransitionsDecideTheTagsNotTheArgMax() throws IOException {
    List<String> labels = labels();
    int n = labels.size();
    int o = labels.indexOf("O");
    float[][] trans = new float[n][n];
    for (int j = 0; j < n; j++) {
      if (labels.get(j).startsWith("B-")) {
        trans[o][j] = -1e4f; // O → B-X all but forbidden: an entity may only start a chain
      }
    }
    Path penalised = variant("crf-no-o-to-b", c -> c.withCrf(true), trans);
    List<String> texts = goldTexts().subList(0, 40);
    int differ = 0;
    int decoded = 0;
    List<Predicted> crf = predict(penalised, texts);
    List<Predicted> softmax = predict(ScoreFixtures.gold().first().model(), texts);
    for (int k = 0; k < crf.size(); k++) {
      Predicted c = crf.get(k);
      int previous = -1;
      for (int j = 0; j < c.window().length(); j++) {
        int tag = c.p().labels()[j];
        if (!c.window().labelled()[j]) {
          assertEquals(Labels.IGNORE, tag, "outside the chain, at " + j + " of " + c.text());
          continue;
        }
        decoded++;
        assertTrue(
            !(previous == o && labels.get(tag).startsWith("B-")),
            "O then " + labels.get(tag) + " at " + j + " of " + c.text());
        previous = tag;
        differ += tag != softmax.get(k).p().labels()[j] ? 1 : 0;
      }
    }
    assertTrue(decoded > 500, "decoded positions: " + decoded);
    assertTrue(differ > 0, "the CRF changed no tag of the arg-max");
  }

  @Test
  void aFirstSubwordModelGivesEachWordsLaterSubwordsItsTag() throws IOException {
    Path first = variant("first-subwords", c -> c.withLabelAllSubwords(false), null);
    List<String> labels = labels();
    // words of several subwords: the sample's texts cut by spaces every few code points
    List<String> texts = new ArrayList<>();
    for (String t : goldTexts().subList(0, 40)) {
      StringBuilder b = new StringBuilder();
      int[] cps = t.codePoints().toArray();
      for (int i = 0; i < cps.length; i++) {
        if (i > 0 && i % 5 == 0) {
          b.append(' ');
        }
        b.appendCodePoint(cps[i]);
      }
      texts.add(b.toString());
    }
    List<Predicted> got = predict(first, texts);
    List<Predicted> all = predict(ScoreFixtures.gold().first().model(), texts);
    int continued = 0;
    int changed = 0;
    for (int k = 0; k < got.size(); k++) {
      Predicted p = got.get(k);
      int last = -1;
      float lastP = 0;
      for (int j = 0; j < p.window().length(); j++) {
        int tag = p.p().labels()[j];
        boolean covers =
            p.window().starts()[j] >= 0 && p.window().starts()[j] < p.window().ends()[j];
        if (p.window().labelled()[j]) {
          // a word's first subword: the model's own arg-max, as with every subword decoded
          assertEquals(
              all.get(k).p().labels()[j], tag, "first subword at " + j + " of " + p.text());
          last = tag;
          lastP = p.p().probabilities()[j];
        } else if (covers && last >= 0) {
          String l = labels.get(last);
          String expected = l.startsWith("B-") ? "I-" + l.substring(2) : l;
          assertEquals(expected, labels.get(tag), "later subword at " + j + " of " + p.text());
          assertEquals(lastP, p.p().probabilities()[j], "its word's probability");
          continued++;
          changed += tag != all.get(k).p().labels()[j] ? 1 : 0;
        }
      }
    }
    assertTrue(continued > 100, "later subwords: " + continued);
    assertTrue(changed > 0, "no later subword took another tag than its own arg-max");
    // and the entities of the first-subword model end at word ends (a space or the text's end)
    Map<String, List<TaggedEntity>> found = tag(first, texts);
    int entities = 0;
    for (int i = 0; i < texts.size(); i++) {
      int[] cps = texts.get(i).codePoints().toArray();
      for (TaggedEntity e : found.get("r" + i)) {
        assertTrue(e.end() == cps.length || cps[e.end()] == ' ', e + " in " + texts.get(i));
        entities++;
      }
    }
    assertNotEquals(0, entities);
  }

  static List<String> labels() {
    return Checkpoints.read(ScoreFixtures.gold().first().model(), null, 0).config().labels;
  }
}
