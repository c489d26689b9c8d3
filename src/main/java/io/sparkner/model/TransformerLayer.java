package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * {@code encoder.layer.N}: multi-head self-attention with residual and LayerNorm, then the
 * feed-forward (intermediate dense, erf GELU, output dense) with residual and LayerNorm — post-LN,
 * as BERT and RoBERTa.
 */
public final class TransformerLayer extends HfBlock {
  private final ModelConfig config;
  private final int index;
  private final Dense query;
  private final Dense key;
  private final Dense value;
  private final Dense attentionOut;
  private final Norm attentionNorm;
  private final Dense intermediate;
  private final Dense output;
  private final Norm outputNorm;
  private final float scale;

  /** Layer {@code index} of the encoder (it names the layer's dropout sites). */
  public TransformerLayer(ModelConfig config, int index) {
    this.config = config;
    this.index = index;
    query = child("attention.self.query", new Dense());
    key = child("attention.self.key", new Dense());
    value = child("attention.self.value", new Dense());
    attentionOut = child("attention.output.dense", new Dense());
    attentionNorm =
        child("attention.output.LayerNorm", new Norm(config.hiddenSize, config.layerNormEps));
    intermediate = child("intermediate.dense", new Dense());
    output = child("output.dense", new Dense());
    outputNorm = child("output.LayerNorm", new Norm(config.hiddenSize, config.layerNormEps));
    scale = (float) (1.0 / Math.sqrt(config.headDim()));
  }

  /**
   * @param hidden [batch, length, hidden]
   * @param additiveMask [batch, 1, 1, length]: 0 where attended, the dtype's minimum where padded;
   *     null when nothing is padded (adding zeros would change nothing)
   * @param dropout the step's dropout masks, {@link DropoutMasks#NONE} for evaluation
   */
  public NDArray forward(NDArray hidden, NDArray additiveMask, DropoutMasks dropout) {
    boolean training = dropout.active();
    long b = hidden.getShape().get(0);
    long l = hidden.getShape().get(1);
    int heads = config.numAttentionHeads;
    int d = config.headDim();
    // the scale goes on the queries [b, l, hidden], not on the scores [b, heads, l, l]: a smaller
    // product forward and backward, and the same values where the head size is a power of four
    // (the scale a power of two: 64 → 1/8)
    NDArray q =
        Scalars.times(query.forward(hidden, training), scale)
            .reshape(b, l, heads, d)
            .transpose(0, 2, 1, 3);
    NDArray k = key.forward(hidden, training).reshape(b, l, heads, d).transpose(0, 2, 3, 1);
    NDArray v = value.forward(hidden, training).reshape(b, l, heads, d).transpose(0, 2, 1, 3);
    NDArray scores = q.matMul(k);
    if (additiveMask != null) {
      scores = scores.add(additiveMask);
    }
    NDArray probs =
        dropout.attention(
            scores.softmax(-1), config.attentionDropout, DropoutMasks.attentionSite(index));
    NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, l, config.hiddenSize);
    NDArray attended =
        attentionNorm.forward(
            dropout
                .hidden(
                    attentionOut.forward(context, training),
                    config.hiddenDropout,
                    DropoutMasks.attentionOutputSite(index))
                .add(hidden),
            training);
    NDArray inner = Activation.gelu(intermediate.forward(attended, training));
    return outputNorm.forward(
        dropout
            .hidden(
                output.forward(inner, training),
                config.hiddenDropout,
                DropoutMasks.outputSite(index))
            .add(attended),
        training);
  }
}
