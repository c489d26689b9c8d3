package io.sparkner.collective;

/**
 * A blocking ring operation (join, or a collective) exceeded its timeout, its peer went away, or
 * the peer sent something this rank did not expect (a desynchronised ring). The message names this
 * rank, the peer rank and its address, the operation (e.g. "reduce-scatter of gradients"), the step
 * within the ring algorithm and the training step; the same facts are available as fields. After
 * this exception the {@link Ring} is closed.
 */
public final class CollectiveException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int rank;
  private final int peerRank;
  private final String peerAddress;
  private final String operation;
  private final int ringStep;
  private final long trainingStep;

  CollectiveException(
      String message,
      int rank,
      int peerRank,
      String peerAddress,
      String operation,
      int ringStep,
      long trainingStep,
      Throwable cause) {
    super(message, cause);
    this.rank = rank;
    this.peerRank = peerRank;
    this.peerAddress = peerAddress;
    this.operation = operation;
    this.ringStep = ringStep;
    this.trainingStep = trainingStep;
  }

  /** This rank. */
  public int rank() {
    return rank;
  }

  /** The rank this rank was talking to when it failed (-1 if none). */
  public int peerRank() {
    return peerRank;
  }

  /** The peer's "host:port" as published, or null. */
  public String peerAddress() {
    return peerAddress;
  }

  /** e.g. "reduce-scatter of gradients", "join". */
  public String operation() {
    return operation;
  }

  /** The step within the ring algorithm (0 .. n-2), or -1 outside of one (join). */
  public int ringStep() {
    return ringStep;
  }

  /** The training step the caller passed, or -1 (join). */
  public long trainingStep() {
    return trainingStep;
  }
}
