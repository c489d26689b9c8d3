package io.sparkner.track;

import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.mlflow.api.proto.Service.CreateRun;
import org.mlflow.api.proto.Service.Metric;
import org.mlflow.api.proto.Service.Param;
import org.mlflow.api.proto.Service.RunInfo;
import org.mlflow.api.proto.Service.RunStatus;
import org.mlflow.api.proto.Service.RunTag;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowHttpException;
import org.mlflow.tracking.creds.BasicMlflowHostCreds;

/**
 * An MLflow run, through the MLflow Java client ({@code org.mlflow:mlflow-client}, bundled
 * relocated in the jar). Loaded by name from {@link Tracking} only when {@code MLFLOW_TRACKING_URI}
 * is set.
 *
 * <p>Artifacts: the Java client can only write artifacts by running the Python client ({@code
 * python -m mlflow.store.artifact.cli}), so the model files are written directly where that is
 * possible: through Hadoop for an artifact root Hadoop writes ({@code file:}, {@code hdfs:}, {@code
 * s3a:}, {@code abfss:}, {@code wasbs:}, {@code gs:} ...), over HTTP for a tracking server that
 * proxies artifacts ({@code mlflow-artifacts:}, the default of {@code mlflow server} since 2.0).
 * Other roots (Databricks' {@code dbfs:/databricks/mlflow-tracking}, plain {@code s3:}) go through
 * the Python client, which Databricks ML runtimes have ({@code MLFLOW_PYTHON_EXECUTABLE} names it).
 */
public final class MlflowTracker implements Tracker {
  /** MLflow's limits per log-batch request. */
  static final int MAX_METRICS_PER_BATCH = 1000;

  static final int MAX_PARAMS_PER_BATCH = 100;

  /** The param value length every MLflow server accepts (newer ones take 6000). */
  static final int MAX_PARAM_LENGTH = 500;

  private static final int MAX_WARNINGS = 5;

  private final MlflowClient client;
  private final Map<String, String> env;
  private final String trackingUri;
  private final String experiment;
  private final String runId;
  private final String artifactUri;
  private final Configuration hadoopConf;
  private final PrintStream console;
  private int warnings;

  private MlflowTracker(
      MlflowClient client,
      Map<String, String> env,
      String experiment,
      RunInfo run,
      Configuration hadoopConf,
      PrintStream console) {
    this.client = client;
    this.env = env;
    this.trackingUri = env.get(Tracking.TRACKING_URI).trim();
    this.experiment = experiment;
    this.runId = run.getRunId();
    this.artifactUri = run.getArtifactUri();
    this.hadoopConf = hadoopConf;
    this.console = console;
  }

  /** Creates the run (and the experiment when it does not exist yet). */
  public static Tracker open(
      Map<String, String> env,
      String runName,
      Map<String, String> tags,
      Configuration hadoopConf,
      PrintStream console) {
    String uri = env.get(Tracking.TRACKING_URI).trim();
    MlflowClient client = client(uri, env);
    String experimentId = experimentId(client, uri, env);
    CreateRun.Builder create =
        CreateRun.newBuilder()
            .setExperimentId(experimentId)
            .setStartTime(System.currentTimeMillis())
            .setUserId(System.getProperty("user.name", "sparkner"));
    Map<String, String> allTags = new LinkedHashMap<>();
    allTags.put("mlflow.source.name", "sparkner");
    allTags.put("mlflow.source.type", "JOB");
    allTags.put("mlflow.user", System.getProperty("user.name", "sparkner"));
    if (runName != null && !runName.isBlank()) {
      create.setRunName(runName);
      allTags.put("mlflow.runName", runName);
    }
    allTags.putAll(tags);
    allTags.forEach((k, v) -> create.addTags(RunTag.newBuilder().setKey(k).setValue(truncate(v))));
    RunInfo run = client.createRun(create.build());
    return new MlflowTracker(client, env, experimentId, run, hadoopConf, console);
  }

  static MlflowClient client(String uri, Map<String, String> env) {
    String lower = uri.toLowerCase(Locale.ROOT);
    if (lower.startsWith("http://") || lower.startsWith("https://")) {
      // the client's own constructor for an http URI would send no credentials: give them
      return new MlflowClient(
          new BasicMlflowHostCreds(
              uri,
              env.get("MLFLOW_TRACKING_USERNAME"),
              env.get("MLFLOW_TRACKING_PASSWORD"),
              env.get("MLFLOW_TRACKING_TOKEN"),
              "true".equalsIgnoreCase(env.get("MLFLOW_TRACKING_INSECURE_TLS"))));
    }
    return new MlflowClient(uri); // databricks, databricks://profile
  }

  /** MLFLOW_EXPERIMENT_ID, else the experiment named MLFLOW_EXPERIMENT_NAME, created if need be. */
  static String experimentId(MlflowClient client, String uri, Map<String, String> env) {
    String id = env.get("MLFLOW_EXPERIMENT_ID");
    if (id != null && !id.isBlank()) {
      return id.trim();
    }
    String name = env.get("MLFLOW_EXPERIMENT_NAME");
    if (name == null || name.isBlank()) {
      name =
          uri.toLowerCase(Locale.ROOT).startsWith("databricks") ? "/Shared/sparkner" : "sparkner";
    }
    try {
      var found = client.getExperimentByName(name);
      if (found.isPresent()) {
        return found.get().getExperimentId();
      }
    } catch (MlflowHttpException e) { // 404 RESOURCE_DOES_NOT_EXIST: a new experiment
      if (e.getStatusCode() != 404) {
        throw e;
      }
    }
    try {
      return client.createExperiment(name);
    } catch (MlflowHttpException e) {
      // created meanwhile by a concurrent run: read it again
      return client.getExperimentByName(name).orElseThrow(() -> e).getExperimentId();
    }
  }

  @Override
  public void params(Map<String, String> params) {
    List<Param> all = new ArrayList<>();
    params.forEach(
        (k, v) ->
            all.add(
                Param.newBuilder().setKey(k).setValue(truncate(v == null ? "None" : v)).build()));
    for (int i = 0; i < all.size(); i += MAX_PARAMS_PER_BATCH) {
      List<Param> chunk = all.subList(i, Math.min(all.size(), i + MAX_PARAMS_PER_BATCH));
      guard("log params", () -> client.logBatch(runId, List.of(), chunk, List.of()));
    }
  }

  @Override
  public void metrics(long step, Map<String, Double> values) {
    long now = System.currentTimeMillis();
    List<Metric> batch = new ArrayList<>();
    values.forEach(
        (k, v) -> {
          if (v != null
              && Double.isFinite(
                  v)) { // JSON has no NaN/Infinity; an overflowed step's grad norm is not a point
            batch.add(
                Metric.newBuilder().setKey(k).setValue(v).setStep(step).setTimestamp(now).build());
          }
        });
    for (int i = 0; i < batch.size(); i += MAX_METRICS_PER_BATCH) {
      List<Metric> chunk = batch.subList(i, Math.min(batch.size(), i + MAX_METRICS_PER_BATCH));
      guard(
          "log metrics of step " + step, () -> client.logBatch(runId, chunk, List.of(), List.of()));
    }
  }

  @Override
  public void artifacts(String dir, String artifactPath, String... names) {
    guard(
        "log artifacts to " + Secrets.redactUri(artifactUri),
        () -> upload(dir, artifactPath, names));
  }

  @Override
  public void finish(boolean succeeded) {
    guard(
        "end the run",
        () ->
            client.setTerminated(
                runId,
                succeeded ? RunStatus.FINISHED : RunStatus.FAILED,
                System.currentTimeMillis()));
    client.close();
  }

  @Override
  public String describe() {
    return "MLflow run "
        + runId
        + " in experiment "
        + experiment
        + " at "
        + Secrets.redactUri(trackingUri);
  }

  String runId() {
    return runId;
  }

  // ------------------------------------------------------------------ artifacts

  private static final Set<String> NOT_THROUGH_HADOOP = Set.of("dbfs", "s3", "runs", "models");

  private void upload(String dir, String artifactPath, String... names) throws IOException {
    URI root = URI.create(artifactUri);
    String scheme = root.getScheme() == null ? "file" : root.getScheme().toLowerCase(Locale.ROOT);
    if (scheme.equals("mlflow-artifacts")) {
      uploadHttp(root, dir, artifactPath, names);
    } else if (hadoopWrites(scheme)) {
      for (String name : names) {
        String src = dir + "/" + name;
        if (HadoopFiles.exists(src, hadoopConf)) {
          try (var in = HadoopFiles.open(src, hadoopConf);
              var out =
                  HadoopFiles.create(artifactUri + "/" + artifactPath + "/" + name, hadoopConf)) {
            in.transferTo(out);
          }
        }
      }
    } else {
      Path staged = stage(dir, names);
      try {
        client.logArtifacts(runId, staged.toFile(), artifactPath);
      } finally {
        FileUtil.fullyDelete(staged.toFile());
      }
    }
  }

  private boolean hadoopWrites(String scheme) {
    if (NOT_THROUGH_HADOOP.contains(scheme)) {
      return false;
    }
    try {
      FileSystem.getFileSystemClass(scheme, hadoopConf);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * {@code PUT /api/2.0/mlflow-artifacts/artifacts/<path>}: the tracking server's artifact proxy.
   */
  private void uploadHttp(URI root, String dir, String artifactPath, String... names)
      throws IOException {
    String base = trackingUri.replaceAll("/+$", "");
    String path = root.getPath().replaceAll("^/+", "");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
    for (String name : names) {
      String src = dir + "/" + name;
      if (!HadoopFiles.exists(src, hadoopConf)) {
        continue;
      }
      Path local = Files.createTempFile("sparkner-artifact", null);
      try {
        HadoopFiles.copyToLocal(src, local, hadoopConf);
        HttpRequest.Builder put =
            HttpRequest.newBuilder(
                    URI.create(
                        base
                            + "/api/2.0/mlflow-artifacts/artifacts/"
                            + path
                            + "/"
                            + artifactPath
                            + "/"
                            + name))
                .timeout(Duration.ofMinutes(30))
                .PUT(HttpRequest.BodyPublishers.ofFile(local));
        authorization().ifPresent(a -> put.header("Authorization", a));
        HttpResponse<String> r =
            http.send(put.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (r.statusCode() / 100 != 2) {
          throw new IOException("PUT " + name + ": HTTP " + r.statusCode() + " " + r.body());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      } finally {
        Files.deleteIfExists(local);
      }
    }
  }

  private java.util.Optional<String> authorization() {
    String token = env.get("MLFLOW_TRACKING_TOKEN");
    if (token != null && !token.isBlank()) {
      return java.util.Optional.of("Bearer " + token);
    }
    String user = env.get("MLFLOW_TRACKING_USERNAME");
    String password = env.get("MLFLOW_TRACKING_PASSWORD");
    if (user != null && password != null) {
      return java.util.Optional.of(
          "Basic "
              + Base64.getEncoder()
                  .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }
    return java.util.Optional.empty();
  }

  private Path stage(String dir, String... names) throws IOException {
    Path tmp = Files.createTempDirectory("sparkner-mlflow");
    for (String name : names) {
      if (HadoopFiles.exists(dir + "/" + name, hadoopConf)) {
        HadoopFiles.copyToLocal(dir + "/" + name, tmp.resolve(name), hadoopConf);
      }
    }
    return tmp;
  }

  // ------------------------------------------------------------------ errors

  private interface Call {
    void run() throws IOException;
  }

  /**
   * Runs a call to MLflow; a failure is a warning (at most a few), never the training's failure.
   */
  private void guard(String what, Call call) {
    try {
      call.run();
    } catch (IOException | RuntimeException e) {
      if (warnings++ < MAX_WARNINGS) {
        Tracking.warn(
            console, env, "could not " + what + " (run " + runId + "): " + e.getMessage());
      }
    }
  }

  static String truncate(String v) {
    return v.length() <= MAX_PARAM_LENGTH ? v : v.substring(0, MAX_PARAM_LENGTH - 3) + "...";
  }
}
