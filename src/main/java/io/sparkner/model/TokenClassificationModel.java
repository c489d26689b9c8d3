package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * BERT, RoBERTa or XLM-RoBERTa with a token-classification head (dropout + linear), as {@code
 * BertForTokenClassification} / {@code XLMRobertaForTokenClassification}: parameters are named
 * exactly as in their checkpoints ({@code bert.*} or {@code roberta.*}, {@code classifier.*}). With
 * {@code "crf": true} in the config, a linear-chain {@link Crf} over the logits ({@code crf.*})
 * gives the loss ({@link #lossSum}) and the decoding ({@link #decode}); without it the loss is the
 * cross-entropy and decoding the arg-max.
 *
 * <p>The parameter arrays live in the model's own {@link NDManager}; computations of a step should
 * run in a sub-manager that is closed after the step.
 */
public final class TokenClassificationModel extends HfBlock implements AutoCloseable {
  private final ModelConfig config;
  private final NDManager manager;
  private final Embeddings embeddings;
  private final List<TransformerLayer> layers = new ArrayList<>();
  private final Dense classifier;
  private final Crf crf;
  private final TagConstraints constraints; // the CRF's decoding constraints
  private final Map<String, Parameter> byName;

  public TokenClassificationModel(ModelConfig config, NDManager manager) {
    this.config = config;
    this.manager = manager;
    String p = config.prefix() + ".";
    embeddings = child(p + "embeddings", new Embeddings(config));
    for (int i = 0; i < config.numHiddenLayers; i++) {
      layers.add(child(p + "encoder.layer." + i, new TransformerLayer(config, i)));
    }
    classifier = child("classifier", new Dense());
    crf = config.crf ? child("crf", new Crf(config.numLabels())) : null;
    constraints = config.crf ? TagConstraints.forLabels(config.labels) : null;
    Map<String, Parameter> named = new LinkedHashMap<>();
    namedParameters("", named);
    byName = Collections.unmodifiableMap(named);
  }

  public ModelConfig config() {
    return config;
  }

  public NDManager manager() {
    return manager;
  }

  /** Every parameter by its Hugging Face name, in checkpoint order. */
  public Map<String, Parameter> parameters() {
    return byName;
  }

  /**
   * The model's parameters in the parts a forward pass uses them, in that order: the embeddings,
   * each encoder layer, then everything else (the classifier head), which the forward uses last.
   * Every parameter is in exactly one part; a part lists its parameters in checkpoint order.
   *
   * @param name what the part is, for messages ("embeddings", "layer 3", "head")
   * @param parameters the Hugging Face names of its parameters
   */
  public record ForwardPart(String name, List<String> parameters) {}

  /**
   * The {@link ForwardPart}s: part 0 the embeddings, part 1 + i encoder layer i, the last part the
   * rest; the forward calls its {@link ParameterGate} with each index just before it uses that
   * part.
   */
  public List<ForwardPart> forwardParts() {
    List<ForwardPart> parts = new ArrayList<>();
    String p = config.prefix() + ".";
    Set<String> seen = new HashSet<>();
    parts.add(part("embeddings", embeddings, p + "embeddings.", seen));
    for (int i = 0; i < layers.size(); i++) {
      parts.add(part("layer " + i, layers.get(i), p + "encoder.layer." + i + ".", seen));
    }
    List<String> rest = new ArrayList<>();
    for (String name : byName.keySet()) {
      if (!seen.contains(name)) {
        rest.add(name);
      }
    }
    parts.add(new ForwardPart("head", List.copyOf(rest)));
    return List.copyOf(parts);
  }

  private ForwardPart part(String name, HfBlock block, String prefix, Set<String> seen) {
    Map<String, Parameter> named = new LinkedHashMap<>();
    block.namedParameters(prefix, named);
    List<String> names = new ArrayList<>();
    for (String n : byName.keySet()) { // checkpoint order
      if (named.containsKey(n)) {
        names.add(n);
      }
    }
    if (names.size() != named.size()) {
      throw new IllegalStateException(
          "the parameters of " + name + " are not all among the model's: " + named.keySet());
    }
    seen.addAll(names);
    return new ForwardPart(name, List.copyOf(names));
  }

  /** The shape each parameter has under this config. */
  public Map<String, long[]> parameterShapes() {
    Map<String, long[]> out = new LinkedHashMap<>();
    long h = config.hiddenSize;
    String p = config.prefix() + ".";
    out.put(p + "embeddings.word_embeddings.weight", new long[] {config.vocabSize, h});
    out.put(
        p + "embeddings.position_embeddings.weight", new long[] {config.maxPositionEmbeddings, h});
    out.put(p + "embeddings.token_type_embeddings.weight", new long[] {config.typeVocabSize, h});
    out.put(p + "embeddings.LayerNorm.weight", new long[] {h});
    out.put(p + "embeddings.LayerNorm.bias", new long[] {h});
    for (int i = 0; i < config.numHiddenLayers; i++) {
      String l = p + "encoder.layer." + i + ".";
      for (String qkv :
          List.of(
              "attention.self.query",
              "attention.self.key",
              "attention.self.value",
              "attention.output.dense")) {
        out.put(l + qkv + ".weight", new long[] {h, h});
        out.put(l + qkv + ".bias", new long[] {h});
      }
      out.put(l + "attention.output.LayerNorm.weight", new long[] {h});
      out.put(l + "attention.output.LayerNorm.bias", new long[] {h});
      out.put(l + "intermediate.dense.weight", new long[] {config.intermediateSize, h});
      out.put(l + "intermediate.dense.bias", new long[] {config.intermediateSize});
      out.put(l + "output.dense.weight", new long[] {h, config.intermediateSize});
      out.put(l + "output.dense.bias", new long[] {h});
      out.put(l + "output.LayerNorm.weight", new long[] {h});
      out.put(l + "output.LayerNorm.bias", new long[] {h});
    }
    out.put("classifier.weight", new long[] {config.numLabels(), h});
    out.put("classifier.bias", new long[] {config.numLabels()});
    if (config.crf) {
      out.putAll(Crf.parameterShapes("crf.", config.numLabels()));
    }
    return out;
  }

  /**
   * The encoder's last hidden state [batch, length, hidden].
   *
   * @param inputIds int64 [batch, length]
   * @param attentionMask [batch, length], 1 for tokens, 0 for padding
   * @param tokenTypeIds int64 [batch, length], or null for all zeros
   * @param dropout the step's dropout masks, {@link DropoutMasks#NONE} for evaluation
   */
  public NDArray encode(
      NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, DropoutMasks dropout) {
    return encode(inputIds, attentionMask, tokenTypeIds, dropout, ParameterGate.OPEN);
  }

  /**
   * {@link #encode(NDArray, NDArray, NDArray, DropoutMasks)}, calling {@code gate} before the
   * embeddings (part 0) and before each layer i (part 1 + i) use their parameters.
   */
  public NDArray encode(
      NDArray inputIds,
      NDArray attentionMask,
      NDArray tokenTypeIds,
      DropoutMasks dropout,
      ParameterGate gate) {
    gate.before(0);
    NDArray h = embeddings.forward(inputIds, tokenTypeIds, dropout);
    // a batch without padding (fixed-length windows, or all of one length) needs no mask: adding
    // zeros to every layer's scores would cost a pass over [batch, heads, length, length] for
    // nothing
    NDArray additive =
        attentionMask.eq(0).any().getBoolean()
            ? additiveMask(attentionMask, h.getDataType())
            : null;
    for (int i = 0; i < layers.size(); i++) {
      gate.before(1 + i);
      h = layers.get(i).forward(h, additive, dropout);
    }
    return h;
  }

  /** The encoder's last hidden state for evaluation and prediction (no dropout). */
  public NDArray encode(
      NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
    return encode(inputIds, attentionMask, tokenTypeIds, evaluationOnly(training));
  }

  /** Token-classification logits [batch, length, labels], with the step's dropout masks. */
  public NDArray logits(
      NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, DropoutMasks dropout) {
    return logits(inputIds, attentionMask, tokenTypeIds, dropout, ParameterGate.OPEN);
  }

  /**
   * {@link #logits(NDArray, NDArray, NDArray, DropoutMasks)}, calling {@code gate} with each {@link
   * #forwardParts() part}'s index just before the forward uses that part's parameters (the head's
   * last, before the classifier).
   */
  public NDArray logits(
      NDArray inputIds,
      NDArray attentionMask,
      NDArray tokenTypeIds,
      DropoutMasks dropout,
      ParameterGate gate) {
    NDArray h = encode(inputIds, attentionMask, tokenTypeIds, dropout, gate);
    NDArray x =
        dropout.hidden(h, config.classifierDropout, DropoutMasks.classifierSite(layers.size()));
    gate.before(layers.size() + 1);
    return classifier.forward(x, dropout.active());
  }

  /**
   * Token-classification logits [batch, length, labels] for evaluation and prediction (no dropout).
   */
  public NDArray logits(
      NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
    return logits(inputIds, attentionMask, tokenTypeIds, evaluationOnly(training));
  }

  /**
   * Training draws its dropout masks from {@link DropoutMasks} keyed by step and example, never
   * from libtorch's process-global generator.
   */
  private static DropoutMasks evaluationOnly(boolean training) {
    if (training) {
      throw new IllegalArgumentException(
          "training passes DropoutMasks.of(seed, step, rows), not training=true");
    }
    return DropoutMasks.NONE;
  }

  /** (1 - mask) × the dtype's minimum, broadcast over heads and query positions, as HF does. */
  static NDArray additiveMask(NDArray attentionMask, DataType dtype) {
    float min = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
    long b = attentionMask.getShape().get(0);
    long l = attentionMask.getShape().get(1);
    return attentionMask.toType(dtype, false).neg().add(1).mul(min).reshape(b, 1, 1, l);
  }

  /** The CRF of the head, or null for the plain softmax head. */
  public Crf crf() {
    return crf;
  }

  /**
   * The batch's summed loss over its labelled positions, float32, in the autograd graph: the
   * cross-entropy of each labelled token ({@link Batch#crossEntropySum}), or with a CRF the
   * negative log-likelihood of each sequence's gold tag path over its labelled positions ({@link
   * Crf#negLogLikelihoodSum}). The trainer divides either by the global batch's labelled tokens.
   */
  public NDArray lossSum(Batch batch, NDArray logits) {
    return crf == null
        ? batch.crossEntropySum(logits)
        : crf.negLogLikelihoodSum(logits, batch.labels());
  }

  /**
   * The predicted label id of every position: with a CRF the best tag path over each sequence's
   * {@code chain} positions (Viterbi under the labels' IOB2 constraints, {@link
   * TagConstraints#forLabels}), {@link Crf#IGNORE} elsewhere; without one the arg-max at every
   * position (the chain is not needed and may be null).
   *
   * @param logits [batch, length, labels]
   * @param chain per sequence and position whether it is decoded (the positions training labels)
   */
  public int[][] decode(NDArray logits, boolean[][] chain) {
    if (crf != null) {
      return crf.decoder(constraints).decode(logits, chain);
    }
    long[] flat;
    try (NDArray argmax = logits.argMax(-1)) {
      flat = argmax.toLongArray();
    }
    int b = (int) logits.getShape().get(0);
    int l = (int) logits.getShape().get(1);
    int[][] out = new int[b][l];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < l; j++) {
        out[i][j] = (int) flat[i * l + j];
      }
    }
    return out;
  }

  /** Marks every parameter as a leaf that collects gradients (or not). */
  public void setRequiresGradient(boolean requires) {
    for (Parameter p : byName.values()) {
      p.getArray().setRequiresGradient(requires);
    }
  }

  /** The parameters' data type. */
  public DataType dataType() {
    return byName.values().iterator().next().getArray().getDataType();
  }

  /** DJL's generic entry: inputs (input_ids, attention_mask[, token_type_ids]) → (logits). */
  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray types = inputs.size() > 2 ? inputs.get(2) : null;
    return new NDList(logits(inputs.get(0), inputs.get(1), types, training));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    Shape in = inputShapes[0];
    return new Shape[] {new Shape(in.get(0), in.get(1), config.numLabels())};
  }

  @Override
  public void close() {
    manager.close();
  }
}
