package io.sparkner.track;

import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Chooses the tracker of a run from the environment, as Hugging Face's {@code MLflowCallback} and
 * the MLflow clients do: MLflow when {@code MLFLOW_TRACKING_URI} is set (Databricks jobs set it in
 * the cluster's environment, see deploy/databricks), nothing otherwise. Without the variable no
 * MLflow class is loaded: the MLflow tracker is looked up by name only when it is needed.
 *
 * <p>Variables read: {@code MLFLOW_TRACKING_URI} ({@code http(s)://host:port}, {@code databricks},
 * {@code databricks://PROFILE}), {@code MLFLOW_EXPERIMENT_ID} or {@code MLFLOW_EXPERIMENT_NAME}
 * (default {@code sparkner}, on Databricks {@code /Shared/sparkner}), {@code MLFLOW_TRACKING_TOKEN}
 * or {@code MLFLOW_TRACKING_USERNAME}/{@code MLFLOW_TRACKING_PASSWORD}, {@code
 * MLFLOW_TRACKING_INSECURE_TLS}; {@code MLFLOW_PYTHON_EXECUTABLE} where artifacts go to a store
 * only the Python client can write (see {@link MlflowTracker}).
 */
public final class Tracking {
  public static final String TRACKING_URI = "MLFLOW_TRACKING_URI";

  private static volatile Map<String, String> environment;

  private Tracking() {}

  /** The process environment (or what a test put in its place). */
  public static Map<String, String> environment() {
    Map<String, String> e = environment;
    return e != null ? e : System.getenv();
  }

  /** Tests only: an environment to read instead of the process's; null restores it. */
  static void overrideEnvironment(Map<String, String> env) {
    environment = env;
  }

  /** Whether the environment asks for MLflow tracking. */
  public static boolean requested(Map<String, String> env) {
    String uri = env.get(TRACKING_URI);
    return uri != null && !uri.isBlank();
  }

  /**
   * The tracker of one run: MLflow when {@link #requested}, else {@link Tracker#NONE}. A tracking
   * server that cannot be reached gives a warning and {@link Tracker#NONE}: tracking never stops a
   * training.
   *
   * @param runName the MLflow run name
   * @param tags run tags (e.g. the output directory)
   * @param hadoopConf for artifacts written through Hadoop file systems
   */
  public static Tracker open(
      Map<String, String> env,
      String runName,
      Map<String, String> tags,
      Configuration hadoopConf,
      PrintStream console) {
    if (!requested(env)) {
      return Tracker.NONE;
    }
    try {
      // by name: the MLflow client's classes load only here, when tracking was asked for
      Class<?> c = Class.forName("io.sparkner.track.MlflowTracker");
      return (Tracker)
          c.getMethod(
                  "open",
                  Map.class,
                  String.class,
                  Map.class,
                  Configuration.class,
                  PrintStream.class)
              .invoke(null, env, runName, tags, hadoopConf, console);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      warn(
          console,
          env,
          "cannot start an MLflow run at "
              + env.get(TRACKING_URI)
              + ": "
              + cause
              + " (training goes on without tracking)");
      return Tracker.NONE;
    } catch (ReflectiveOperationException | LinkageError e) {
      warn(
          console,
          env,
          "the MLflow client is not on the classpath ("
              + e
              + "; training goes on without tracking)");
      return Tracker.NONE;
    }
  }

  /** A path or URI as it may be shown or logged (no user info, no secret query parameters). */
  public static String redactUri(String uri) {
    return Secrets.redactUri(uri);
  }

  static void warn(PrintStream console, Map<String, String> env, String message) {
    if (console != null) {
      console.println("warning: mlflow: " + Secrets.redact(message, env));
    }
  }
}
