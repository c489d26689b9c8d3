package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.tokenizer.TokenizerHandle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Numerical parity with the plain-PyTorch reference (tools/reference/ner_reference.py): logits,
 * loss and gradients of the tiny BERT and XLM-R fixtures within 1e-4 (fp32), and the real
 * bge-small-zh encoder's hidden states on Stockmark sentences.
 */
class ParityTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path PARITY = Path.of("src/test/resources/parity");

  static long[] longs(JsonNode rows) {
    List<Long> out = new ArrayList<>();
    rows.forEach(r -> r.forEach(v -> out.add(v.asLong())));
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  static float[] floats(JsonNode nested) {
    List<Float> out = new ArrayList<>();
    flatten(nested, out);
    float[] a = new float[out.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = out.get(i);
    }
    return a;
  }

  private static void flatten(JsonNode n, List<Float> out) {
    if (n.isArray()) {
      n.forEach(c -> flatten(c, out));
    } else {
      out.add((float) n.asDouble());
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @ParameterizedTest
  @ValueSource(strings = {"bert", "xlmr"})
  void logitsLossAndGradientsMatchTheReference(String name) throws IOException {
    Path dir = PARITY.resolve(name);
    JsonNode expected = JSON.readTree(dir.resolve("expected.json").toFile());
    Checkpoints.Weights w = Checkpoints.read(dir, null, 0);
    assertTrue(w.report().clean(), w.report().describe());
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(w, manager, DataType.FLOAT32);
      model.setRequiresGradient(true);
      int b = expected.path("input_ids").size();
      int l = expected.path("input_ids").get(0).size();
      Shape shape = new Shape(b, l);
      NDArray ids = manager.create(longs(expected.path("input_ids")), shape);
      NDArray mask = manager.create(longs(expected.path("attention_mask")), shape);
      NDArray types =
          expected.has("token_type_ids")
              ? manager.create(longs(expected.path("token_type_ids")), shape)
              : null;
      NDArray labels = manager.create(longs(expected.path("labels")), shape);
      int labelled = 0;
      for (long x : longs(expected.path("labels"))) {
        labelled += x >= 0 ? 1 : 0;
      }
      float loss;
      try (Autograd.Scope rec = Autograd.recording()) {
        NDArray logits = model.logits(ids, mask, types, false);
        double dLogits = maxAbsDiff(logits.toFloatArray(), floats(expected.path("logits")));
        assertTrue(dLogits <= 1e-4, name + " logits differ by " + dLogits);
        Batch batch = new Batch(ids, mask, labels, b * l, labelled);
        NDArray lossArray = batch.crossEntropySum(logits).div(labelled);
        loss = lossArray.getFloat();
        Autograd.backward(lossArray);
      }
      assertEquals(expected.path("loss").asDouble(), loss, 1e-4, name + " loss");
      Map<String, ai.djl.nn.Parameter> params = model.parameters();
      for (Iterator<Map.Entry<String, JsonNode>> it = expected.path("grads").fields();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> g = it.next();
        float[] actual = params.get(g.getKey()).getArray().getGradient().toFloatArray();
        if (g.getKey().endsWith("word_embeddings.weight")) {
          int h = model.config().hiddenSize;
          for (Iterator<Map.Entry<String, JsonNode>> rows = g.getValue().fields();
              rows.hasNext(); ) {
            Map.Entry<String, JsonNode> row = rows.next();
            int r = Integer.parseInt(row.getKey());
            float[] part = java.util.Arrays.copyOfRange(actual, r * h, (r + 1) * h);
            double d = maxAbsDiff(part, floats(row.getValue()));
            assertTrue(d <= 1e-4, name + " grad " + g.getKey() + "[" + r + "] differs by " + d);
          }
        } else {
          double d = maxAbsDiff(actual, floats(g.getValue()));
          assertTrue(d <= 1e-4, name + " grad " + g.getKey() + " differs by " + d);
        }
      }
    }
  }

  @Test
  void pretrainedBgeSmallZhHiddenStatesOnStockmarkSentences() throws IOException {
    Path bge = TestData.shared("models/bge-small-zh-v1.5");
    JsonNode inputs = JSON.readTree(PARITY.resolve("bge/inputs.json").toFile());
    JsonNode expected = JSON.readTree(PARITY.resolve("bge/expected_hidden.json").toFile());
    // our tokenizer path gives the ids the reference was fed
    try (TokenizerHandle tok = TokenizerHandle.load(bge.resolve("tokenizer.json"))) {
      for (int i = 0; i < inputs.path("texts").size(); i++) {
        int[] ids = tok.tokenize(inputs.path("texts").get(i).asText()).ids();
        JsonNode row = inputs.path("input_ids").get(i);
        assertEquals(row.get(0).asInt(), tok.prefixIds()[0]);
        for (int j = 0; j < ids.length; j++) {
          assertEquals(row.get(j + 1).asInt(), ids[j], "token " + j + " of text " + i);
        }
      }
    }
    // F16 base-model checkpoint: bert. prefix added, classifier newly initialised, like
    // transformers
    Checkpoints.Weights w = Checkpoints.read(bge, List.of("O", "B-PER", "I-PER"), 0);
    assertEquals(List.of("classifier.weight", "classifier.bias"), w.report().newlyInitialized());
    assertEquals(List.of(), w.report().unused());
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(w, manager, DataType.FLOAT32);
      int b = inputs.path("input_ids").size();
      int l = inputs.path("input_ids").get(0).size();
      Shape shape = new Shape(b, l);
      NDArray hidden;
      try (Autograd.Scope off = Autograd.paused()) {
        hidden =
            model.encode(
                manager.create(longs(inputs.path("input_ids")), shape),
                manager.create(longs(inputs.path("attention_mask")), shape),
                null,
                false);
      }
      int h = model.config().hiddenSize;
      int positions = expected.path("positions").asInt();
      float[] all = hidden.toFloatArray();
      double worst = 0;
      for (int i = 0; i < b; i++) {
        float[] mine = new float[positions * h];
        System.arraycopy(all, i * l * h, mine, 0, positions * h);
        worst = Math.max(worst, maxAbsDiff(mine, floats(expected.path("hidden").get(i))));
      }
      System.out.printf(
          "bge-small-zh hidden states vs PyTorch reference: max abs diff %.3g%n", worst);
      assertTrue(worst <= 1e-4, "bge hidden states differ by " + worst);
    }
  }
}
