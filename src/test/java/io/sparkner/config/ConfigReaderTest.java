package io.sparkner.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigReaderTest {

  enum Mode {
    LINEAR,
    CONSTANT_WITH_WARMUP
  }

  /** A POJO with defaults, as a Hugging Face dataclass. */
  static final class Options implements Validated {
    private double learningRate = 5e-5;
    private int batchSize = 12;
    private long seed = 42;
    private Integer saveTotalLimit = null;
    private boolean fp16 = false;
    private boolean bf16 = false;

    @JsonAlias("evaluation_mode")
    private Mode mode = Mode.LINEAR;

    private List<String> reportTo = List.of();
    private String outputDir = null;

    @Ignored("always trains")
    private JsonNode doTrain;

    private Section zero = null;

    @Override
    public void validate(List<String> problems) {
      if (fp16 && bf16) {
        problems.add("at most one of fp16 and bf16 can be true");
      }
      if (batchSize < 1) {
        problems.add("batch_size must be >= 1 (got " + batchSize + ")");
      }
    }
  }

  /** A nested section as a record: absent components are null (or an absent Setting). */
  record Section(
      Integer stage,
      Setting<Long> bucketSize,
      Setting<Betas> betas,
      @Ignored("the collectives overlap on their own") Boolean overlapComm,
      Map<String, Double> weights) {}

  @JsonFormat(shape = JsonFormat.Shape.ARRAY)
  record Betas(double beta1, double beta2) {}

  private static final ConfigReader<Options> READER = ConfigReader.of(Options.class);

  private static String error(String text, String source) {
    return assertThrows(ConfigError.class, () -> READER.read(text, source)).getMessage();
  }

  @Test
  void jsonAndYamlFilesBindTheSameValuesOverTheDefaults(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("c.json"),
        "{\"learning_rate\": 3e-5, \"report_to\": \"mlflow\","
            + " \"mode\": \"Constant_With_Warmup\", \"zero\": {\"stage\": 2, \"bucket_size\": 2e8,"
            + " \"betas\": [0.9, 0.98]}}");
    // YAML 1.1 reads 3e-5 (no dot) as a string; it is still the number
    Files.writeString(
        dir.resolve("c.yml"),
        "learning_rate: 3e-5\nreport_to: [mlflow]\n"
            + "mode: constant_with_warmup\nzero:\n  stage: 2\n  bucket_size: 200000000\n"
            + "  betas: [0.9, 0.98]\n");
    for (String name : List.of("c.json", "c.yml")) {
      ConfigReader.Bound<Options> b = READER.read(dir.resolve(name));
      Options o = b.value();
      assertEquals(3e-5, o.learningRate, name);
      assertEquals(12, o.batchSize, "a default stays");
      assertEquals(List.of("mlflow"), o.reportTo, "one string is a list of one");
      assertEquals(Mode.CONSTANT_WITH_WARMUP, o.mode);
      assertEquals(2, o.zero.stage());
      assertEquals(200_000_000L, o.zero.bucketSize().value());
      assertEquals(new Betas(0.9, 0.98), o.zero.betas().value());
      assertNull(o.zero.overlapComm(), "an absent section key is null");
      assertEquals(name, b.source());
      assertEquals(
          Set.of(
              "learning_rate",
              "report_to",
              "mode",
              "zero",
              "zero.stage",
              "zero.bucket_size",
              "zero.betas"),
          b.explicitKeys());
      assertFalse(b.isExplicit("batch_size"));
    }
    assertEquals(
        "c.txt: unknown configuration format (the name must end in .json, .yaml or" + " .yml)",
        assertThrows(ConfigError.class, () -> READER.read(dir.resolve("c.txt"))).getMessage());
  }

  @Test
  void anEmptyYamlDocumentIsAllDefaults() {
    ConfigReader.Bound<Options> b = READER.read("# nothing\n", "empty.yaml");
    assertEquals(5e-5, b.value().learningRate);
    assertTrue(b.explicitKeys().isEmpty());
    assertTrue(error("[1, 2]", "c.json").startsWith("c.json: the configuration must be a mapping"));
  }

  @Test
  void unknownKeysNameTheirPathWithADidYouMean() {
    assertEquals(
        "c.json: unknown key \"learnig_rate\" (did you mean \"learning_rate\"?)",
        error("{\"learnig_rate\": 1}", "c.json"));
    assertEquals(
        "c.yaml: unknown key \"zero.stgae\" (did you mean \"zero.stage\"?)",
        error("zero:\n  stgae: 2\n", "c.yaml"));
    // near no known key: a small section lists its keys
    assertEquals(
        "c.json: unknown key \"completely_unrelated\" (known here: learning_rate, batch_size, seed,"
            + " save_total_limit, fp16, bf16, mode, evaluation_mode, report_to, output_dir,"
            + " do_train, zero)",
        error("{\"completely_unrelated\": 1}", "c.json"));
    ConfigReader<Options> scoped =
        READER.outOfScope("zero.stage3_", "ZeRO stage 3 is out of scope");
    assertEquals(
        "c.json: \"zero.stage3_prefetch\": ZeRO stage 3 is out of scope",
        assertThrows(
                ConfigError.class,
                () -> scoped.read("{\"zero\": {\"stage3_prefetch\": 1}}", "c.json"))
            .getMessage());
    // a file of another tool: unknown keys stay in the tree
    ConfigReader.Bound<Options> lax =
        READER.allowUnknownKeys().read("{\"architectures\": [\"x\"], \"seed\": 7}", "config.json");
    assertEquals(7, lax.value().seed);
    assertEquals("x", lax.tree().get("architectures").get(0).asText());
  }

  @Test
  void typeErrorsNameTheKeyPathAndTheExpectedType() {
    assertEquals(
        "c.json: \"batch_size\" must be an integer, got the string \"twelve\"",
        error("{\"batch_size\": \"twelve\"}", "c.json"));
    assertEquals(
        "c.json: \"batch_size\" must be an integer, got 12.5",
        error("{\"batch_size\": 12.5}", "c.json"));
    assertEquals(
        "c.json: \"batch_size\" is out of range (3000000000)",
        error("{\"batch_size\": 3000000000}", "c.json"));
    assertEquals("c.json: \"fp16\" must be true or false, got 1", error("{\"fp16\": 1}", "c.json"));
    assertEquals(
        "c.json: \"learning_rate\" must be a number, not null",
        error("{\"learning_rate\": null}", "c.json"));
    assertEquals(
        "c.json: \"output_dir\" must be a string, got 5", error("{\"output_dir\": 5}", "c.json"));
    assertEquals(
        "c.json: \"mode\" must be one of linear, constant_with_warmup (got \"cosine\")",
        error("{\"mode\": \"cosine\"}", "c.json"));
    assertEquals(
        "c.json: \"report_to[1]\" must be a string, got 3",
        error("{\"report_to\": [\"mlflow\", 3]}", "c.json"));
    assertEquals(
        "c.json: \"zero\" must be an object, got the string \"2\"",
        error("{\"zero\": \"2\"}", "c.json"));
    assertEquals(
        "c.json: \"zero.weights.a\" must be a number, got true",
        error("{\"zero\": {\"weights\": {\"a\": true}}}", "c.json"));
    // integral doubles and numeric strings are fine; null leaves a boxed value null
    Options o =
        READER
            .read(
                "{\"batch_size\": 2e3, \"seed\": \"7\", \"fp16\": \"TRUE\","
                    + " \"save_total_limit\": null}",
                "c.json")
            .value();
    assertEquals(2000, o.batchSize);
    assertEquals(7, o.seed);
    assertTrue(o.fp16);
    assertNull(o.saveTotalLimit);
  }

  @Test
  void autoWhereASettingTakesIt() {
    Section s =
        READER
            .read("{\"zero\": {\"bucket_size\": \"auto\", \"betas\": \"auto\"}}", "c.json")
            .value()
            .zero;
    assertTrue(s.bucketSize().isAuto());
    assertTrue(s.betas().isAuto());
    assertNull(s.stage());
    ConfigReader.Bound<Options> absent =
        READER.read("{\"zero\": {\"bucket_size\": null}}", "c.json");
    assertTrue(Setting.orAbsent(absent.value().zero.bucketSize()).isAbsent());
    assertTrue(Setting.orAbsent(absent.value().zero.betas()).isAbsent());
    assertEquals(
        "c.json: \"zero.bucket_size\" must be an integer, got the string \"big\" or" + " \"auto\"",
        error("{\"zero\": {\"bucket_size\": \"big\"}}", "c.json"));
    assertEquals(
        "c.json: \"zero.betas\" must be a list of two numbers or \"auto\", got 0.9",
        error("{\"zero\": {\"betas\": 0.9}}", "c.json"));
    assertTrue(
        error("{\"zero\": {\"stage\": \"auto\"}}", "c.json")
            .contains("\"zero.stage\" must be an integer, got the string \"auto\""));
    ConfigReader<Options> hinted = READER.autoHint(" (only sizes can be \"auto\")");
    assertEquals(
        "c.json: \"zero.stage\" cannot be \"auto\" (only sizes can be \"auto\")",
        assertThrows(
                ConfigError.class, () -> hinted.read("{\"zero\": {\"stage\": \"auto\"}}", "c.json"))
            .getMessage());
  }

  @Test
  void everyProblemOfAFileAtOnceThenValidation() {
    String m =
        error(
            "{\"learnig_rate\": 1, \"seed\": \"x\", \"zero\": {\"stage\": [],"
                + " \"stgae\": 1}, \"fp16\": true, \"bf16\": true}",
            "c.json");
    assertEquals(
        "4 configuration errors:\n"
            + "  c.json: unknown key \"learnig_rate\" (did you mean \"learning_rate\"?)\n"
            + "  c.json: \"seed\" must be an integer, got the string \"x\"\n"
            + "  c.json: \"zero.stage\" must be an integer, got a list\n"
            + "  c.json: unknown key \"zero.stgae\" (did you mean \"zero.stage\"?)",
        m);
    // validation runs once every key has its type, and reports all its problems
    ConfigError e =
        assertThrows(
            ConfigError.class,
            () -> READER.read("{\"fp16\": true, \"bf16\": true, \"batch_size\": 0}", "c.json"));
    assertEquals(
        List.of(
            "c.json: at most one of fp16 and bf16 can be true",
            "c.json: batch_size must be >= 1 (got 0)"),
        e.errors());
  }

  @Test
  void aliasesIgnoredKeysAndDuplicates() {
    ConfigReader.Bound<Options> b =
        READER.read(
            "{\"evaluation_mode\": \"linear\", \"do_train\": true, \"zero\": {\"overlap_comm\":"
                + " true}}",
            "c.json");
    assertTrue(b.isExplicit("mode"));
    assertFalse(b.isExplicit("do_train"), "a key without effect is listed, not explicit");
    assertEquals(
        List.of(
            "do_train (always trains)", "zero.overlap_comm (the collectives overlap on their own)"),
        b.notes());
    assertTrue(b.tree().has("mode"), "the tree keeps the main name");
    assertEquals(
        "c.json: give \"mode\" or its older name \"evaluation_mode\", not both",
        error("{\"mode\": \"linear\", \"evaluation_mode\": \"linear\"}", "c.json"));
    assertEquals(
        "c.json: \"zero.overlap_comm\" must be true or false, got the string \"yes\"",
        error("{\"zero\": {\"overlap_comm\": \"yes\"}}", "c.json"));
    assertTrue(
        error("{\"seed\": 1, \"seed\": 2}", "c.json")
            .startsWith("c.json: not valid JSON: Duplicate field 'seed'"));
    assertTrue(
        error("seed: 1\nseed: 2\n", "c.yaml")
            .startsWith("c.yaml: not valid YAML: Duplicate field 'seed'"));
    assertTrue(error("{\"seed\": ", "c.json").startsWith("c.json: not valid JSON"));
  }

  @Test
  void setUpdatesTheBoundTree() {
    ConfigReader.Bound<Options> base =
        READER.read(
            "{\"learning_rate\": 1e-4, \"zero\": {\"stage\": 1, \"bucket_size\": 5}}", "c.json");
    ConfigReader.Bound<Options> b =
        READER.update(
            base,
            List.of(
                "seed=7",
                "mode=constant_with_warmup",
                "report_to=[\"mlflow\"]",
                "output_dir=s3a://b/o=1",
                "zero.stage=2",
                "evaluation_mode=linear",
                "save_total_limit=null",
                "zero={\"betas\": [0.8, 0.9]}"));
    Options o = b.value();
    assertEquals(7, o.seed);
    assertEquals(Mode.LINEAR, o.mode, "the later assignment wins, under the older name too");
    assertEquals(List.of("mlflow"), o.reportTo);
    assertEquals("s3a://b/o=1", o.outputDir);
    assertEquals(2, o.zero.stage());
    assertEquals(5L, o.zero.bucketSize().value(), "a section is merged, not replaced");
    assertEquals(new Betas(0.8, 0.9), o.zero.betas().value());
    assertEquals(1e-4, o.learningRate);
    assertTrue(b.isExplicit("seed") && b.isExplicit("zero.stage") && b.isExplicit("learning_rate"));
    assertEquals("c.json + --set", b.source());
    assertEquals(1, base.value().zero.stage(), "the base is unchanged");
    assertSame(base, READER.update(base, List.of()));

    assertEquals(
        "3 configuration errors:\n"
            + "  --set learnig_rate=1: unknown key \"learnig_rate\" (did you mean"
            + " \"learning_rate\"?)\n"
            + "  --set fp16: expected key=value\n"
            + "  --set zero.stage=abc: \"zero.stage\" must be an integer, got the string \"abc\"",
        assertThrows(
                ConfigError.class,
                () -> READER.update(base, List.of("learnig_rate=1", "fp16", "zero.stage=abc")))
            .getMessage());
    assertEquals(
        "--set: at most one of fp16 and bf16 can be true",
        assertThrows(
                ConfigError.class, () -> READER.update(base, List.of("fp16=true", "bf16=true")))
            .getMessage());
  }

  @Test
  void messagesHelpers() {
    assertEquals("0.00005", ConfigReader.fmt(5e-5));
    assertEquals("200000000", ConfigReader.fmt(2e8));
    assertEquals("0.01", ConfigReader.fmt(0.01));
    assertEquals(
        " (did you mean \"a.stage\"?)",
        ConfigReader.suggestion("stgae", List.of("stage", "offload"), "a."));
    assertEquals(ConfigFormat.YAML, ConfigFormat.of("hdfs:///conf/Train.YML"));
  }
}
