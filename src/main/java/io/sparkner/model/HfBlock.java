package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DJL block whose parameters and children carry Hugging Face names, so that the model's
 * parameters map 1:1 to checkpoint keys ({@code bert.encoder.layer.0.attention.self.query.weight}).
 * Subclasses compute with typed {@code forward} methods; DJL's generic {@link #forwardInternal}
 * maps onto them for a single input.
 */
public abstract class HfBlock extends AbstractBlock {
  private final Map<String, HfBlock> named = new LinkedHashMap<>();

  protected <B extends HfBlock> B child(String hfName, B block) {
    named.put(hfName, block);
    addChildBlock(hfName.replace('.', '_'), block);
    return block;
  }

  protected Parameter parameter(String hfName, Parameter.Type type) {
    return addParameter(Parameter.builder().setName(hfName).setType(type).build());
  }

  /** All parameters below this block, by their full Hugging Face name. */
  public void namedParameters(String prefix, Map<String, Parameter> out) {
    for (Parameter p : parameters.values()) {
      out.put(prefix + p.getName(), p);
    }
    for (Map.Entry<String, HfBlock> c : named.entrySet()) {
      c.getValue().namedParameters(prefix + c.getKey() + ".", out);
    }
  }

  /** For blocks with one input and one output. */
  protected NDArray forward(NDArray x, boolean training) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " takes more than one input");
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    return new NDList(forward(inputs.singletonOrThrow(), training));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return inputShapes;
  }
}
