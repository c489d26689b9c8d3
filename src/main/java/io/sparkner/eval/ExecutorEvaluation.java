package io.sparkner.eval;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;

import ai.djl.Device;
import io.sparkner.align.Labels;
import io.sparkner.cache.VersionedCache;
import io.sparkner.eval.metrics.LabelMapping;
import io.sparkner.model.Example;
import io.sparkner.model.TaskCompute;
import io.sparkner.prepare.PreparedData;
import io.sparkner.prepare.PreparedData.GoldDocument;
import io.sparkner.storage.HadoopConf;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.TaskCompletionListener;
import scala.Tuple2;

/**
 * Evaluation on Spark's executors: the windows are predicted where they are, in exactly the batches
 * the driver would cut ({@link Evaluator#predict}: per corpus, windows sorted by length, ties in
 * (id, window) order, cut every {@code batchSize}), so that every forward pass sees the same
 * padding and shapes and the report is byte for byte the driver's.
 *
 * <ol>
 *   <li>The windows of all corpora are sorted by (corpus, length, id, window) and numbered ({@code
 *       zipWithIndex}); window {@code k} of corpus {@code c} is in that corpus' batch {@code (k -
 *       first window of c) / batchSize}.
 *   <li>Whole batches go to partitions (round robin), sorted by number within each; a task forwards
 *       them one by one with the model of its executor ({@link EvaluationModels}).
 *   <li>Each document's predicted windows meet its gold row ({@code cogroup} on the id, unique
 *       across the corpora); a task scores its documents ({@link Evaluator.Tally}, the code of the
 *       driver path) and emits one {@link Partial}: per corpus the counts and the dropped
 *       predictions, and the example candidates.
 *   <li>The driver merges the partials as they arrive ({@code reduce}): it holds counts and at most
 *       {@code examples} candidates per corpus, language and category, never the windows or the
 *       documents.
 * </ol>
 */
final class ExecutorEvaluation {
  /** The name of the RDD whose tasks forward the batches (its stage in the Spark UI). */
  static final String PREDICT = "sparkner evaluate: predict";

  private ExecutorEvaluation() {}

  /** One corpus as its documents are scored: its name in the report and its label space. */
  record Corpus(String dir, String name, Labels labels, LabelMapping mapping)
      implements Serializable {}

  /** What the driver receives: per corpus a tally and dropped predictions per type; examples. */
  static final class Partial implements Serializable {
    private static final long serialVersionUID = 1L;
    private final List<Evaluator.Tally> tallies = new ArrayList<>();
    private final List<TreeMap<String, Long>> dropped = new ArrayList<>();
    private final ExampleSampler sampler;

    Partial(int corpora, int examples) {
      for (int i = 0; i < corpora; i++) {
        tallies.add(new Evaluator.Tally());
        dropped.add(new TreeMap<>());
      }
      sampler = new ExampleSampler(examples);
    }

    List<Evaluator.Tally> tallies() {
      return tallies;
    }

    List<TreeMap<String, Long>> dropped() {
      return dropped;
    }

    ExampleSampler sampler() {
      return sampler;
    }

    Partial merge(Partial other) {
      for (int i = 0; i < tallies.size(); i++) {
        tallies.get(i).merge(other.tallies.get(i));
        TreeMap<String, Long> mine = dropped.get(i);
        other.dropped.get(i).forEach((t, n) -> mine.merge(t, n, Long::sum));
      }
      sampler.merge(other.sampler);
      return this;
    }
  }

  /**
   * Where the batches are: corpus {@code c}'s windows are numbers {@code firstWindow[c]} to {@code
   * firstWindow[c + 1] - 1} of the sorted order, its batches {@code firstBatch[c]} onwards.
   */
  record Plan(long[] firstWindow, long[] firstBatch, int batchSize) implements Serializable {
    static Plan of(long[] windows, int batchSize) {
      long[] w = new long[windows.length + 1];
      long[] b = new long[windows.length + 1];
      for (int c = 0; c < windows.length; c++) {
        w[c + 1] = w[c] + windows[c];
        b[c + 1] = b[c] + (windows[c] + batchSize - 1) / batchSize;
      }
      return new Plan(w, b, batchSize);
    }

    long batches() {
      return firstBatch[firstBatch.length - 1];
    }

    /** The batch of window number {@code k} of the sorted order. */
    long batchOf(long k) {
      int c = 0;
      while (k >= firstWindow[c + 1]) {
        c++;
      }
      return firstBatch[c] + (k - firstWindow[c]) / batchSize;
    }
  }

  /** Whole batches to partitions, round robin. */
  static final class BatchPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final Plan plan;
    private final int partitions;

    BatchPartitioner(Plan plan, int partitions) {
      this.plan = plan;
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return (int) (plan.batchOf((Long) key) % partitions);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BatchPartitioner p
          && p.partitions == partitions
          && java.util.Arrays.equals(p.plan.firstWindow(), plan.firstWindow())
          && p.plan.batchSize() == plan.batchSize();
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(plan.firstWindow()) * 31 + partitions;
    }
  }

  /** A window on its way to its batch. */
  record Pending(int corpus, Example window) implements Serializable {}

  /** A predicted window on its way to its document. */
  record Predicted(int corpus, Evaluator.WindowPrediction window) implements Serializable {}

  /** A gold document on its way to its windows. */
  record Gold(int corpus, GoldDocument document) implements Serializable {}

  /**
   * Evaluates the model at {@code model} (qualified; {@code version} as {@link
   * EvaluationModels#version} read it) on the split of every corpus; the corpora are checked.
   */
  static Partial run(
      SparkSession spark,
      String model,
      String version,
      List<Corpus> corpora,
      String split,
      int batchSize,
      int examples,
      Configuration conf) {
    Dataset<Row> windows = null;
    Dataset<Row> documents = null;
    for (int c = 0; c < corpora.size(); c++) {
      String dir = corpora.get(c).dir();
      Dataset<Row> w =
          PreparedData.windows(spark, dir, split)
              .select(
                  lit(c).as("corpus"),
                  col("id"),
                  col("window"),
                  col("input_ids"),
                  col("labels"),
                  col("offsets"),
                  size(col("input_ids")).as("length"));
      Dataset<Row> d =
          PreparedData.documents(spark, dir, split)
              .select(lit(c).as("corpus"), col("id"), col("lang"), col("text"), col("entities"));
      windows = windows == null ? w : windows.unionAll(w);
      documents = documents == null ? d : documents.unionAll(d);
    }
    long[] counts = new long[corpora.size()];
    for (Row r : windows.groupBy("corpus").count().collectAsList()) {
      counts[r.getInt(0)] = r.getLong(1);
    }
    Plan plan = Plan.of(counts, batchSize);
    int shufflePartitions = spark.sessionState().conf().numShufflePartitions();
    int partitions = (int) Math.max(1, Math.min(plan.batches(), shufflePartitions));

    JavaPairRDD<Long, Pending> numbered =
        windows
            .orderBy("corpus", "length", "id", "window")
            .javaRDD()
            .zipWithIndex()
            .mapToPair(
                t ->
                    new Tuple2<>(
                        t._2(), new Pending(t._1().getInt(0), PreparedData.example(t._1()))));
    JavaPairRDD<String, Predicted> predicted =
        numbered
            .repartitionAndSortWithinPartitions(new BatchPartitioner(plan, partitions))
            .mapPartitionsToPair(new PredictBatches(model, version, new HadoopConf(conf), plan))
            .setName(PREDICT);
    JavaPairRDD<String, Gold> gold =
        documents
            .javaRDD()
            .mapToPair(
                r ->
                    new Tuple2<>(
                        r.getString(1), new Gold(r.getInt(0), PreparedData.goldDocument(r))));
    return predicted
        .cogroup(gold, partitions)
        .mapPartitions(new ScoreDocuments(corpora, examples))
        .reduce(Partial::merge);
  }

  /** A task's batches, forwarded one at a time in number order. */
  static final class PredictBatches
      implements PairFlatMapFunction<Iterator<Tuple2<Long, Pending>>, String, Predicted> {
    private static final long serialVersionUID = 1L;
    private final String model;
    private final String version;
    private final HadoopConf conf;
    private final Plan plan;

    PredictBatches(String model, String version, HadoopConf conf, Plan plan) {
      this.model = model;
      this.version = version;
      this.conf = conf;
      this.plan = plan;
    }

    @Override
    public Iterator<Tuple2<String, Predicted>> call(Iterator<Tuple2<Long, Pending>> rows) {
      if (!rows.hasNext()) {
        return Collections.emptyIterator(); // an empty partition loads no model
      }
      Device device = TaskCompute.use("auto");
      VersionedCache.Lease<EvaluationModels.Loaded> lease =
          EvaluationModels.acquire(model, version, device, conf.get());
      TaskContext task = TaskContext.get();
      if (task != null) {
        // held until the task ends, whoever stops reading: an evicted version is closed only then
        task.addTaskCompletionListener((TaskCompletionListener) done -> lease.close());
      }
      return new Iterator<>() {
        private Tuple2<Long, Pending> head = rows.next();
        private Iterator<Tuple2<String, Predicted>> current = Collections.emptyIterator();

        @Override
        public boolean hasNext() {
          while (!current.hasNext() && head != null) {
            current = nextBatch().iterator();
          }
          if (!current.hasNext()) {
            lease.close(); // all read: the model may be closed now if a newer version replaced it
            return false;
          }
          return true;
        }

        @Override
        public Tuple2<String, Predicted> next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return current.next();
        }

        private List<Tuple2<String, Predicted>> nextBatch() {
          long batch = plan.batchOf(head._1());
          List<Pending> part = new ArrayList<>(plan.batchSize());
          while (head != null && plan.batchOf(head._1()) == batch) {
            part.add(head._2());
            head = rows.hasNext() ? rows.next() : null;
          }
          List<Example> examples = new ArrayList<>(part.size());
          part.forEach(p -> examples.add(p.window()));
          int[][] labels = Evaluator.forward(lease.get().model(), examples);
          List<Tuple2<String, Predicted>> out = new ArrayList<>(part.size());
          for (int i = 0; i < part.size(); i++) {
            Pending p = part.get(i);
            out.add(
                new Tuple2<>(
                    p.window().id(),
                    new Predicted(
                        p.corpus(), Evaluator.WindowPrediction.of(p.window(), labels[i]))));
          }
          return out;
        }
      };
    }
  }

  /** Scores a partition's documents into one {@link Partial}. */
  static final class ScoreDocuments
      implements FlatMapFunction<
          Iterator<Tuple2<String, Tuple2<Iterable<Predicted>, Iterable<Gold>>>>, Partial> {
    private static final long serialVersionUID = 1L;
    private final List<Corpus> corpora;
    private final int examples;

    ScoreDocuments(List<Corpus> corpora, int examples) {
      this.corpora = List.copyOf(corpora);
      this.examples = examples;
    }

    @Override
    public Iterator<Partial> call(
        Iterator<Tuple2<String, Tuple2<Iterable<Predicted>, Iterable<Gold>>>> documents) {
      Partial out = new Partial(corpora.size(), examples);
      while (documents.hasNext()) {
        Tuple2<String, Tuple2<Iterable<Predicted>, Iterable<Gold>>> d = documents.next();
        Iterator<Gold> gold = d._2()._2().iterator();
        if (!gold.hasNext()) {
          throw new IllegalStateException(
              "document " + d._1() + " has windows in the features table but no documents row");
        }
        Gold g = gold.next();
        if (gold.hasNext()) {
          // the driver's checks refuse this before anything is predicted
          throw new IllegalStateException("document " + d._1() + " has more than one row");
        }
        List<Evaluator.WindowPrediction> windows = new ArrayList<>();
        for (Predicted p : d._2()._1()) {
          windows.add(p.window());
        }
        windows.sort(Comparator.comparingInt(Evaluator.WindowPrediction::window));
        Corpus c = corpora.get(g.corpus());
        Evaluator.Scored s =
            out.tallies.get(g.corpus()).add(g.document(), windows, c.labels(), c.mapping());
        out.sampler.offer(g.corpus(), c.name(), s);
        TreeMap<String, Long> dropped = out.dropped.get(g.corpus());
        s.dropped().forEach(x -> dropped.merge(x.type(), 1L, Long::sum));
      }
      out.tallies.forEach(Evaluator.Tally::forgetDocumentIds);
      return List.of(out).iterator();
    }
  }
}
