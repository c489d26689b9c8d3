package io.sparkner.storage;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

/** A Hadoop {@link Configuration} that travels to executors inside a task closure. */
public final class HadoopConf implements Serializable {
  private static final long serialVersionUID = 1L;

  private transient Configuration conf;

  public HadoopConf(Configuration conf) {
    this.conf = conf;
  }

  public Configuration get() {
    return conf;
  }

  /**
   * The Hadoop configuration of a step that runs without starting Spark ({@code init}, {@code
   * tokenizer build}): the running Spark session's when there is one (a notebook, the demo, a
   * test), else core-site.xml and friends plus every {@code spark.hadoop.*} setting of the Spark
   * configuration (spark-submit {@code --conf}, {@code -D} system properties), as Spark builds it.
   */
  public static Configuration current() {
    scala.Option<SparkSession> session = SparkSession.getActiveSession();
    if (session.isEmpty()) {
      session = SparkSession.getDefaultSession();
    }
    if (session.isDefined() && !session.get().sparkContext().isStopped()) {
      return session.get().sparkContext().hadoopConfiguration();
    }
    Configuration conf = new Configuration();
    for (Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) {
      conf.set(kv._1(), kv._2(), "spark.hadoop." + kv._1());
    }
    return conf;
  }

  private void writeObject(ObjectOutputStream out) throws IOException {
    out.defaultWriteObject();
    conf.write(out);
  }

  private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
    in.defaultReadObject();
    conf = new Configuration(false);
    conf.readFields(in);
  }
}
