package io.sparkner.prepare;

import io.sparkner.align.Aligner;
import org.apache.spark.util.AccumulatorV2;

/**
 * Collects {@link FeatureStats} while the features are written, so the aligned documents need
 * neither be kept nor read a second time. Spark applies a result task's updates once, so the
 * counts are exact even when tasks are retried.
 */
public final class FeatureStatsAccumulator extends AccumulatorV2<Aligner.Result, FeatureStats> {
  private static final long serialVersionUID = 1L;

  private FeatureStats stats = new FeatureStats();

  @Override
  public boolean isZero() {
    return stats.documents == 0;
  }

  @Override
  public AccumulatorV2<Aligner.Result, FeatureStats> copy() {
    FeatureStatsAccumulator c = new FeatureStatsAccumulator();
    c.stats = new FeatureStats().merge(stats);
    return c;
  }

  @Override
  public void reset() {
    stats = new FeatureStats();
  }

  @Override
  public void add(Aligner.Result r) {
    stats.add(r);
  }

  @Override
  public void merge(AccumulatorV2<Aligner.Result, FeatureStats> other) {
    stats.merge(other.value());
  }

  @Override
  public FeatureStats value() {
    return stats;
  }
}
