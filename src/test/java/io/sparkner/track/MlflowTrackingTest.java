package io.sparkner.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.cli.TestAccess;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.fault.FaultPlan;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.train.RankTraining;
import io.sparkner.train.TrainJob;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * MLflow tracking of {@code train} against a real HTTP server started here: the JDK's {@link
 * HttpServer} answering the REST endpoints the MLflow Java client calls (experiments get-by-name
 * and create, runs create / log-batch / update) and the artifact proxy's PUT. The client is the
 * real one; only the server is a stand-in.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MlflowTrackingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "tok-3f9a-SECRET-81c2";

  @TempDir static Path dir;
  static MlflowStandIn server;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    PrepareJob.run(
        TestSpark.session(),
        new PrepareOptions(
            List.of(CorpusInput.parse("panx:ko:" + TestData.sample("panx/ko"))),
            TestData.tokenizer("unigram").toString(),
            dir.resolve("prepared").toString(),
            ReadOptions.defaults(),
            LabelScheme.IOB2,
            new AlignOptions(128, 32, true),
            true));
    TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        TestData.tokenizer("unigram").toString(),
        dir.resolve("prepared/labels.json").toString(),
        dir.resolve("tiny").toString());
    server = new MlflowStandIn();
  }

  @AfterAll
  static void stop() {
    Tracking.overrideEnvironment(null);
    server.stop();
  }

  @AfterEach
  void restoreEnvironment() {
    Tracking.overrideEnvironment(null);
  }

  record Trained(TrainJob.Result result, String console) {}

  static Trained train(String name, List<String> settings, long failAtStep) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream console = new PrintStream(out, true, StandardCharsets.UTF_8);
    List<String> set =
        new ArrayList<>(
            List.of(
                "learning_rate=0.003",
                "logging_steps=1",
                "eval_strategy=steps",
                "eval_steps=2",
                "save_steps=1000"));
    set.addAll(settings);
    try {
      TrainJob.Result r =
          TrainJob.run(
              TestSpark.session(),
              TrainJob.Options.builder(
                      dir.resolve("prepared").toString(),
                      dir.resolve("tiny").toString(),
                      dir.resolve(name).toString())
                  .overrides(set)
                  .faults(FaultPlan.none().withFailAtStep(failAtStep))
                  .build(),
              console);
      return new Trained(r, out.toString(StandardCharsets.UTF_8));
    } finally {
      console.flush();
      server.lastConsole = out.toString(StandardCharsets.UTF_8);
    }
  }

  static Map<String, String> env(String uri) {
    return Map.of(
        "MLFLOW_TRACKING_URI", uri,
        "MLFLOW_EXPERIMENT_NAME", "sparkner-tests",
        "MLFLOW_TRACKING_TOKEN", TOKEN);
  }

  @Test
  @Order(1)
  void withoutTheVariableNothingIsLoadedOrContacted() throws Exception {
    Tracking.overrideEnvironment(Map.of("PATH", "/usr/bin"));
    Trained t = train("untracked", List.of("max_steps=2"), -1);
    assertEquals(2, t.result().steps());
    assertEquals(0, server.requests.size(), "no request without MLFLOW_TRACKING_URI");
    assertFalse(t.console().contains("tracking:"), t.console());
    assertNull(
        loaded("org.mlflow.tracking.MlflowClient"),
        "no MLflow class is loaded when tracking is off");
    assertNull(loaded("io.sparkner.track.MlflowTracker"));
  }

  @Test
  @Order(2)
  void paramsAndEveryLoggingStepArriveAndTheRunEndsFinished() throws IOException {
    Path artifacts = dir.resolve("artifact-root");
    server.artifactRoot = runId -> artifacts.resolve(runId).toUri().toString();
    Tracking.overrideEnvironment(env(server.uri()));
    Trained t = train("tracked", List.of("max_steps=4", "run_name=tiny-ko"), -1);

    assertTrue(
        server.paths().contains("/api/2.0/mlflow/experiments/get-by-name"),
        server.paths().toString());
    assertTrue(
        server.paths().contains("/api/2.0/mlflow/experiments/create"), server.paths().toString());
    JsonNode create = server.bodies("/api/2.0/mlflow/runs/create").get(0);
    assertEquals("1", create.path("experiment_id").asText());
    assertEquals("tiny-ko", create.path("run_name").asText());
    String runId = "run-1";

    Map<String, String> params = server.params(runId);
    assertEquals("0.003", params.get("learning_rate"));
    assertEquals("4", params.get("total_steps"));
    assertEquals("fp32", params.get("precision"));
    assertTrue(params.containsKey("loss_scaler.initial_scale"), params.keySet().toString());
    assertTrue(params.get("data").endsWith("prepared"), params.get("data"));

    Map<String, List<Long>> steps = server.metricSteps(runId);
    assertEquals(List.of(1L, 2L, 3L, 4L), steps.get("loss"), steps.toString());
    assertEquals(List.of(1L, 2L, 3L, 4L), steps.get("learning_rate"));
    assertEquals(
        List.of(2L, 4L),
        steps.get("eval_f1"),
        "the evaluations every eval_steps arrive at their step");
    assertFalse(steps.containsKey("step"));

    JsonNode update = last(server.bodies("/api/2.0/mlflow/runs/update"));
    assertEquals(runId, update.path("run_id").asText());
    assertEquals("FINISHED", update.path("status").asText());

    for (String f :
        List.of(
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "metrics.jsonl",
            "training_config.json")) {
      assertTrue(Files.isRegularFile(artifacts.resolve(runId).resolve("model").resolve(f)), f);
    }
    assertFalse(Files.exists(artifacts.resolve(runId).resolve("model/checkpoints")));

    assertTrue(
        server.authorizations.stream().allMatch(("Bearer " + TOKEN)::equals),
        "every request carries the token");
    assertTrue(t.console().contains("tracking: MLflow run run-1 in experiment 1"), t.console());
    assertFalse(t.console().contains(TOKEN), "the token is never printed");
  }

  @Test
  @Order(3)
  void aFailedTrainingEndsTheRunFailed() {
    server.artifactRoot = runId -> dir.resolve("artifact-root").resolve(runId).toUri().toString();
    Tracking.overrideEnvironment(env(server.uri()));
    assertThrows(
        RankTraining.InjectedFailure.class, () -> train("failing", List.of("max_steps=4"), 2));
    String runId = "run-2";
    JsonNode update = last(server.bodies("/api/2.0/mlflow/runs/update"));
    assertEquals(runId, update.path("run_id").asText());
    assertEquals("FAILED", update.path("status").asText());
    assertEquals(
        List.of(1L, 2L),
        server.metricSteps(runId).get("loss"),
        "the steps done before the failure are logged");
    assertFalse(
        Files.exists(dir.resolve("artifact-root").resolve(runId)),
        "no model artifacts for a failed run");
  }

  @Test
  @Order(4)
  void artifactsGoThroughTheServersArtifactProxy() {
    server.artifactRoot = runId -> "mlflow-artifacts:/1/" + runId + "/artifacts";
    Tracking.overrideEnvironment(env(server.uri()));
    train("proxied", List.of("max_steps=1"), -1);
    String runId = "run-3";
    Map<String, Integer> put = server.puts;
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      String path = "/api/2.0/mlflow-artifacts/artifacts/1/" + runId + "/artifacts/model/" + f;
      assertTrue(put.containsKey(path), put.keySet().toString());
      assertTrue(put.get(path) > 0, path);
    }
    assertEquals(
        "FINISHED", last(server.bodies("/api/2.0/mlflow/runs/update")).path("status").asText());
  }

  @Test
  @Order(5)
  void anUnreachableServerIsAWarningAndTrainingGoesOn() throws IOException {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    Tracking.overrideEnvironment(env("http://user:pw-9d2e@127.0.0.1:" + closed));
    Trained t = train("unreachable", List.of("max_steps=1"), -1);
    assertEquals(1, t.result().steps());
    assertTrue(
        t.console()
            .contains("warning: mlflow: cannot start an MLflow run at http://127.0.0.1:" + closed),
        t.console());
    assertFalse(t.console().contains("pw-9d2e"), t.console());
    assertFalse(t.console().contains(TOKEN), t.console());
  }

  private static JsonNode last(List<JsonNode> l) {
    assertFalse(l.isEmpty());
    return l.get(l.size() - 1);
  }

  /** The class if the application class loader has loaded it, without loading it. */
  private static Class<?> loaded(String name) throws Exception {
    Method m = ClassLoader.class.getDeclaredMethod("findLoadedClass", String.class);
    m.setAccessible(true);
    return (Class<?>) m.invoke(MlflowTrackingTest.class.getClassLoader(), name);
  }

  /**
   * The MLflow REST endpoints the Java client calls, answered in memory; every request recorded.
   */
  static final class MlflowStandIn {
    record Request(String method, String path, String query, JsonNode body) {}

    final HttpServer http;
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    final List<String> authorizations = Collections.synchronizedList(new ArrayList<>());
    final Map<String, String> experiments = new ConcurrentHashMap<>();
    final Map<String, Integer> puts = new ConcurrentHashMap<>();
    final AtomicInteger runs = new AtomicInteger();
    volatile java.util.function.Function<String, String> artifactRoot = id -> "file:///nonexistent";
    volatile String lastConsole = "";

    MlflowStandIn() throws IOException {
      http =
          HttpServer.create(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
      http.createContext("/", this::handle);
      http.start();
    }

    String uri() {
      return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    void stop() {
      http.stop(0);
    }

    List<String> paths() {
      synchronized (requests) {
        return requests.stream().map(Request::path).collect(Collectors.toList());
      }
    }

    List<JsonNode> bodies(String path) {
      synchronized (requests) {
        return requests.stream()
            .filter(r -> r.path().equals(path))
            .map(Request::body)
            .collect(Collectors.toList());
      }
    }

    Map<String, String> params(String runId) {
      Map<String, String> out = new java.util.LinkedHashMap<>();
      for (JsonNode b : bodies("/api/2.0/mlflow/runs/log-batch")) {
        if (b.path("run_id").asText().equals(runId)) {
          b.path("params").forEach(p -> out.put(p.path("key").asText(), p.path("value").asText()));
        }
      }
      return out;
    }

    Map<String, List<Long>> metricSteps(String runId) {
      Map<String, List<Long>> out = new java.util.TreeMap<>();
      for (JsonNode b : bodies("/api/2.0/mlflow/runs/log-batch")) {
        if (b.path("run_id").asText().equals(runId)) {
          b.path("metrics")
              .forEach(
                  m ->
                      out.computeIfAbsent(m.path("key").asText(), k -> new ArrayList<>())
                          .add(m.path("step").asLong()));
        }
      }
      return out;
    }

    private void handle(HttpExchange ex) throws IOException {
      try (ex) {
        String path = ex.getRequestURI().getPath();
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        authorizations.add(String.valueOf(auth));
        byte[] raw = ex.getRequestBody().readAllBytes();
        if (ex.getRequestMethod().equals("PUT")) {
          puts.put(path, raw.length);
          requests.add(new Request("PUT", path, null, null));
          respond(ex, 200, "{}");
          return;
        }
        JsonNode body = raw.length == 0 ? JSON.createObjectNode() : JSON.readTree(raw);
        String query = ex.getRequestURI().getQuery();
        requests.add(new Request(ex.getRequestMethod(), path, query, body));
        switch (path) {
          case "/api/2.0/mlflow/experiments/get-by-name" -> {
            String name = query.replaceFirst("^experiment_name=", "");
            String id = experiments.get(name);
            if (id == null) {
              respond(
                  ex,
                  404,
                  "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Could not find"
                      + " experiment with name '"
                      + name
                      + "'\"}");
            } else {
              respond(
                  ex,
                  200,
                  "{\"experiment\": {\"experiment_id\": \""
                      + id
                      + "\", \"name\": \""
                      + name
                      + "\", \"lifecycle_stage\": \"active\"}}");
            }
          }
          case "/api/2.0/mlflow/experiments/create" -> {
            String id = String.valueOf(experiments.size() + 1);
            experiments.put(body.path("name").asText(), id);
            respond(ex, 200, "{\"experiment_id\": \"" + id + "\"}");
          }
          case "/api/2.0/mlflow/runs/create" -> {
            String id = "run-" + runs.incrementAndGet();
            ObjectNode info = JSON.createObjectNode();
            info.put("run_id", id);
            info.put("run_uuid", id);
            info.put("experiment_id", body.path("experiment_id").asText());
            info.put("run_name", body.path("run_name").asText());
            info.put("status", "RUNNING");
            info.put("start_time", body.path("start_time").asLong());
            info.put("artifact_uri", artifactRoot.apply(id));
            info.put("lifecycle_stage", "active");
            ObjectNode run = JSON.createObjectNode();
            run.putObject("run").set("info", info);
            respond(ex, 200, run.toString());
          }
          case "/api/2.0/mlflow/runs/log-batch" -> respond(ex, 200, "{}");
          case "/api/2.0/mlflow/runs/update" ->
              respond(
                  ex,
                  200,
                  "{\"run_info\": {\"run_id\": \""
                      + body.path("run_id").asText()
                      + "\", \"status\": \""
                      + body.path("status").asText()
                      + "\"}}");
          default ->
              respond(
                  ex,
                  404,
                  "{\"error_code\": \"ENDPOINT_NOT_FOUND\", \"message\": \"" + path + "\"}");
        }
      }
    }

    private static void respond(HttpExchange ex, int code, String json) throws IOException {
      byte[] b = json.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(code, b.length);
      ex.getResponseBody().write(b);
    }
  }
}
