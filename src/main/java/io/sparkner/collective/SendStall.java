package io.sparkner.collective;

import java.io.Serializable;
import java.time.Duration;

/**
 * A fault a ring can be told to simulate ({@link Ring#simulate}), for tests and demos of failure
 * handling: after sending {@code afterFrames} frames, the rank's sender stops for {@code duration},
 * once, as a hung process whose sockets stay open does. Closing the ring ends the stall.
 *
 * @param afterFrames frames (collective pieces and heartbeats) sent normally before the stall
 * @param duration how long the sender stops
 */
public record SendStall(long afterFrames, Duration duration) implements Serializable {
  private static final long serialVersionUID = 1L;

  public SendStall {
    if (afterFrames < 0) {
      throw new IllegalArgumentException("afterFrames must be at least 0, got " + afterFrames);
    }
    if (duration == null || duration.isNegative()) {
      throw new IllegalArgumentException(
          "duration must be a non-negative duration, got " + duration);
    }
  }
}
