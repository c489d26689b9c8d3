package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.SafeTensors;
import io.sparkner.tokenizer.TokenizerCache;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every subcommand against a real S3 REST server (S3Mock, started here) through Hadoop's s3a
 * connector, as a user runs them: tokenizer build, prepare, init, train with checkpoints, a run
 * that dies and resumes from the bucket, evaluate; errors that name the path; and, over all of it,
 * the credentials of the configuration appear in no output, log line or written object.
 *
 * <p>The steps build on each other (each one's inputs are the previous one's outputs in the
 * bucket), so they run in order and a step whose predecessor failed is skipped.
 */
@Tag("storage") // real servers, minutes on 2 cores: mvn verify -DexcludedGroups=storage leaves them
// out
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class S3StorageTest {
  static final String ACCESS_KEY = "AKIASPARKNERTEST7Q3Z";
  static final String SECRET_KEY = "sparkner/S3cr3t+Do-Not-Print/4f1c9e07b2a8d6";
  static final String BUCKET = "sparkner-test";
  static final String B = "s3a://" + BUCKET;

  /** A bucket whose endpoint refuses connections: a storage failure that is not "not found". */
  static final String DEAD = "sparkner-dead";

  @TempDir static Path work;
  static S3MockServer s3;
  static OutputCapture capture;
  static Configuration conf;
  static boolean failed;
  static final List<String> EXTRA_KEYS =
      List.of(
          "fs.s3a.bucket." + DEAD + ".endpoint",
          "fs.s3a.bucket." + DEAD + ".attempts.maximum",
          "fs.s3a.bucket." + DEAD + ".retry.limit");

  @BeforeAll
  static void startServerAndUpload() throws Exception {
    s3 = S3MockServer.start(work, BUCKET);
    SparkSession spark = TestSpark.session();
    conf = spark.sparkContext().hadoopConfiguration();
    s3.configure(conf, ACCESS_KEY, SECRET_KEY);
    conf.set("fs.s3a.bucket." + DEAD + ".endpoint", "http://127.0.0.1:1");
    conf.set("fs.s3a.bucket." + DEAD + ".attempts.maximum", "0");
    conf.set("fs.s3a.bucket." + DEAD + ".retry.limit", "0");
    capture = new OutputCapture();
    upload(TestData.sample("stockmark/ner.json"), B + "/data/stockmark/ner.json");
    for (String split : List.of("train", "dev", "test")) {
      upload(TestData.sample("panx/ja/" + split), B + "/data/panx/ja/" + split);
    }
    upload(TestData.tokenizer("unigram"), B + "/tokenizers/unigram/tokenizer.json");
    upload(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath(), B + "/conf/tiny-xlmr-config.json");
    upload(Path.of("conf/train-demo.json").toAbsolutePath(), B + "/conf/train-demo.json");
  }

  @AfterAll
  static void stop() throws Exception {
    if (capture != null) {
      capture.close();
    }
    if (conf != null) {
      for (String k : S3MockServer.KEYS) {
        conf.unset(k);
      }
      EXTRA_KEYS.forEach(conf::unset);
      FileSystem
          .closeAll(); // drops the cached s3a clients; local file systems are recreated on use
    }
    if (s3 != null) {
      s3.close();
    }
  }

  @BeforeEach
  void earlierStepsPassed(TestInfo info) {
    if (info.getTestMethod()
        .orElseThrow()
        .getName()
        .equals("noCredentialAppearsInAnyOutputLogLineOrWrittenObject")) {
      return; // the leak scan runs whatever happened before
    }
    Assumptions.assumeFalse(failed, "skipped: an earlier step failed, see its report");
    failed = true; // cleared by a test that finishes
  }

  private static void passed() {
    failed = false;
  }

  @Test
  @Order(1)
  void tokenizerBuildReadsTheCorpusFromTheBucketAndWritesThere() {
    StorageCli.Run r =
        StorageCli.run(
            "tokenizer",
            "build",
            "--corpus",
            "panx:ja:" + B + "/data/panx/ja",
            "--vocab-size",
            "400",
            "--output",
            B + "/built-tokenizer");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains(B + "/built-tokenizer/tokenizer.json"), r.out());
    // loadable from the bucket (copied down for the native tokenizer)
    try (var tok = TokenizerCache.acquire(B + "/built-tokenizer", conf)) {
      assertTrue(tok.get().tokenize("東京都に住む").ids().length > 0);
    }
    passed();
  }

  @Test
  @Order(2)
  void prepareReadsCorporaAndTokenizerFromTheBucketAndWritesItsTablesThere() throws IOException {
    StorageCli.Run r =
        StorageCli.run(
            "prepare",
            "--input",
            "stockmark:" + B + "/data/stockmark/ner.json",
            "--input",
            "panx:ja:" + B + "/data/panx/ja",
            "--tokenizer",
            B + "/tokenizers/unigram",
            "--output",
            B + "/prepared",
            "--max-length",
            "128");
    assertEquals(0, r.code(), r.err());
    JsonNode summary = json(B + "/prepared/summary.json");
    assertEquals(1100, summary.path("records_in").asLong());
    assertEquals(1100, summary.path("documents").asLong());
    assertEquals(B + "/prepared", summary.path("output").asText());
    assertEquals(B + "/tokenizers/unigram/tokenizer.json", summary.path("tokenizer").asText());
    assertTrue(summary.path("inputs").get(0).path("path").asText().startsWith(B + "/data/"));
    assertTrue(HadoopFiles.exists(B + "/prepared/labels.json", conf));
    SparkSession spark = TestSpark.session();
    assertEquals(1100, spark.read().parquet(B + "/prepared/documents").count());
    assertTrue(spark.read().parquet(B + "/prepared/features").count() >= 1100);
    passed();
  }

  @Test
  @Order(3)
  void initWritesATinyCheckpointIntoTheBucket() {
    StorageCli.Run r =
        StorageCli.run(
            "init",
            "--config",
            B + "/conf/tiny-xlmr-config.json",
            "--tokenizer",
            B + "/tokenizers/unigram",
            "--labels",
            B + "/prepared/labels.json",
            "--output",
            B + "/tiny");
    assertEquals(0, r.code(), r.err());
    for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
      assertTrue(HadoopFiles.exists(B + "/tiny/" + f, conf), f);
    }
    passed();
  }

  @Test
  @Order(4)
  void trainReadsFromTheBucketAndCheckpointsThere() throws IOException {
    StorageCli.Run r = train(B + "/trained");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("step 8/8"), r.out());
    for (String f :
        List.of("config.json", "model.safetensors", "tokenizer.json", "training_config.json")) {
      assertTrue(HadoopFiles.exists(B + "/trained/" + f, conf), f);
    }
    assertTrue(HadoopFiles.exists(B + "/trained/checkpoints/checkpoint-3/COMPLETE", conf));
    assertTrue(HadoopFiles.exists(B + "/trained/checkpoints/checkpoint-6/COMPLETE", conf));
    assertTrue(
        HadoopFiles.exists(
            B + "/trained/checkpoints/checkpoint-6/optimizer-rank000-of-001.bin", conf));
    assertEquals(
        4, HadoopFiles.readString(B + "/trained/metrics.jsonl", conf).strip().split("\n").length);
    passed();
  }

  @Test
  @Order(5)
  void aRunThatDiesResumesFromItsBucketCheckpointAndReachesTheUninterruptedWeights()
      throws IOException {
    StorageCli.Run died = train(B + "/resumed", "--fail-at-step", "5");
    assertEquals(1, died.code(), died.out());
    assertTrue(died.err().contains("injected failure"), died.err());
    assertTrue(HadoopFiles.exists(B + "/resumed/checkpoints/checkpoint-3/COMPLETE", conf));
    assertFalse(HadoopFiles.exists(B + "/resumed/checkpoints/checkpoint-6", conf));

    StorageCli.Run resumed = train(B + "/resumed");
    assertEquals(0, resumed.code(), resumed.err() + resumed.out());
    assertTrue(
        resumed.out().contains("resumed from " + B + "/resumed/checkpoints/checkpoint-3 at step 3"),
        resumed.out());
    assertTrue(resumed.out().contains("step 8/8"), resumed.out());

    long copiesBefore = localCopies();
    Map<String, SafeTensors.Tensor> a = Checkpoints.read(B + "/trained", conf, null, 0).tensors();
    Map<String, SafeTensors.Tensor> b = Checkpoints.read(B + "/resumed", conf, null, 0).tensors();
    Map<String, SafeTensors.Tensor> initial =
        Checkpoints.read(B + "/tiny", conf, null, 0).tensors();
    assertEquals(
        copiesBefore, localCopies(), "the local copies of the checkpoints are deleted once read");
    assertEquals(a.keySet(), b.keySet());
    double worst = 0;
    double moved = 0;
    for (String k : a.keySet()) {
      float[] x = a.get(k).data();
      float[] y = b.get(k).data();
      float[] z = initial.get(k).data();
      for (int i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
        moved = Math.max(moved, Math.abs(x[i] - z[i]));
      }
    }
    assertTrue(moved > 1e-3, "training changed nothing: " + moved);
    assertEquals(0.0, worst, 1e-6, "resumed weights differ from the uninterrupted run by " + worst);
    passed();
  }

  @Test
  @Order(6)
  void evaluateReadsModelAndDataFromTheBucketAndWritesTheReportThere() throws IOException {
    StorageCli.Run r =
        StorageCli.run(
            "evaluate",
            "--model",
            B + "/trained",
            "--data",
            B + "/prepared",
            "--split",
            "test",
            "--report",
            B + "/report");
    assertEquals(0, r.code(), r.err());
    JsonNode report = json(B + "/report/report.json");
    assertEquals("test", report.path("split").asText());
    assertTrue(report.path("seqeval_default").path("micro").path("support").asLong() > 0);
    passed();
  }

  @Test
  @Order(7)
  void scoreReadsATableFromTheBucketAndWritesItsEntitiesThere() {
    StorageCli.Run r =
        StorageCli.run(
            "score",
            "--model",
            B + "/trained",
            "--input",
            B + "/prepared/documents",
            "--output-col",
            "predicted",
            "--output",
            B + "/scored");
    assertEquals(0, r.code(), r.err());
    SparkSession spark = TestSpark.session();
    var scored = spark.read().parquet(B + "/scored");
    assertEquals(1100, scored.count(), "every input row, scored or not");
    assertTrue(
        List.of(scored.columns()).containsAll(List.of("id", "text", "entities", "predicted")),
        String.join(",", scored.columns()));
    assertTrue(
        HadoopFiles.exists(B + "/scored/_summary.json", conf),
        "the job's summary next to the table");
    passed();
  }

  @Test
  @Order(8)
  void errorsNameThePathAndNeverTheCredentials() {
    StorageCli.Run missing =
        StorageCli.run(
            "train",
            "--data",
            B + "/no-such-prepared",
            "--model",
            B + "/tiny",
            "--output",
            B + "/x");
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains(B + "/no-such-prepared"), missing.err());

    // credentials inside a path: refused, and the message shows the path without them
    String withSecrets = "s3a://" + ACCESS_KEY + ":" + SECRET_KEY + "@" + BUCKET + "/prepared";
    StorageCli.Run inPath =
        StorageCli.run(
            "evaluate", "--model", B + "/trained", "--data", withSecrets, "--report", B + "/r2");
    assertEquals(2, inPath.code(), inPath.err());
    assertTrue(
        inPath.err().contains(B + "/prepared: credentials inside a path are not accepted"),
        inPath.err());
    assertTrue(inPath.err().contains("fs.s3a.access.key and"), inPath.err());

    // a mistyped option echoes its argument: redacted too
    StorageCli.Run typo =
        StorageCli.run(
            "prepare",
            "--input",
            "stockmark:x",
            "--tokenizer",
            "t",
            "--output",
            "o",
            "--inptu",
            withSecrets);
    assertEquals(2, typo.code());
    assertTrue(typo.err().contains("--inptu") && typo.err().contains(B + "/prepared"), typo.err());

    // a storage failure that is not "not found" lists the s3a settings in effect, credentials
    // masked
    StorageCli.Run dead =
        StorageCli.run(
            "prepare",
            "--input",
            "stockmark:s3a://" + DEAD + "/ner.json",
            "--tokenizer",
            B + "/tokenizers/unigram",
            "--output",
            B + "/p2");
    assertEquals(1, dead.code());
    assertTrue(dead.err().contains("s3a://" + DEAD + "/ner.json"), dead.err());
    assertTrue(dead.err().contains("fs.s3a.secret.key=" + Redaction.MASK), dead.err());
    assertTrue(dead.err().contains("fs.s3a.endpoint=" + s3.endpoint()), dead.err());
    passed();
  }

  @Test
  @Order(9)
  void noCredentialAppearsInAnyOutputLogLineOrWrittenObject() throws IOException {
    boolean pipelineRan = !failed;
    String printed = capture.all();
    // kept for a reader of the test report: what was searched for credentials
    java.nio.file.Files.createDirectories(Path.of("target/surefire-reports"));
    java.nio.file.Files.writeString(
        Path.of("target/surefire-reports/S3StorageTest-captured-output.txt"), printed);
    // the capture saw the runs: progress, the training log, s3a's own log lines
    assertTrue(!pipelineRan || printed.contains("step 8/8"), "nothing captured");
    assertTrue(capture.logs().contains("org.apache.hadoop.fs.s3a"), "no s3a log line captured");
    for (String secret : List.of(SECRET_KEY, ACCESS_KEY, "S3cr3t+Do-Not-Print")) {
      int at = printed.indexOf(secret);
      assertEquals(
          -1,
          at,
          () ->
              "printed: ..."
                  + printed.substring(Math.max(0, at - 300), Math.min(printed.length(), at + 100)));
    }
    List<String> objects = new ArrayList<>();
    FileSystem fs = FileSystem.get(URI.create(B + "/"), conf);
    RemoteIterator<LocatedFileStatus> it =
        fs.listFiles(new org.apache.hadoop.fs.Path(B + "/"), true);
    while (it.hasNext()) {
      org.apache.hadoop.fs.Path p = it.next().getPath();
      objects.add(p.toString());
      byte[] bytes;
      try (InputStream in = fs.open(p)) {
        bytes = in.readAllBytes();
      }
      String content = new String(bytes, StandardCharsets.ISO_8859_1); // byte-for-byte, any format
      assertFalse(
          content.contains(SECRET_KEY) || content.contains(ACCESS_KEY),
          "credential written into " + p);
    }
    // the scan covered what the jobs wrote: summaries, metrics, configs, checkpoints, Parquet,
    // report
    for (String expected :
        !pipelineRan
            ? List.<String>of()
            : List.of(
                "/prepared/summary.json",
                "/trained/metrics.jsonl",
                "/trained/training_config.json",
                "/trained/checkpoints/checkpoint-6/trainer_state.json",
                "/report/report.json")) {
      assertTrue(
          objects.contains(B + expected), expected + " not among " + objects.size() + " objects");
    }
    assertTrue(
        !pipelineRan
            || objects.stream()
                .anyMatch(o -> o.startsWith(B + "/prepared/documents/") && o.endsWith(".parquet")));
    assertTrue(
        !pipelineRan || printed.contains(Redaction.MASK),
        "the masked settings of the failure were printed");
  }

  // ---------------------------------------------------------------------------------------------

  static StorageCli.Run train(String output, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "train",
                "--data",
                B + "/prepared",
                "--model",
                B + "/tiny",
                "--output",
                output,
                "--conf",
                B + "/conf/train-demo.json",
                "--set",
                "max_steps=8",
                "--set",
                "logging_steps=2",
                "--set",
                "save_steps=3"));
    args.addAll(List.of(extra));
    return StorageCli.run(args.toArray(new String[0]));
  }

  /** Temporary local copies of remote files (HadoopFiles copies down for native readers). */
  static long localCopies() throws IOException {
    try (var s = java.nio.file.Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return s.filter(p -> p.getFileName().toString().startsWith("sparkner-copy")).count();
    }
  }

  static void upload(Path local, String remote) throws IOException {
    FileSystem.get(URI.create(remote), conf)
        .copyFromLocalFile(
            new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(remote));
  }

  static JsonNode json(String path) throws IOException {
    return new ObjectMapper().readTree(HadoopFiles.readString(path, conf));
  }
}
