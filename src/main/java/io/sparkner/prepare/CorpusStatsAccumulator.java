package io.sparkner.prepare;

import io.sparkner.corpus.ReadResult;
import org.apache.spark.util.AccumulatorV2;

/**
 * Collects {@link CorpusStats} while the documents are written, so the corpus is read once and
 * never cached. Added to in the write's own (result) stage, where Spark applies a task's updates
 * once, so the counts are exact even when tasks are retried.
 */
public final class CorpusStatsAccumulator extends AccumulatorV2<ReadResult, CorpusStats> {
  private static final long serialVersionUID = 1L;

  private CorpusStats stats = new CorpusStats();

  @Override
  public boolean isZero() {
    return stats.records == 0;
  }

  @Override
  public AccumulatorV2<ReadResult, CorpusStats> copy() {
    CorpusStatsAccumulator c = new CorpusStatsAccumulator();
    c.stats = new CorpusStats().merge(stats);
    return c;
  }

  @Override
  public void reset() {
    stats = new CorpusStats();
  }

  @Override
  public void add(ReadResult r) {
    stats.add(r);
  }

  @Override
  public void merge(AccumulatorV2<ReadResult, CorpusStats> other) {
    stats.merge(other.value());
  }

  @Override
  public CorpusStats value() {
    return stats;
  }
}
