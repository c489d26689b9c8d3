package io.sparkner.cli;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of a job: the one spark-submit configured, or an embedded local one when the
 * launcher runs us without a master ({@code local[*]}, or what {@code --master} / {@code
 * spark.master} say).
 */
final class SparkSessions {
  private SparkSessions() {}

  static SparkSession start(String job, String defaultMaster) {
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
    SparkSession spark = b.getOrCreate();
    if (!conf.contains("spark.log.level")) {
      spark.sparkContext().setLogLevel("WARN");
    }
    return spark;
  }
}
