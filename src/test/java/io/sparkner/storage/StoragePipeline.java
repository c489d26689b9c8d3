package io.sparkner.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * prepare, init, train with checkpoints and a resume, evaluate — every path on one file system
 * served by a real server that the subclass starts. The steps build on each other, so they run in
 * order and a step whose predecessor failed is skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("storage") // real servers, minutes on 2 cores: mvn verify -DexcludedGroups=storage leaves them
// out
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class StoragePipeline {
  Configuration conf;
  private boolean failed;

  /** Starts the server; returns the root URI the pipeline works under (no trailing slash). */
  abstract String start(Path work, Configuration conf) throws Exception;

  /** A second root where nothing exists yet (another container, bucket or directory). */
  abstract String freshRoot();

  abstract void stop() throws Exception;

  String root;

  @BeforeAll
  void startAndUpload(@TempDir Path work) throws Exception {
    conf = TestSpark.session().sparkContext().hadoopConfiguration();
    root = start(work, conf);
    FileSystem fs = FileSystem.get(URI.create(root + "/"), conf);
    fs.mkdirs(
        new org.apache.hadoop.fs.Path(
            root + "/data")); // a WASB container must exist before a plain create
    upload(fs, TestData.sample("stockmark/ner.json"), root + "/data/stockmark/ner.json");
    for (String split : List.of("train", "dev", "test")) {
      upload(fs, TestData.sample("panx/ja/" + split), root + "/data/panx/ja/" + split);
    }
    upload(fs, TestData.tokenizer("unigram"), root + "/tokenizers/unigram/tokenizer.json");
    upload(
        fs,
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath(),
        root + "/conf/tiny-xlmr-config.json");
  }

  @AfterAll
  void stopServer() throws Exception {
    stop();
  }

  @BeforeEach
  void earlierStepsPassed() {
    Assumptions.assumeFalse(failed, "skipped: an earlier step failed, see its report");
    failed = true; // cleared by a step that finishes
  }

  @Test
  @Order(1)
  void prepareReadsCorporaAndTokenizerAndWritesItsTables() throws IOException {
    StorageCli.Run r =
        StorageCli.run(
            "prepare",
            "--input",
            "stockmark:" + root + "/data/stockmark/ner.json",
            "--input",
            "panx:ja:" + root + "/data/panx/ja",
            "--tokenizer",
            root + "/tokenizers/unigram/tokenizer.json",
            "--output",
            root + "/prepared",
            "--max-length",
            "128");
    assertEquals(0, r.code(), r.err());
    JsonNode summary =
        new ObjectMapper().readTree(HadoopFiles.readString(root + "/prepared/summary.json", conf));
    assertEquals(1100, summary.path("documents").asLong());
    assertEquals(
        root + "/prepared", summary.path("output").asText(), "recorded paths keep their authority");
    assertEquals(1100, TestSpark.session().read().parquet(root + "/prepared/documents").count());
    failed = false;
  }

  @Test
  @Order(2)
  void initWritesWhereNothingExistsYet() {
    StorageCli.Run r =
        StorageCli.run(
            "init",
            "--config",
            root + "/conf/tiny-xlmr-config.json",
            "--tokenizer",
            root + "/tokenizers/unigram",
            "--labels",
            root + "/prepared/labels.json",
            "--output",
            freshRoot() + "/tiny");
    assertEquals(0, r.code(), r.err());
    assertTrue(HadoopFiles.exists(freshRoot() + "/tiny/model.safetensors", conf));
    failed = false;
  }

  @Test
  @Order(3)
  void trainCheckpointsAndAResumeReadsTheCheckpointBack() {
    StorageCli.Run first = train(4);
    assertEquals(0, first.code(), first.err() + first.out());
    assertTrue(HadoopFiles.exists(root + "/trained/checkpoints/checkpoint-4/COMPLETE", conf));
    assertTrue(HadoopFiles.exists(root + "/trained/model.safetensors", conf));
    // more steps are another run (the learning-rate schedule changes): refused unless asked for
    StorageCli.Run refused = train(6);
    assertEquals(2, refused.code(), refused.err() + refused.out());
    assertTrue(refused.err().contains("total_steps: 4 -> 6"), refused.err());
    StorageCli.Run more = train(6, "--resume-from", root + "/trained/checkpoints/checkpoint-4");
    assertEquals(0, more.code(), more.err() + more.out());
    assertTrue(
        more.out().contains("resumed from " + root + "/trained/checkpoints/checkpoint-4 at step 4"),
        more.out());
    assertTrue(more.out().contains("step 6/6"), more.out());
    assertEquals(
        3,
        HadoopFiles.readString(root + "/trained/metrics.jsonl", conf).strip().split("\n").length);
    failed = false;
  }

  @Test
  @Order(4)
  void evaluateReadsModelAndDataAndWritesTheReport() throws IOException {
    StorageCli.Run r =
        StorageCli.run(
            "evaluate",
            "--model",
            root + "/trained",
            "--data",
            root + "/prepared",
            "--report",
            root + "/report");
    assertEquals(0, r.code(), r.err());
    JsonNode report =
        new ObjectMapper().readTree(HadoopFiles.readString(root + "/report/report.json", conf));
    assertTrue(report.path("seqeval_default").path("micro").path("support").asLong() > 0);
    failed = false;
  }

  StorageCli.Run train(int steps, String... extra) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "train",
                "--data",
                root + "/prepared",
                "--model",
                freshRoot() + "/tiny",
                "--output",
                root + "/trained",
                "--set",
                "max_steps=" + steps,
                "--set",
                "save_steps=2",
                "--set",
                "logging_steps=2",
                "--set",
                "per_device_train_batch_size=8",
                "--set",
                "learning_rate=1e-3"));
    args.addAll(List.of(extra));
    return StorageCli.run(args.toArray(new String[0]));
  }

  static void upload(FileSystem fs, Path local, String remote) throws IOException {
    fs.copyFromLocalFile(
        new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(remote));
  }
}
