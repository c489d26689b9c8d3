package io.sparkner.prepare;

import io.sparkner.lang.Causes;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How prepare hands its feature rows to Spark. The fast path is Spark's own entry point for
 * Catalyst rows, {@code internalCreateDataFrame(RDD<InternalRow>, StructType, boolean)}: {@code
 * private[sql]} in Scala, public in bytecode, a method of {@code SparkSession} on Spark 3.5 and of
 * the concrete {@code org.apache.spark.sql.classic.SparkSession} on Spark 4 (the API class no
 * longer has it, so a direct call compiled against 3.5 dies with {@code NoSuchMethodError}). It is
 * looked up on the session's runtime class, which finds it on both. Where it is absent (a session
 * without it, a Spark that renamed it), the public {@code createDataFrame} with external {@link
 * Row}s writes the same table, only slower. Which path a JVM uses is logged once.
 */
final class FeatureFrames {
  private static final Logger LOG = LoggerFactory.getLogger(FeatureFrames.class);
  private static final AtomicBoolean LOGGED = new AtomicBoolean();

  /** Spark's Catalyst-row entry point on this session, or null for the public API. */
  private final Method internal;

  private FeatureFrames(Method internal) {
    this.internal = internal;
  }

  /** The fast path where the session's class has it, else the public API. */
  static FeatureFrames of(SparkSession spark) {
    Method m;
    try {
      m =
          spark
              .getClass()
              .getMethod("internalCreateDataFrame", RDD.class, StructType.class, boolean.class);
      if (!Dataset.class.isAssignableFrom(m.getReturnType())) {
        m = null;
      }
    } catch (NoSuchMethodException | SecurityException e) {
      m = null;
    }
    FeatureFrames f = new FeatureFrames(m);
    if (LOGGED.compareAndSet(false, true)) {
      LOG.info(
          "prepare: feature rows reach Spark {} (Spark {}, {})",
          m != null
              ? "as Catalyst rows through "
                  + m.getDeclaringClass().getName()
                  + ".internalCreateDataFrame"
              : "as external Rows through the public createDataFrame (no internalCreateDataFrame on"
                  + " this session)",
          spark.version(),
          spark.getClass().getName());
    }
    return f;
  }

  /** The public API only, whatever the session has (tests compare it with the fast path). */
  static FeatureFrames publicApi() {
    return new FeatureFrames(null);
  }

  /**
   * True when rows are Catalyst rows ({@link #internal}), false when they are external {@link
   * Row}s.
   */
  boolean catalyst() {
    return internal != null;
  }

  /** Catalyst rows of {@code schema} as a DataFrame, through the fast path. */
  @SuppressWarnings("unchecked")
  Dataset<Row> fromInternal(SparkSession spark, JavaRDD<InternalRow> rows, StructType schema) {
    if (internal == null) {
      throw new IllegalStateException(
          "no internalCreateDataFrame on " + spark.getClass().getName());
    }
    try {
      return (Dataset<Row>) internal.invoke(spark, rows.rdd(), schema, false);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot call " + internal + ": " + e.getMessage(), e);
    } catch (InvocationTargetException e) {
      throw Causes.rethrow(e.getCause());
    }
  }

  /** External rows of {@code schema} as a DataFrame, through the public API. */
  static Dataset<Row> fromRows(SparkSession spark, JavaRDD<Row> rows, StructType schema) {
    return spark.createDataFrame(rows, schema);
  }
}
