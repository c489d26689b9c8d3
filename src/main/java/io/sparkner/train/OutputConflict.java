package io.sparkner.train;

/**
 * The output directory, or the checkpoint a run would resume from, does not belong to this run:
 * checkpoints of another configuration, a checkpoint without a fingerprint, or one whose tensors do
 * not fit the model. A usage error: {@code sparkner train} exits with 2 and says what differs and
 * what to pass ({@code --overwrite}, {@code --resume-from}).
 */
public final class OutputConflict extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public OutputConflict(String message) {
    super(message);
  }
}
