package io.sparkner.prepare;

import io.sparkner.align.Aligner;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Counts over the aligned documents, merged across partitions; keeps a few misaligned examples. */
public final class FeatureStats implements StatsAccumulator.Stats<Aligner.Result, FeatureStats> {
  private static final long serialVersionUID = 1L;
  static final int MAX_EXAMPLES = 20;

  long documents;
  long windows;
  long tokens;
  long documentsWindowed;
  long entitiesMisaligned;
  final List<Aligner.Misaligned> examples = new ArrayList<>();

  @Override
  public FeatureStats add(Aligner.Result r) {
    documents++;
    windows += r.windows().size();
    tokens += r.tokens();
    if (r.windows().size() > 1) {
      documentsWindowed++;
    }
    entitiesMisaligned += r.misaligned().size();
    for (Aligner.Misaligned m : r.misaligned()) {
      examples.add(m);
    }
    trim();
    return this;
  }

  @Override
  public FeatureStats merge(FeatureStats o) {
    documents += o.documents;
    windows += o.windows;
    tokens += o.tokens;
    documentsWindowed += o.documentsWindowed;
    entitiesMisaligned += o.entitiesMisaligned;
    examples.addAll(o.examples);
    trim();
    return this;
  }

  @Override
  public boolean isEmpty() {
    return documents == 0;
  }

  /** Keep the examples of the smallest ids, so the summary is the same however Spark partitions. */
  private void trim() {
    if (examples.size() > MAX_EXAMPLES) {
      examples.sort(
          Comparator.comparing(Aligner.Misaligned::id).thenComparingInt(m -> m.entity().start()));
      examples.subList(MAX_EXAMPLES, examples.size()).clear();
    }
  }
}
