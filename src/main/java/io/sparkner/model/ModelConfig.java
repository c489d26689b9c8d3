package io.sparkner.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A Hugging Face {@code config.json} for BERT, RoBERTa and XLM-RoBERTa, as far as the encoder and
 * the token-classification head need it. Keeps the original JSON so that a saved checkpoint
 * carries every field it came with, plus {@code id2label}/{@code label2id}/{@code architectures}.
 */
public final class ModelConfig implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  public final String modelType;
  public final int vocabSize;
  public final int hiddenSize;
  public final int numHiddenLayers;
  public final int numAttentionHeads;
  public final int intermediateSize;
  public final int maxPositionEmbeddings;
  public final int typeVocabSize;
  public final double layerNormEps;
  public final int padTokenId;
  public final double hiddenDropout;
  public final double attentionDropout;
  public final double classifierDropout;
  public final double initializerRange;
  public final List<String> labels;
  private final String json;

  private ModelConfig(ObjectNode root, String source) {
    modelType = root.path("model_type").asText("bert").toLowerCase(Locale.ROOT);
    if (!isBert() && !isRoberta()) {
      throw new IllegalArgumentException(
          source + ": model_type '" + modelType + "' is not bert, roberta or xlm-roberta");
    }
    vocabSize = required(root, "vocab_size", source);
    hiddenSize = required(root, "hidden_size", source);
    numHiddenLayers = required(root, "num_hidden_layers", source);
    numAttentionHeads = required(root, "num_attention_heads", source);
    intermediateSize = required(root, "intermediate_size", source);
    maxPositionEmbeddings = required(root, "max_position_embeddings", source);
    typeVocabSize = root.path("type_vocab_size").asInt(isRoberta() ? 1 : 2);
    layerNormEps = root.path("layer_norm_eps").asDouble(1e-12);
    padTokenId = root.path("pad_token_id").asInt(isRoberta() ? 1 : 0);
    hiddenDropout = root.path("hidden_dropout_prob").asDouble(0.1);
    attentionDropout = root.path("attention_probs_dropout_prob").asDouble(0.1);
    JsonNode cd = root.get("classifier_dropout");
    classifierDropout = cd == null || cd.isNull() ? hiddenDropout : cd.asDouble();
    initializerRange = root.path("initializer_range").asDouble(0.02);
    String act = root.path("hidden_act").asText("gelu");
    if (!act.equals("gelu")) {
      throw new IllegalArgumentException(
          source + ": hidden_act '" + act + "' is not supported (only gelu, the erf form)");
    }
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          source + ": hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
    }
    String pe = root.path("position_embedding_type").asText("absolute");
    if (!pe.equals("absolute")) {
      throw new IllegalArgumentException(source + ": position_embedding_type '" + pe + "' is not supported");
    }
    labels = new ArrayList<>();
    JsonNode id2label = root.get("id2label");
    if (id2label != null && id2label.isObject()) {
      for (int i = 0; i < id2label.size(); i++) {
        JsonNode l = id2label.get(String.valueOf(i));
        if (l == null) {
          throw new IllegalArgumentException(source + ": id2label has no entry \"" + i + "\"");
        }
        labels.add(l.asText());
      }
    }
    try {
      json = JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static ModelConfig parse(String json, String source) {
    try {
      JsonNode n = JSON.readTree(json);
      if (!(n instanceof ObjectNode o)) {
        throw new IllegalArgumentException(source + ": config.json is not a JSON object");
      }
      return new ModelConfig(o, source);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": config.json is not valid JSON: " + e.getMessage(), e);
    }
  }

  private static int required(JsonNode root, String key, String source) {
    JsonNode n = root.get(key);
    if (n == null || !n.canConvertToInt()) {
      throw new IllegalArgumentException(source + ": config.json needs an integer \"" + key + "\"");
    }
    return n.asInt();
  }

  public boolean isBert() {
    return modelType.equals("bert");
  }

  /** RoBERTa and XLM-R: position ids start at pad_token_id + 1, one token type. */
  public boolean isRoberta() {
    return modelType.equals("roberta") || modelType.equals("xlm-roberta");
  }

  /** The parameter-name prefix of the encoder: {@code bert} or {@code roberta}. */
  public String prefix() {
    return isBert() ? "bert" : "roberta";
  }

  public String architecture() {
    return switch (modelType) {
      case "bert" -> "BertForTokenClassification";
      case "roberta" -> "RobertaForTokenClassification";
      default -> "XLMRobertaForTokenClassification";
    };
  }

  public int headDim() {
    return hiddenSize / numAttentionHeads;
  }

  public int numLabels() {
    return labels.size();
  }

  /** This config with a label list: what a fine-tuned checkpoint's config.json holds. */
  public ModelConfig withLabels(List<String> newLabels) {
    ObjectNode root = root();
    ObjectNode id2label = root.putObject("id2label");
    ObjectNode label2id = root.putObject("label2id");
    for (int i = 0; i < newLabels.size(); i++) {
      id2label.put(String.valueOf(i), newLabels.get(i));
      label2id.put(newLabels.get(i), i);
    }
    root.putArray("architectures").add(architecture());
    return new ModelConfig(root, "config");
  }

  /** This config with overridden dropout probabilities (null keeps a value). */
  public ModelConfig withDropout(Double hidden, Double attention, Double classifier) {
    ObjectNode root = root();
    if (hidden != null) {
      root.put("hidden_dropout_prob", hidden);
    }
    if (attention != null) {
      root.put("attention_probs_dropout_prob", attention);
    }
    if (classifier != null) {
      root.put("classifier_dropout", classifier);
    }
    return new ModelConfig(root, "config");
  }

  public ObjectNode root() {
    try {
      return (ObjectNode) JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String toJson() {
    try {
      ObjectNode root = root();
      root.put("torch_dtype", "float32");
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
