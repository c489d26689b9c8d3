package io.sparkner.train;

import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import scala.Tuple2;

/**
 * How the training and validation windows reach the ranks without passing through the driver.
 *
 * <p>The driver plans from a few bytes per window: one Spark job sorts the {@code features} rows of
 * the train split by (id, window), as the whole list was sorted before, numbers them, and sends the
 * driver each window's length, labelled-token count and digest ({@link WindowPlan}). From the plan
 * the driver computes every epoch's order exactly as the ranks do ({@link Trainer#order}); then a
 * Spark shuffle routes each window to the rank that trains it in each epoch it is trained in (its
 * round-robin share of its global batch, {@link DataOrder#share}), sorted in the order that rank
 * takes them. A rank reads its partition as a stream ({@link StreamedWindows}): it holds the
 * current step's windows, not the corpus. The validation split is shared ({@link ValidationPlan}):
 * each rank receives the windows of the batches it predicts and the documents it scores, with their
 * windows.
 *
 * <p>With one replica the driver itself trains: it reads the same records in chunks of {@value
 * #DRIVER_CHUNK}, one Spark partition at a time ({@link #onDriver}).
 */
final class TrainingFeed implements AutoCloseable {
  /** A validation window's flag: its rank predicts it. */
  static final int PREDICT = 1;

  /** A validation window's flag: its rank scores its document. */
  static final int SCORE = 2;

  /** Training records per partition when the driver reads the feed itself. */
  static final int DRIVER_CHUNK = 4096;

  private final SparkSession spark;
  private final PreparedData data;

  /** The train split's windows sorted by (id, window); the plan numbers them in this order. */
  private final JavaRDD<Row> sorted;

  /** The number of the first window of each partition of {@link #sorted}. */
  private final long[] firsts;

  private final WindowPlan plan;
  private final List<Broadcast<?>> broadcasts = new ArrayList<>();

  private TrainingFeed(
      SparkSession spark, PreparedData data, JavaRDD<Row> sorted, long[] firsts, WindowPlan plan) {
    this.spark = spark;
    this.data = data;
    this.sorted = sorted;
    this.firsts = firsts;
    this.plan = plan;
  }

  /**
   * Plans the train split of {@code data}: one Spark job sorts its windows and returns each
   * partition's part of the plan; a window's number is its place in partition order.
   */
  static TrainingFeed plan(SparkSession spark, PreparedData data) {
    JavaRDD<Row> sorted = data.windows("train").orderBy("id", "window").javaRDD();
    List<PlanPart> parts =
        new ArrayList<>(sorted.mapPartitionsWithIndex(TrainingFeed::planPart, false).collect());
    parts.sort(Comparator.comparingInt(PlanPart::partition));
    long[] firsts = new long[sorted.getNumPartitions()];
    long total = 0;
    int next = 0;
    for (PlanPart p : parts) {
      while (next <= p.partition()) {
        firsts[next++] = total;
      }
      total += p.lengths().length;
    }
    while (next < firsts.length) {
      firsts[next++] = total;
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          data.dir() + " has " + total + " training windows, more than one run can index");
    }
    int n = (int) total;
    int[] lengths = new int[n];
    int[] labelled = new int[n];
    long[] digests = new long[n];
    for (PlanPart p : parts) {
      int from = (int) firsts[p.partition()];
      System.arraycopy(p.lengths(), 0, lengths, from, p.lengths().length);
      System.arraycopy(p.labelled(), 0, labelled, from, p.labelled().length);
      System.arraycopy(p.digests(), 0, digests, from, p.digests().length);
    }
    return new TrainingFeed(
        spark,
        data,
        sorted,
        firsts,
        new WindowPlan(lengths, labelled, WindowPlan.digestOf(digests)));
  }

  /** One partition's part of the plan, per window in partition order. */
  private record PlanPart(int partition, int[] lengths, int[] labelled, long[] digests)
      implements Serializable {}

  private static Iterator<PlanPart> planPart(int partition, Iterator<Row> rows) {
    int[] lengths = new int[64];
    int[] labelled = new int[64];
    long[] digests = new long[64];
    int k = 0;
    while (rows.hasNext()) {
      Example e = PreparedData.example(rows.next());
      if (k == lengths.length) {
        lengths = Arrays.copyOf(lengths, 2 * k);
        labelled = Arrays.copyOf(labelled, 2 * k);
        digests = Arrays.copyOf(digests, 2 * k);
      }
      lengths[k] = e.inputIds().length;
      labelled[k] = e.labelled();
      digests[k] = WindowPlan.digest(e);
      k++;
    }
    if (k == 0) {
      return Collections.emptyIterator();
    }
    return List.of(
            new PlanPart(
                partition,
                Arrays.copyOf(lengths, k),
                Arrays.copyOf(labelled, k),
                Arrays.copyOf(digests, k)))
        .iterator();
  }

  WindowPlan windows() {
    return plan;
  }

  /**
   * The feed of {@code replicas} ranks as {@code replicas} partitions, partition r for rank r: its
   * validation records, then its training windows in the order it takes them.
   */
  JavaRDD<Tuple2<FeedKey, byte[]>> forRanks(
      TrainConfig config, int replicas, ValidationPlan validation) {
    return records(config, replicas, validation)
        .repartitionAndSortWithinPartitions(new ByRank(replicas))
        .rdd()
        .toJavaRDD();
  }

  /**
   * The feed of one replica on the driver, read one Spark partition at a time: the validation
   * records, then the training windows in chunks of {@link #DRIVER_CHUNK}.
   */
  Records onDriver(TrainConfig config, ValidationPlan validation) {
    return onDriver(config, validation, DRIVER_CHUNK);
  }

  /**
   * As {@link #onDriver(TrainConfig, ValidationPlan)}, with {@code chunk} training records per
   * partition.
   */
  Records onDriver(TrainConfig config, ValidationPlan validation, int chunk) {
    long seqs = (long) plan.size() * epochs(config);
    int parts = (int) Math.max(1, 1 + (seqs + chunk - 1) / chunk);
    JavaPairRDD<FeedKey, byte[]> sorted =
        records(config, 1, validation)
            .repartitionAndSortWithinPartitions(new InOrder(parts, chunk));
    return new DriverRecords(sorted.rdd().toJavaRDD(), parts, chunk);
  }

  /** The epochs a run of {@code config} trains in, the last maybe in part. */
  static int epochs(TrainConfig config) {
    return (int)
        Math.max(1, (config.totalSteps() + config.stepsPerEpoch() - 1) / config.stepsPerEpoch());
  }

  /** Every record of the feed, keyed by rank and order. */
  private JavaPairRDD<FeedKey, byte[]> records(
      TrainConfig config, int replicas, ValidationPlan validation) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<int[][]> positions = jsc.broadcast(positions(plan, config));
    broadcasts.add(positions);
    int n = plan.size();
    int global = config.globalBatch();
    int micro = config.microBatch();
    long[] first = firsts;
    JavaPairRDD<FeedKey, byte[]> train =
        JavaPairRDD.fromJavaRDD(
            sorted.mapPartitionsWithIndex(
                (partition, rows) ->
                    new Routed(
                        rows, first[partition], positions.value(), n, global, replicas, micro),
                false));
    if (validation.windows() == 0) {
      return train;
    }
    int replicasOf = replicas;
    ValidationPlan v = validation;
    JavaPairRDD<FeedKey, byte[]> windows =
        data.windows("validation")
            .orderBy(
                functions.size(functions.col("input_ids")),
                functions.col("id"),
                functions.col("window"))
            .javaRDD()
            .zipWithIndex()
            .flatMapToPair(
                t -> {
                  Example e = PreparedData.example(t._1());
                  byte[] bytes = WindowCodec.encode(e);
                  int index = Math.toIntExact(t._2());
                  int predictor = v.predictor(index);
                  int owner = ValidationPlan.owner(e.id(), replicasOf);
                  List<Tuple2<FeedKey, byte[]>> out = new ArrayList<>(2);
                  if (predictor == owner) {
                    out.add(
                        new Tuple2<>(
                            new FeedKey(predictor, FeedKey.VALIDATION, PREDICT | SCORE, index),
                            bytes));
                  } else {
                    out.add(
                        new Tuple2<>(
                            new FeedKey(predictor, FeedKey.VALIDATION, PREDICT, index), bytes));
                    out.add(
                        new Tuple2<>(new FeedKey(owner, FeedKey.VALIDATION, SCORE, index), bytes));
                  }
                  return out.iterator();
                });
    JavaPairRDD<FeedKey, byte[]> gold =
        data.goldRows("validation")
            .javaRDD()
            .mapToPair(
                r -> {
                  PreparedData.GoldDocument d = PreparedData.goldDocument(r);
                  return new Tuple2<>(
                      new FeedKey(ValidationPlan.owner(d.id(), replicasOf), FeedKey.GOLD, 0, -1),
                      serialize(d));
                });
    return train.union(windows).union(gold);
  }

  /**
   * How {@code replicas} ranks share the validation split: from the number of validation windows of
   * each length and the documents' languages, two small Spark aggregations.
   */
  ValidationPlan validation(TrainConfig config, int replicas) {
    if (config.evalStrategy() == TrainingArguments.EvalStrategy.NO) {
      // nothing is validated: no validation records, no jobs to plan them
      return ValidationPlan.of(config.evalBatchSize(), replicas, new long[0], List.of());
    }
    List<Row> counts =
        data.windows("validation")
            .groupBy(functions.size(functions.col("input_ids")).as("length"))
            .count()
            .collectAsList();
    int max = 0;
    for (Row r : counts) {
      max = Math.max(max, r.getInt(0));
    }
    long[] perLength = new long[max + 1];
    for (Row r : counts) {
      perLength[r.getInt(0)] = r.getLong(1);
    }
    return ValidationPlan.of(
        config.evalBatchSize(),
        replicas,
        perLength,
        List.copyOf(data.languages("validation").keySet()));
  }

  /**
   * The records of one partition of the sorted train split: each window once for every epoch it is
   * trained in, to the rank that trains it, read one window at a time.
   */
  private static final class Routed implements Iterator<Tuple2<FeedKey, byte[]>> {
    private final Iterator<Row> rows;
    private final int[][] positions;
    private final int n;
    private final int global;
    private final int replicas;
    private final int micro;
    private final java.util.ArrayDeque<Tuple2<FeedKey, byte[]>> ready =
        new java.util.ArrayDeque<>();
    private long index;

    Routed(
        Iterator<Row> rows,
        long first,
        int[][] positions,
        int n,
        int global,
        int replicas,
        int micro) {
      this.rows = rows;
      this.index = first;
      this.positions = positions;
      this.n = n;
      this.global = global;
      this.replicas = replicas;
      this.micro = micro;
    }

    @Override
    public boolean hasNext() {
      while (ready.isEmpty() && rows.hasNext()) {
        Row row = rows.next();
        int i = (int) index++;
        byte[] bytes = null;
        for (int epoch = 0; epoch < positions.length; epoch++) {
          int position = positions[epoch][i];
          if (position < 0) {
            continue;
          }
          if (bytes == null) {
            bytes = WindowCodec.encode(PreparedData.example(row));
          }
          int rank = rankOf(position, global, replicas, micro);
          ready.add(
              new Tuple2<>(
                  new FeedKey(rank, FeedKey.TRAIN, (long) epoch * n + position, i), bytes));
        }
      }
      return !ready.isEmpty();
    }

    @Override
    public Tuple2<FeedKey, byte[]> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }
  }

  /**
   * For each epoch a run of {@code config} trains in, each window's position in that epoch's order,
   * or -1 when the run ends before the window's global batch (max_steps) or its batch is dropped
   * (dataloader_drop_last).
   */
  static int[][] positions(WindowPlan plan, TrainConfig config) {
    int n = plan.size();
    int[][] out = new int[epochs(config)][];
    for (int epoch = 0; epoch < out.length; epoch++) {
      int[] order = Trainer.order(plan, epoch, config);
      long steps =
          Math.min(config.stepsPerEpoch(), config.totalSteps() - epoch * config.stepsPerEpoch());
      long limit = Math.min(n, Math.max(0, steps) * config.globalBatch());
      int[] at = new int[n];
      Arrays.fill(at, -1);
      for (int p = 0; p < limit; p++) {
        at[order[p]] = p;
      }
      out[epoch] = at;
    }
    return out;
  }

  /**
   * The rank that trains {@code position} of an epoch's order: its accumulation step's slice of the
   * global batch is dealt round-robin ({@link DataOrder#share}).
   */
  static int rankOf(int position, int global, int replicas, int micro) {
    int j = position % global;
    int base = j / (replicas * micro) * replicas * micro;
    return (j - base) % replicas;
  }

  static byte[] serialize(Serializable o) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(b)) {
      out.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  @Override
  public void close() {
    for (Broadcast<?> b : broadcasts) {
      b.destroy();
    }
    broadcasts.clear();
  }

  /** Partition r holds the records of rank r. */
  static final class ByRank extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int ranks;

    ByRank(int ranks) {
      this.ranks = ranks;
    }

    @Override
    public int numPartitions() {
      return ranks;
    }

    @Override
    public int getPartition(Object key) {
      return ((FeedKey) key).rank();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ByRank b && b.ranks == ranks;
    }

    @Override
    public int hashCode() {
      return ranks;
    }
  }

  /** Partition 0 holds the validation records, partition 1 + k the k-th chunk of training ones. */
  static final class InOrder extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int parts;
    private final int chunk;

    InOrder(int parts, int chunk) {
      this.parts = parts;
      this.chunk = chunk;
    }

    @Override
    public int numPartitions() {
      return parts;
    }

    @Override
    public int getPartition(Object key) {
      FeedKey k = (FeedKey) key;
      return k.kind() < FeedKey.TRAIN ? 0 : (int) Math.min(parts - 1, 1 + k.seq() / chunk);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof InOrder b && b.parts == parts && b.chunk == chunk;
    }

    @Override
    public int hashCode() {
      return parts;
    }
  }

  /** A rank's records in order; {@link #skipTo} may pass over records no longer needed. */
  interface Records extends Iterator<Tuple2<FeedKey, byte[]>> {
    /** Training records before {@code seq} will not be asked for (a resumed run). */
    default void skipTo(long seq) {}
  }

  /** A Spark task's partition as {@link Records}. */
  static Records of(scala.collection.Iterator<Tuple2<FeedKey, byte[]>> it) {
    return new Records() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Tuple2<FeedKey, byte[]> next() {
        return it.next();
      }
    };
  }

  /** The driver's feed: one Spark job per partition, fetched when the previous one is used up. */
  private static final class DriverRecords implements Records {
    private final JavaRDD<Tuple2<FeedKey, byte[]>> rdd;
    private final int parts;
    private final int chunk;
    private int next;
    private Iterator<Tuple2<FeedKey, byte[]>> current = Collections.emptyIterator();

    DriverRecords(JavaRDD<Tuple2<FeedKey, byte[]>> rdd, int parts, int chunk) {
      this.rdd = rdd;
      this.parts = parts;
      this.chunk = chunk;
    }

    @Override
    public boolean hasNext() {
      while (!current.hasNext() && next < parts) {
        current = rdd.collectPartitions(new int[] {next++})[0].iterator();
      }
      return current.hasNext();
    }

    @Override
    public Tuple2<FeedKey, byte[]> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return current.next();
    }

    @Override
    public void skipTo(long seq) {
      int part = (int) Math.min(parts - 1, 1 + seq / chunk);
      if (next < part) { // the partitions before seq's are not fetched at all
        next = part;
        current = Collections.emptyIterator();
      }
    }
  }
}
