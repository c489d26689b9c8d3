package io.sparkner.prepare;

import io.sparkner.corpus.Document;
import io.sparkner.corpus.Entity;
import io.sparkner.corpus.Quarantined;
import io.sparkner.corpus.ReadResult;
import java.util.Map;
import java.util.TreeMap;

/** Counts over all records read, merged across partitions. */
public final class CorpusStats implements StatsAccumulator.Stats<ReadResult, CorpusStats> {
  private static final long serialVersionUID = 1L;

  long records;
  long documents;
  long entities;
  long droppedEntities;
  long iobRepairs;
  final Map<String, Long> quarantined = new TreeMap<>();
  final Map<String, Long> bySplit = new TreeMap<>();
  final Map<String, Map<String, Long>> byLang = new TreeMap<>();
  final Map<String, Long> bySource = new TreeMap<>();
  final Map<String, Long> entitiesByType = new TreeMap<>();

  @Override
  public CorpusStats add(ReadResult r) {
    records++;
    if (r instanceof Quarantined q) {
      quarantined.merge(q.reason(), 1L, Long::sum);
    } else if (r instanceof Document d) {
      documents++;
      entities += d.entities().size();
      droppedEntities += d.droppedEntities();
      iobRepairs += d.iobRepairs();
      bySplit.merge(d.split(), 1L, Long::sum);
      byLang.computeIfAbsent(d.lang(), k -> new TreeMap<>()).merge(d.split(), 1L, Long::sum);
      bySource.merge(d.source(), 1L, Long::sum);
      for (Entity e : d.entities()) {
        entitiesByType.merge(e.type(), 1L, Long::sum);
      }
    }
    return this;
  }

  @Override
  public CorpusStats merge(CorpusStats o) {
    records += o.records;
    documents += o.documents;
    entities += o.entities;
    droppedEntities += o.droppedEntities;
    iobRepairs += o.iobRepairs;
    o.quarantined.forEach((k, v) -> quarantined.merge(k, v, Long::sum));
    o.bySplit.forEach((k, v) -> bySplit.merge(k, v, Long::sum));
    o.byLang.forEach(
        (lang, m) ->
            m.forEach(
                (k, v) ->
                    byLang.computeIfAbsent(lang, x -> new TreeMap<>()).merge(k, v, Long::sum)));
    o.bySource.forEach((k, v) -> bySource.merge(k, v, Long::sum));
    o.entitiesByType.forEach((k, v) -> entitiesByType.merge(k, v, Long::sum));
    return this;
  }

  @Override
  public boolean isEmpty() {
    return records == 0;
  }

  public long quarantinedTotal() {
    return quarantined.values().stream().mapToLong(Long::longValue).sum();
  }
}
