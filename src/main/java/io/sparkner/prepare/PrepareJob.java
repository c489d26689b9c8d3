package io.sparkner.prepare;

import io.sparkner.align.AlignOptions;
import io.sparkner.align.Aligner;
import io.sparkner.align.FeatureTables;
import io.sparkner.align.Labels;
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
import io.sparkner.tokenizer.TokenizerCache;
import io.sparkner.tokenizer.TokenizerFingerprint;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.TaskCompletionListener;

/**
 * {@code sparkner prepare}: corpora → {@code documents}, {@code quarantine}, {@code features},
 * {@code labels.json}, {@code summary.json}. Reads each file in its own task, spreads the documents
 * over the cluster, aligns them with the checkpoint's tokenizer (loaded once per executor JVM), and
 * counts everything it reads: documents + quarantined = records in. Nothing is cached: executors
 * never hold the corpus, whatever its size.
 */
public final class PrepareJob {
  private PrepareJob() {}

  public static PrepareSummary run(SparkSession spark, PrepareOptions o) {
    return run(spark, o, FeatureFrames.of(spark));
  }

  /** {@link #run} with the given way of handing feature rows to Spark. */
  static PrepareSummary run(SparkSession spark, PrepareOptions o, FeatureFrames frames) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration conf = jsc.hadoopConfiguration();
    List<CorpusInput> inputs = new ArrayList<>();
    for (CorpusInput in : o.inputs()) {
      inputs.add(new CorpusInput(in.kind(), in.lang(), HadoopFiles.qualify(in.path(), conf)));
    }
    String out = HadoopFiles.qualify(o.output(), conf);
    String tokenizer = TokenizerCache.tokenizerFile(HadoopFiles.qualify(o.tokenizer(), conf), conf);
    boolean outputExisted = HadoopFiles.exists(out, conf);
    if (!o.overwrite() && outputExisted) {
      throw new IllegalArgumentException(
          "output " + out + " exists; choose another --output or pass --overwrite");
    }
    // validate windowing before any Spark work: a bad --max-length/--stride fails here, on the
    // driver
    try (var lease = TokenizerCache.acquire(tokenizer, conf)) {
      new Aligner(lease.get(), new Labels(o.scheme(), List.of()), o.align());
    }

    try {
      return write(spark, jsc, o, inputs, out, tokenizer, frames, t0);
    } catch (RuntimeException | Error e) {
      if (!outputExisted) {
        // a failed run (a bad record with --fail-fast, a broken file) leaves no half output
        // behind that the next run would refuse to overwrite
        try {
          HadoopFiles.delete(out, conf);
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    } finally {
      spark.sparkContext().setJobDescription(null);
    }
  }

  /**
   * Three Spark jobs: read, validate and write {@code documents} (counting every record on the
   * way); write {@code quarantine}; read {@code documents} back, align and write {@code features}
   * (with {@code --fail-fast}, a first job reads and validates only). The corpus is never cached:
   * the features job reads the table the first job wrote. Only when there are quarantined records
   * are the inputs read a second time, to write them; their count must then match the first read's
   * (an input changed in between is an error, not a silent gap).
   */
  private static PrepareSummary write(
      SparkSession spark,
      JavaSparkContext jsc,
      PrepareOptions o,
      List<CorpusInput> inputs,
      String out,
      String tokenizer,
      FeatureFrames frames,
      long t0) {
    Configuration conf = jsc.hadoopConfiguration();
    // every task aligns with the tokenizer.json of now: one rewritten meanwhile fails the job,
    // saying so
    String tokenizerVersion = TokenizerCache.version(tokenizer, conf);
    int parallelism = Math.max(jsc.defaultParallelism(), 1);
    JavaRDD<ReadResult> read = CorpusReaders.read(jsc, inputs, o.read());
    if (o.read().failFast()) {
      // --fail-fast stops at the first bad record before anything is written (or overwritten)
      spark.sparkContext().setJobDescription("prepare: validate corpora (--fail-fast)");
      try {
        read.count();
      } catch (Exception e) { // Scala declares no checked exceptions: SparkException arrives here
        throw unwrapBadRecord(e);
      }
    }
    // summary.json is written last and marks a complete output: never leave an old one next to
    // tables this run is about to replace
    HadoopFiles.delete(out + "/summary.json", conf);
    if (read.getNumPartitions() < parallelism) {
      // fewer files than cores: spread the records so every core writes and later aligns
      read = read.repartition(parallelism);
    }
    StatsAccumulator<ReadResult, CorpusStats> corpusStats =
        new StatsAccumulator<>(CorpusStats::new);
    spark.sparkContext().register(corpusStats, "prepare: corpus statistics");
    // every record is counted in the write's own stage (after any repartition), where Spark
    // applies accumulator updates once
    JavaRDD<Row> documentRows =
        read.filter(
                r -> {
                  corpusStats.add(r);
                  return r instanceof Document;
                })
            .map(r -> CorpusTables.toRow((Document) r));
    spark.sparkContext().setJobDescription("prepare: read, validate and write documents");
    try {
      spark
          .createDataFrame(documentRows, CorpusTables.DOCUMENTS)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(out + "/documents");
    } catch (Exception e) { // Scala declares no checked exceptions: SparkException arrives here
      throw unwrapBadRecord(e);
    }
    CorpusStats corpus = corpusStats.value();
    Labels labels = new Labels(o.scheme(), labelTypes(inputs, o, corpus));

    spark.sparkContext().setJobDescription("prepare: write quarantine");
    writeQuarantine(spark, jsc, inputs, o, out, corpus.quarantinedTotal());

    HadoopConf hc = new HadoopConf(conf);
    var align = o.align();
    StatsAccumulator<Aligner.Result, FeatureStats> featureStats =
        new StatsAccumulator<>(FeatureStats::new);
    spark.sparkContext().register(featureStats, "prepare: feature statistics");
    JavaRDD<Row> documents =
        spark
            .read()
            .schema(CorpusTables.DOCUMENTS)
            .parquet(out + "/documents")
            .select("id", "text", "entities")
            .javaRDD();
    spark.sparkContext().setJobDescription("prepare: align and write features");
    Dataset<Row> featureFrame =
        frames.catalyst()
            ? frames.fromInternal(
                spark,
                featureRows(
                    documents,
                    tokenizer,
                    tokenizerVersion,
                    hc,
                    labels,
                    align,
                    featureStats,
                    FeatureTables::toInternalRow),
                FeatureTables.FEATURES)
            : FeatureFrames.fromRows(
                spark,
                featureRows(
                    documents,
                    tokenizer,
                    tokenizerVersion,
                    hc,
                    labels,
                    align,
                    featureStats,
                    FeatureTables::toRow),
                FeatureTables.FEATURES);
    featureFrame.write().mode(SaveMode.Overwrite).parquet(out + "/features");
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
  }

  /**
   * The {@code quarantine} table: empty (schema only) when the first read quarantined nothing, else
   * the inputs' quarantined records, read again and checked against the first read's count.
   */
  static void writeQuarantine(
      SparkSession spark,
      JavaSparkContext jsc,
      List<CorpusInput> inputs,
      PrepareOptions o,
      String out,
      long expected) {
    if (expected == 0) {
      spark
          .createDataFrame(List.<Row>of(), CorpusTables.QUARANTINE)
          .write()
          .mode(SaveMode.Overwrite)
          .parquet(out + "/quarantine");
      return;
    }
    LongAccumulator written = spark.sparkContext().longAccumulator("prepare: quarantined written");
    JavaRDD<Row> rows =
        CorpusReaders.read(jsc, inputs, o.read())
            .filter(r -> r instanceof Quarantined)
            .map(
                r -> {
                  written.add(1);
                  return CorpusTables.toRow((Quarantined) r);
                });
    spark
        .createDataFrame(rows, CorpusTables.QUARANTINE)
        .coalesce(1)
        .write()
        .mode(SaveMode.Overwrite)
        .parquet(out + "/quarantine");
    if (written.value() != expected) {
      throw new IllegalStateException(
          "the inputs changed while prepare ran: the first read quarantined "
              + expected
              + " records, the second "
              + written.value()
              + "; run prepare again on inputs that do not change");
    }
  }

  /** A partition's documents rows → its windows as feature rows, counting as it goes. */
  /** A window as a row of {@link FeatureTables#FEATURES}: a Catalyst row or an external one. */
  interface WindowEncoder<T> extends Serializable {
    T encode(String id, Aligner.Window w);
  }

  /** The features of the documents, aligned with the tokenizer once per executor JVM. */
  private static <T> JavaRDD<T> featureRows(
      JavaRDD<Row> documents,
      String tokenizer,
      String tokenizerVersion,
      HadoopConf hc,
      Labels labels,
      AlignOptions align,
      StatsAccumulator<Aligner.Result, FeatureStats> featureStats,
      WindowEncoder<T> encoder) {
    return documents.mapPartitions(
        (Iterator<Row> it) -> {
          var lease = TokenizerCache.acquire(tokenizer, tokenizerVersion, hc.get());
          // held until the task ends: a rewritten tokenizer.json closes this one only then
          TaskContext.get()
              .addTaskCompletionListener((TaskCompletionListener) done -> lease.close());
          Aligner aligner = new Aligner(lease.get(), labels, align);
          return new WindowRows<>(it, aligner, featureStats, encoder);
        });
  }

  private static final class WindowRows<T> implements Iterator<T> {
    private final Iterator<Row> documents;
    private final Aligner aligner;
    private final StatsAccumulator<Aligner.Result, FeatureStats> stats;
    private final WindowEncoder<T> encoder;
    private final List<T> pending = new ArrayList<>();
    private int at;

    WindowRows(
        Iterator<Row> documents,
        Aligner aligner,
        StatsAccumulator<Aligner.Result, FeatureStats> stats,
        WindowEncoder<T> encoder) {
      this.documents = documents;
      this.aligner = aligner;
      this.stats = stats;
      this.encoder = encoder;
    }

    @Override
    public boolean hasNext() {
      while (at == pending.size() && documents.hasNext()) {
        Row d = documents.next();
        String id = d.getString(0);
        Aligner.Result r = aligner.align(id, d.getString(1), CorpusTables.entities(d));
        stats.add(r);
        pending.clear();
        at = 0;
        for (Aligner.Window w : r.windows()) {
          pending.add(encoder.encode(id, w));
        }
      }
      return at < pending.size();
    }

    @Override
    public T next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return pending.get(at++);
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

  /**
   * With --fail-fast, Spark wraps the reader's exception: show the user the record, not the stage.
   */
  private static RuntimeException unwrapBadRecord(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BadRecordException b) {
        return b;
      }
    }
    return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
  }
}
