package io.sparkner;

import io.sparkner.storage.PosixLocalFileSystem;
import org.apache.spark.sql.SparkSession;

/** One real local Spark session for the whole test JVM (starting one takes seconds). */
public final class TestSpark {
  private static SparkSession session;

  private TestSpark() {}

  public static synchronized SparkSession session() {
    if (session == null) {
      session =
          SparkSession.builder()
              .master(
                  "local[3,4]") // 3 slots for 3 replicas; a failed task is retried (local[N] would
              // not)
              .appName("sparkner-tests")
              .config("spark.ui.enabled", false)
              .config("spark.sql.shuffle.partitions", 4)
              .config("spark.driver.host", "127.0.0.1")
              .config("spark.driver.bindAddress", "127.0.0.1")
              // as bin/sparkner's local sessions: file: paths without a chmod process per file
              .config(
                  "spark.hadoop." + PosixLocalFileSystem.CONF, PosixLocalFileSystem.class.getName())
              .getOrCreate();
      session.sparkContext().setLogLevel("WARN");
      Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
    }
    return session;
  }
}
