package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;

/**
 * {@code embeddings}: word + position + token type, LayerNorm, dropout. RoBERTa and XLM-R number
 * positions from {@code pad_token_id + 1} over non-padding tokens (padding keeps {@code
 * pad_token_id}), as {@code create_position_ids_from_input_ids} does; BERT from 0.
 */
public final class Embeddings extends HfBlock {
  private final ModelConfig config;
  private final Lookup word;
  private final Lookup position;
  private final Lookup tokenType;
  private final Norm norm;

  /** One embedding table: {@code weight [rows, hidden]}. */
  static final class Lookup extends HfBlock {
    final Parameter weight = parameter("weight", Parameter.Type.WEIGHT);

    NDArray lookup(NDArray ids) {
      return ids.getNDArrayInternal()
          .embedding(ids, weight.getArray(), SparseFormat.DENSE)
          .singletonOrThrow();
    }
  }

  public Embeddings(ModelConfig config) {
    this.config = config;
    word = child("word_embeddings", new Lookup());
    position = child("position_embeddings", new Lookup());
    tokenType = child("token_type_embeddings", new Lookup());
    norm = child("LayerNorm", new Norm(config.hiddenSize, config.layerNormEps));
  }

  /**
   * @param inputIds int64 [batch, length]
   * @param tokenTypeIds int64 [batch, length], or null for all zeros
   * @param dropout the step's dropout masks, {@link DropoutMasks#NONE} for evaluation
   */
  public NDArray forward(NDArray inputIds, NDArray tokenTypeIds, DropoutMasks dropout) {
    boolean training = dropout.active();
    NDManager m = inputIds.getManager();
    long length = inputIds.getShape().get(1);
    NDArray positions;
    if (config.isRoberta()) {
      NDArray notPad = inputIds.neq(config.padTokenId).toType(DataType.INT64, false);
      positions = notPad.cumSum(1).mul(notPad).add(config.padTokenId);
    } else {
      positions = m.arange(0, length, 1, DataType.INT64).expandDims(0);
    }
    NDArray types =
        tokenTypeIds != null ? tokenTypeIds : m.zeros(inputIds.getShape(), DataType.INT64);
    NDArray x = word.lookup(inputIds).add(position.lookup(positions)).add(tokenType.lookup(types));
    return dropout.hidden(
        norm.forward(x, training), config.hiddenDropout, DropoutMasks.embeddingSite());
  }
}
