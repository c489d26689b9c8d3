package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading Hugging Face checkpoints the way transformers does, and safetensors round trips. */
class CheckpointsTest {
  static final Path TINY = Path.of("src/test/resources/parity/bert");
  @TempDir Path dir;

  static Map<String, SafeTensors.Tensor> tiny() throws IOException {
    return SafeTensors.read(TINY.resolve("model.safetensors"));
  }

  static ModelConfig config() throws IOException {
    return ModelConfig.parse(Files.readString(TINY.resolve("config.json")), "tiny");
  }

  @Test
  void baseModelCheckpointGetsThePrefixPoolerIgnoredClassifierNew() throws IOException {
    Map<String, SafeTensors.Tensor> base = new LinkedHashMap<>();
    for (Map.Entry<String, SafeTensors.Tensor> e : tiny().entrySet()) {
      if (e.getKey().startsWith("bert.")) {
        base.put(e.getKey().substring("bert.".length()), e.getValue()); // BertModel names
      }
    }
    base.put(
        "pooler.dense.weight",
        new SafeTensors.Tensor(new long[] {32, 32}, new float[32 * 32], "F32"));
    base.put("pooler.dense.bias", new SafeTensors.Tensor(new long[] {32}, new float[32], "F32"));
    base.put(
        "cls.predictions.bias", new SafeTensors.Tensor(new long[] {120}, new float[120], "F32"));
    Checkpoints.Weights w = Checkpoints.map(config(), base, 7);
    assertEquals(List.of("classifier.weight", "classifier.bias"), w.report().newlyInitialized());
    assertEquals(List.of("pooler.dense.weight", "pooler.dense.bias"), w.report().ignored());
    assertEquals(List.of("cls.predictions.bias"), w.report().unused());
    assertArrayEquals(
        tiny().get("bert.encoder.layer.1.output.dense.weight").data(),
        w.tensors().get("bert.encoder.layer.1.output.dense.weight").data(),
        0f);
    // the new classifier is initialised as HF does: normal(0, 0.02) weights, zero bias
    float[] cw = w.tensors().get("classifier.weight").data();
    double sq = 0;
    for (float v : cw) {
      sq += v * v;
    }
    assertEquals(0.02, Math.sqrt(sq / cw.length), 0.006);
    for (float v : w.tensors().get("classifier.bias").data()) {
      assertEquals(0f, v);
    }
    assertTrue(w.report().describe().contains("newly initialized"));
  }

  @Test
  void anotherLabelCountReinitialisesTheClassifierAndSaysSo() throws IOException {
    ModelConfig three = config().withLabels(List.of("O", "B-X", "I-X"));
    Checkpoints.Weights w = Checkpoints.map(three, tiny(), 1);
    assertEquals(2, w.report().mismatched().size());
    assertTrue(
        w.report()
            .mismatched()
            .get(0)
            .startsWith("classifier.weight: checkpoint [5, 32], model [3, 32]"),
        w.report().mismatched().toString());
    assertArrayEquals(new long[] {3, 32}, w.tensors().get("classifier.weight").shape());
  }

  @Test
  void savedCheckpointLoadsBackBitIdentically() throws IOException {
    Checkpoints.Weights w = Checkpoints.read(TINY, null, 0);
    Checkpoints.write(w.config(), w.tensors(), Checkpoints.local(dir));
    Checkpoints.Weights back = Checkpoints.read(dir, null, 0);
    assertTrue(back.report().clean(), back.report().describe());
    for (String k : w.tensors().keySet()) {
      assertArrayEquals(w.tensors().get(k).data(), back.tensors().get(k).data(), 0f, k);
    }
    String config = Files.readString(dir.resolve("config.json"));
    assertTrue(
        config.contains("\"id2label\"")
            && config.contains("\"label2id\"")
            && config.contains("\"B-PER\""),
        config);
    assertEquals(w.config().labels, back.config().labels);
  }

  @Test
  void halfAndBfloat16TensorsAreReadAsFloat32() throws IOException {
    // F16: 1.0 = 0x3C00, -2.5 = 0xC100, 65504 = 0x7BFF, smallest subnormal 0x0001; BF16: 1.5 =
    // 0x3FC0
    String header =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 10).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h);
    buf.putShort((short) 0x3C00)
        .putShort((short) 0xC100)
        .putShort((short) 0x7BFF)
        .putShort((short) 0x0001);
    buf.putShort((short) 0x3FC0);
    Path f = dir.resolve("x.safetensors");
    try (OutputStream out = Files.newOutputStream(f)) {
      out.write(buf.array());
    }
    Map<String, SafeTensors.Tensor> t = SafeTensors.read(f);
    assertArrayEquals(new float[] {1.0f, -2.5f, 65504f, 5.9604645e-8f}, t.get("h").data(), 0f);
    assertArrayEquals(new float[] {1.5f}, t.get("b").data(), 0f);
  }

  @Test
  void aPickleOnlyCheckpointIsAClearError() throws IOException {
    Files.copy(TINY.resolve("config.json"), dir.resolve("config.json"));
    Files.writeString(dir.resolve("pytorch_model.bin"), "pickle");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Checkpoints.read(dir, null, 0));
    assertTrue(e.getMessage().contains("safe_serialization=True"), e.getMessage());
  }

  @Test
  void unsupportedConfigsAreRefusedByName() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ModelConfig.parse("{\"model_type\":\"gpt2\"}", "c.json"));
    assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ModelConfig.parse(
                    "{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":8,\"max_position_embeddings\":8,\"hidden_act\":\"relu\"}",
                    "c.json"));
    assertTrue(e.getMessage().contains("hidden_act 'relu'"), e.getMessage());
  }

  static final String SIZES =
      "\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":8,\"max_position_embeddings\":8";

  @Test
  void otherKeysOfTheHuggingFaceFileAreKeptAndTheDefaultsSaid() throws IOException {
    ModelConfig c =
        ModelConfig.parse(
            "{\"model_type\":\"xlm-roberta\","
                + SIZES
                + ",\"layer_norm_eps\":1e-05,\"bos_token_id\":0,\"some_future_key\":{\"x\":[1]},\"classifier_dropout\":null}",
            "c.json");
    assertEquals(1e-05, c.layerNormEps);
    assertEquals(1, c.padTokenId);
    assertEquals(0.1, c.classifierDropout, "the head's dropout follows hidden_dropout_prob");
    assertEquals(
        List.of(
            "hidden_act = gelu",
            "position_embedding_type = absolute",
            "type_vocab_size = 1",
            "pad_token_id = 1",
            "hidden_dropout_prob = 0.1",
            "attention_probs_dropout_prob = 0.1",
            "classifier_dropout = 0.1",
            "initializer_range = 0.02"),
        c.defaulted());
    String written = c.withLabels(List.of("O", "B-X")).toJson();
    assertTrue(
        written.contains("\"some_future_key\" : {") && written.contains("\"bos_token_id\" : 0"),
        written);
    assertEquals(List.of("O", "B-X"), ModelConfig.parse(written, "written").labels);
  }

  @Test
  void theKeysSparknerReadsAreTypeCheckedAndEveryProblemNamed() {
    // a string where an integer belongs was "needs an integer"; a string for an optional one was
    // silently the default
    assertEquals(
        "c.json: \"hidden_size\" must be an integer, got the string \"8\"",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    ModelConfig.parse(
                        "{" + SIZES.replace("\"hidden_size\":8", "\"hidden_size\":\"8\"") + "}",
                        "c.json"))
            .getMessage());
    assertEquals(
        "c.json: \"pad_token_id\" must be an integer, got the string \"zero\"",
        assertThrows(
                IllegalArgumentException.class,
                () -> ModelConfig.parse("{" + SIZES + ",\"pad_token_id\":\"zero\"}", "c.json"))
            .getMessage());
    assertEquals(
        "2 configuration errors:\n  c.json: config.json needs an integer \"num_hidden_layers\"\n"
            + "  c.json: hidden_size 8 is not a multiple of num_attention_heads 3",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    ModelConfig.parse(
                        "{"
                            + SIZES
                                .replace("\"num_hidden_layers\":1,", "")
                                .replace("\"num_attention_heads\":2", "\"num_attention_heads\":3")
                            + "}",
                        "c.json"))
            .getMessage());
  }
}
