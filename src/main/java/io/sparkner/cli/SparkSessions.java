package io.sparkner.cli;

import io.sparkner.storage.PosixLocalFileSystem;
import io.sparkner.storage.Redaction;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of a job: the one spark-submit configured, or an embedded local one when the
 * launcher runs us without a master ({@code local[*]}, or what {@code --master} / {@code
 * spark.master} say). Closing stops Spark only if this job started it.
 */
final class SparkSessions implements AutoCloseable {
  private final SparkSession spark;
  private final boolean owned;

  private SparkSessions(SparkSession spark, boolean owned) {
    this.spark = spark;
    this.owned = owned;
  }

  SparkSession spark() {
    return spark;
  }

  /** Stops Spark, unless the session was there before us (a notebook's, a test's). */
  @Override
  public void close() {
    if (owned) {
      spark.stop();
    }
  }

  static SparkSessions start(String job, String defaultMaster) {
    boolean existed = SparkSession.getDefaultSession().isDefined();
    SparkConf conf = new SparkConf();
    SparkSession.Builder b = SparkSession.builder().appName("sparkner " + job);
    if (!conf.contains("spark.master")) {
      b.master(defaultMaster);
    }
    String master = conf.get("spark.master", defaultMaster);
    if (master.startsWith("local") && !conf.contains("spark.sql.shuffle.partitions")) {
      // 200 shuffle partitions is sized for clusters; on one machine it is mostly task overhead
      b.config("spark.sql.shuffle.partitions", Runtime.getRuntime().availableProcessors() * 2);
    }
    if (master.startsWith("local") && !conf.contains("spark.hadoop." + PosixLocalFileSystem.CONF)) {
      // Hadoop without its native library starts a chmod process for every file it writes
      b.config("spark.hadoop." + PosixLocalFileSystem.CONF, PosixLocalFileSystem.class.getName());
    }
    if (!conf.contains("spark.redaction.regex")) {
      // Spark's own dumps (environment page, event log, SQL plans) mask what our Redaction masks
      b.config("spark.redaction.regex", Redaction.SPARK_REDACTION_REGEX);
    }
    SparkSession spark = b.getOrCreate();
    if (!existed && !conf.contains("spark.log.level")) {
      spark.sparkContext().setLogLevel("WARN");
    }
    return new SparkSessions(spark, !existed);
  }
}
