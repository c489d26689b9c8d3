package io.sparkner.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.config.ConfigFormat;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.Validated;
import java.io.IOException;
import java.io.Serializable;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Hugging Face {@code config.json} for BERT, RoBERTa and XLM-RoBERTa, as far as the encoder and
 * the token-classification head need it. Keeps the original JSON so that a saved checkpoint carries
 * every field it came with, plus {@code id2label}/{@code label2id}/{@code architectures}.
 *
 * <p>The file is Hugging Face's, not sparkner's: the keys sparkner does not use ({@code
 * architectures}, {@code bos_token_id}, {@code torch_dtype}, a newer version's keys) are kept and
 * written back, never refused. The keys it does use are read by {@link ConfigReader}: a wrong type
 * names the key ({@code "hidden_size" must be an integer, got the string "384"}), and every problem
 * is reported at once. The six sizes ({@code vocab_size}, {@code hidden_size}, {@code
 * num_hidden_layers}, {@code num_attention_heads}, {@code intermediate_size}, {@code
 * max_position_embeddings}) are required: they are the shapes of the weights, and a guessed shape
 * would only fail later against the tensors. Any other key, when absent, takes the default of
 * Hugging Face's configuration class for the model type, as {@code from_pretrained} would; {@link
 * #defaulted()} lists the ones that applied:
 *
 * <ul>
 *   <li>{@code model_type} bert (as {@code BertConfig});
 *   <li>{@code hidden_act} gelu, {@code position_embedding_type} absolute (the only ones
 *       supported);
 *   <li>{@code layer_norm_eps} 1e-12, {@code hidden_dropout_prob} and {@code
 *       attention_probs_dropout_prob} 0.1, {@code initializer_range} 0.02;
 *   <li>{@code classifier_dropout}: {@code hidden_dropout_prob}, as the token-classification head;
 *   <li>{@code pad_token_id} 0 for BERT, 1 for RoBERTa and XLM-R;
 *   <li>{@code type_vocab_size} 2 for BERT, and 1 for RoBERTa and XLM-R: the one default that is
 *       not Hugging Face's (its classes say 2), but what every published RoBERTa and XLM-R
 *       checkpoint has.
 * </ul>
 *
 * <p>Two keys are sparkner's own, written by {@code train} into the fine-tuned checkpoint (Hugging
 * Face keeps unknown keys as attributes and ignores them otherwise):
 *
 * <ul>
 *   <li>{@code crf}: true when the head has a linear-chain CRF over the logits ({@link Crf}, its
 *       parameters {@code crf.*}); absent or false for the plain softmax head;
 *   <li>{@code label_all_subwords}: how the training windows were labelled (every subword, or only
 *       the first of each word), so scoring decodes the same positions; absent in checkpoints from
 *       elsewhere, read as true.
 * </ul>
 */
public final class ModelConfig implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConfigReader<Keys> READER =
      ConfigReader.of(Keys.class).allowUnknownKeys().strictIntegers();

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

  /** Whether the head has a linear-chain CRF ({@code "crf": true}). */
  public final boolean crf;

  /**
   * Whether training labelled every subword ({@code "label_all_subwords"}), or only each word's
   * first; null when the checkpoint does not say.
   */
  public final Boolean labelAllSubwords;

  private final List<String> defaulted;
  private final String json;

  /** The keys sparkner reads, null when absent. */
  private static final class Keys implements Validated {
    private String modelType;
    private Integer vocabSize;
    private Integer hiddenSize;
    private Integer numHiddenLayers;
    private Integer numAttentionHeads;
    private Integer intermediateSize;
    private Integer maxPositionEmbeddings;
    private Integer typeVocabSize;
    private Double layerNormEps;
    private Integer padTokenId;
    private Double hiddenDropoutProb;
    private Double attentionProbsDropoutProb;
    private Double classifierDropout;
    private Double initializerRange;
    private String hiddenAct;
    private String positionEmbeddingType;
    private Map<String, String> id2label;
    private Boolean crf;
    private Boolean labelAllSubwords;

    String type() {
      return modelType == null ? "bert" : modelType.toLowerCase(Locale.ROOT);
    }

    @Override
    public void validate(List<String> problems) {
      if (!List.of("bert", "roberta", "xlm-roberta").contains(type())) {
        problems.add("model_type '" + modelType + "' is not bert, roberta or xlm-roberta");
        return; // the other keys are another architecture's
      }
      Object[][] sizes = {
        {"vocab_size", vocabSize},
        {"hidden_size", hiddenSize},
        {"num_hidden_layers", numHiddenLayers},
        {"num_attention_heads", numAttentionHeads},
        {"intermediate_size", intermediateSize},
        {"max_position_embeddings", maxPositionEmbeddings}
      };
      for (Object[] size : sizes) {
        if (size[1] == null) {
          problems.add("config.json needs an integer \"" + size[0] + "\"");
        } else if ((Integer) size[1] < 1) {
          problems.add("\"" + size[0] + "\" must be at least 1 (got " + size[1] + ")");
        }
      }
      if (hiddenAct != null && !hiddenAct.equals("gelu")) {
        problems.add("hidden_act '" + hiddenAct + "' is not supported (only gelu, the erf form)");
      }
      if (hiddenSize != null
          && numAttentionHeads != null
          && numAttentionHeads > 0
          && hiddenSize % numAttentionHeads != 0) {
        problems.add(
            "hidden_size "
                + hiddenSize
                + " is not a multiple of num_attention_heads "
                + numAttentionHeads);
      }
      if (positionEmbeddingType != null && !positionEmbeddingType.equals("absolute")) {
        problems.add("position_embedding_type '" + positionEmbeddingType + "' is not supported");
      }
      for (int i = 0; id2label != null && i < id2label.size(); i++) {
        if (id2label.get(String.valueOf(i)) == null) {
          problems.add("id2label has no entry \"" + i + "\"");
        }
      }
    }
  }

  private ModelConfig(JsonNode root, String source) {
    Keys k = READER.bind(root, source).value();
    List<String> d = new ArrayList<>();
    modelType = k.type();
    or(k.modelType, "bert", "model_type", d);
    or(k.hiddenAct, "gelu", "hidden_act", d);
    or(k.positionEmbeddingType, "absolute", "position_embedding_type", d);
    vocabSize = k.vocabSize;
    hiddenSize = k.hiddenSize;
    numHiddenLayers = k.numHiddenLayers;
    numAttentionHeads = k.numAttentionHeads;
    intermediateSize = k.intermediateSize;
    maxPositionEmbeddings = k.maxPositionEmbeddings;
    typeVocabSize = or(k.typeVocabSize, isRoberta() ? 1 : 2, "type_vocab_size", d);
    layerNormEps = or(k.layerNormEps, 1e-12, "layer_norm_eps", d);
    padTokenId = or(k.padTokenId, isRoberta() ? 1 : 0, "pad_token_id", d);
    hiddenDropout = or(k.hiddenDropoutProb, 0.1, "hidden_dropout_prob", d);
    attentionDropout = or(k.attentionProbsDropoutProb, 0.1, "attention_probs_dropout_prob", d);
    classifierDropout = or(k.classifierDropout, hiddenDropout, "classifier_dropout", d);
    initializerRange = or(k.initializerRange, 0.02, "initializer_range", d);
    List<String> l = new ArrayList<>();
    for (int i = 0; k.id2label != null && i < k.id2label.size(); i++) {
      l.add(k.id2label.get(String.valueOf(i)));
    }
    labels = List.copyOf(l);
    crf = Boolean.TRUE.equals(k.crf);
    labelAllSubwords = k.labelAllSubwords;
    defaulted = List.copyOf(d);
    try {
      json = JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static <V> V or(V given, V dflt, String key, List<String> defaulted) {
    if (given != null) {
      return given;
    }
    defaulted.add(key + " = " + dflt);
    return dflt;
  }

  /** Reads a config.json's text (always JSON); {@code source} names it in errors. */
  public static ModelConfig parse(String json, String source) {
    return new ModelConfig(
        ConfigReader.readTree(new StringReader(json), source, ConfigFormat.JSON), source);
  }

  /**
   * The keys the file did not give, each with the default that applied ({@code "layer_norm_eps =
   * 1.0E-12"}).
   */
  public List<String> defaulted() {
    return defaulted;
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

  /** This config with a CRF head ({@code "crf": true}) or the plain softmax head (no key). */
  public ModelConfig withCrf(boolean withCrf) {
    ObjectNode root = root();
    if (withCrf) {
      root.put("crf", true);
    } else {
      root.remove("crf");
    }
    return new ModelConfig(root, "config");
  }

  /** This config recording how the training windows were labelled. */
  public ModelConfig withLabelAllSubwords(boolean all) {
    ObjectNode root = root();
    root.put("label_all_subwords", all);
    return new ModelConfig(root, "config");
  }

  /**
   * Whether prediction decodes every subword that covers text (true, also when the checkpoint does
   * not say), or only each word's first subword, as the model was trained.
   */
  public boolean decodesAllSubwords() {
    return labelAllSubwords == null || labelAllSubwords;
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
