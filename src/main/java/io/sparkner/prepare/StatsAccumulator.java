package io.sparkner.prepare;

import java.io.Serializable;
import java.util.function.Supplier;
import org.apache.spark.util.AccumulatorV2;

/**
 * Collects statistics ({@link CorpusStats}, {@link FeatureStats}) while a Spark job writes, so
 * nothing has to be kept or read a second time to count it. Added to in a write's own (result)
 * stage, where Spark applies a task's updates once, so the counts are exact even when tasks are
 * retried.
 *
 * @param <I> what is counted (a record read, a document aligned)
 * @param <S> the statistics
 */
public final class StatsAccumulator<I, S extends StatsAccumulator.Stats<I, S>>
    extends AccumulatorV2<I, S> {
  private static final long serialVersionUID = 1L;

  /** Statistics that count items and merge across partitions. */
  public interface Stats<I, S> extends Serializable {
    S add(I item);

    S merge(S other);

    boolean isEmpty();
  }

  /** Makes empty statistics, on whichever JVM the accumulator is copied to. */
  public interface Empty<S> extends Supplier<S>, Serializable {}

  private final Empty<S> empty;
  private S stats;

  public StatsAccumulator(Empty<S> empty) {
    this.empty = empty;
    this.stats = empty.get();
  }

  @Override
  public boolean isZero() {
    return stats.isEmpty();
  }

  @Override
  public AccumulatorV2<I, S> copy() {
    StatsAccumulator<I, S> c = new StatsAccumulator<>(empty);
    c.stats.merge(stats);
    return c;
  }

  @Override
  public void reset() {
    stats = empty.get();
  }

  @Override
  public void add(I item) {
    stats.add(item);
  }

  @Override
  public void merge(AccumulatorV2<I, S> other) {
    stats.merge(other.value());
  }

  @Override
  public S value() {
    return stats;
  }
}
