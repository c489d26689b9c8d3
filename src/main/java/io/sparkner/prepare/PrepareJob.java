package io.sparkner.prepare;

import io.sparkner.align.Aligner;
import io.sparkner.align.FeatureTables;
import io.sparkner.align.Labels;
import io.sparkner.align.TokenizerCache;
import io.sparkner.align.TokenizerFingerprint;
import io.sparkner.corpus.BadRecordException;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.CorpusReaders;
import io.sparkner.corpus.CorpusTables;
import io.sparkner.corpus.Document;
import io.sparkner.corpus.Quarantined;
import io.sparkner.corpus.ReadResult;
import io.sparkner.corpus.TypeMap;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * {@code sparkner prepare}: corpora → {@code documents}, {@code quarantine}, {@code features},
 * {@code labels.json}, {@code summary.json}. Reads each file in its own task, spreads the
 * documents over the cluster, aligns them with the checkpoint's tokenizer (loaded once per
 * executor JVM), and counts everything it reads: documents + quarantined = records in.
 */
public final class PrepareJob {
  private PrepareJob() {}

  public static PrepareSummary run(SparkSession spark, PrepareOptions o) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    List<CorpusInput> inputs = new ArrayList<>();
    for (CorpusInput in : o.inputs()) {
      inputs.add(new CorpusInput(in.kind(), in.lang(), HadoopFiles.qualify(in.path(), conf)));
    }
    String out = HadoopFiles.qualify(o.output(), conf);
    String tokenizer = TokenizerCache.tokenizerFile(HadoopFiles.qualify(o.tokenizer(), conf), conf);
    if (!o.overwrite() && HadoopFiles.exists(out, conf)) {
      throw new IllegalArgumentException(
          "output " + out + " exists; choose another --output or pass --overwrite");
    }
    // validate windowing before any Spark work: a bad --max-length/--stride fails here, on the driver
    new Aligner(TokenizerCache.get(tokenizer, conf), new Labels(o.scheme(), List.of()), o.align());

    int parallelism = Math.max(jsc.defaultParallelism(), 1);
    JavaRDD<ReadResult> read = CorpusReaders.read(jsc, inputs, o.read());
    if (read.getNumPartitions() < parallelism) {
      // fewer files than cores: spread the records so alignment uses every core
      read = read.repartition(parallelism);
    }
    JavaRDD<ReadResult> parsed = read.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      spark.sparkContext().setJobDescription("prepare: read and validate corpora");
      CorpusStats corpus;
      try {
        corpus = parsed.treeAggregate(new CorpusStats(), CorpusStats::add, CorpusStats::merge);
      } catch (Exception e) { // Scala declares no checked exceptions: SparkException arrives here
        throw unwrapBadRecord(e);
      }
      Labels labels = new Labels(o.scheme(), labelTypes(inputs, o, corpus));

      JavaRDD<Document> documents = parsed.filter(r -> r instanceof Document).map(r -> (Document) r);
      spark.sparkContext().setJobDescription("prepare: write documents");
      spark
          .createDataFrame(documents.map(CorpusTables::toRow), CorpusTables.DOCUMENTS)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(out + "/documents");
      spark.sparkContext().setJobDescription("prepare: write quarantine");
      spark
          .createDataFrame(
              parsed
                  .filter(r -> r instanceof Quarantined)
                  .map(r -> CorpusTables.toRow((Quarantined) r)),
              CorpusTables.QUARANTINE)
          .coalesce(1)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(out + "/quarantine");

      HadoopConf hc = new HadoopConf(conf);
      var align = o.align();
      FeatureStatsAccumulator featureStats = new FeatureStatsAccumulator();
      spark.sparkContext().register(featureStats, "prepare: feature statistics");
      JavaRDD<InternalRow> featureRows =
          documents.mapPartitions(
              (Iterator<Document> it) -> {
                Aligner aligner = new Aligner(TokenizerCache.get(tokenizer, hc.get()), labels, align);
                return new Iterator<InternalRow>() {
                  private final List<InternalRow> pending = new ArrayList<>();
                  private int at;

                  @Override
                  public boolean hasNext() {
                    while (at == pending.size() && it.hasNext()) {
                      Document d = it.next();
                      Aligner.Result r = aligner.align(d.id(), d.text(), d.entities());
                      featureStats.add(r);
                      pending.clear();
                      at = 0;
                      for (Aligner.Window w : r.windows()) {
                        pending.add(FeatureTables.toInternalRow(d.id(), w));
                      }
                    }
                    return at < pending.size();
                  }

                  @Override
                  public InternalRow next() {
                    if (!hasNext()) {
                      throw new java.util.NoSuchElementException();
                    }
                    return pending.get(at++);
                  }
                };
              });
      spark.sparkContext().setJobDescription("prepare: align and write features");
      // Spark's own entry point for Catalyst rows (private[sql] in Scala, public in bytecode): the
      // public createDataFrame would convert external Rows field by field, boxing every token
      spark
          .internalCreateDataFrame(featureRows.rdd(), FeatureTables.FEATURES, false)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(out + "/features");
      FeatureStats features = featureStats.value();

      HadoopFiles.writeString(out + "/labels.json", labels.toJson(), conf);
      PrepareOptions resolved =
          new PrepareOptions(inputs, tokenizer, out, o.read(), o.scheme(), o.align(), o.overwrite());
      PrepareSummary summary =
          new PrepareSummary(
              resolved,
              corpus,
              features,
              labels,
              TokenizerFingerprint.of(HadoopFiles.readString(tokenizer, conf), tokenizer),
              (System.nanoTime() - t0) / 1e9);
      HadoopFiles.writeString(out + "/summary.json", summary.toJson(), conf);
      return summary;
    } finally {
      parsed.unpersist(false);
      spark.sparkContext().setJobDescription(null);
    }
  }

  /**
   * The entity types of the label list: what the inputs' formats declare (so a sample that lacks a
   * type still gets its label), plus what the records used; exactly {@code --types} when given.
   */
  static Set<String> labelTypes(List<CorpusInput> inputs, PrepareOptions o, CorpusStats corpus) {
    TypeMap tm = o.read().typeMap();
    if (tm.allowedTypes() != null) {
      return tm.allowedTypes();
    }
    Set<String> types = new TreeSet<>(corpus.entitiesByType.keySet());
    for (CorpusInput in : inputs) {
      if (in.kind().equals("stockmark")) {
        types.addAll(tm.mapAll(TypeMap.STOCKMARK.values()));
      } else if (in.kind().equals("panx")) {
        types.addAll(tm.mapAll(TypeMap.PANX.values()));
      }
    }
    return types;
  }

  /** With --fail-fast, Spark wraps the reader's exception: show the user the record, not the stage. */
  private static RuntimeException unwrapBadRecord(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BadRecordException b) {
        return b;
      }
    }
    return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
  }
}
