package io.sparkner.model;

/**
 * What a forward pass calls just before it first uses the parameters of one of the model's {@link
 * TokenClassificationModel#forwardParts() parts}, in forward order: the trainer's overlapped
 * parameter gather waits there for that part's values and writes them into the model ({@code
 * zero_optimization.overlap_comm}). Called on the thread that runs the forward.
 */
@FunctionalInterface
public interface ParameterGate {
  /** Nothing to wait for: evaluation, scoring, and training without the overlap. */
  ParameterGate OPEN = part -> {};

  /**
   * Returns once the parameters of part {@code part} (an index into {@link
   * TokenClassificationModel#forwardParts()}) hold the values the forward must use.
   */
  void before(int part);
}
