package io.sparkner.retrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.config.ConfigError;
import io.sparkner.train.TrainConfig;
import io.sparkner.train.TrainingArguments;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The promotion rule, the configuration's checks and the registry's pointer, without Spark. */
class RetrainRulesTest {
  static final RetrainConfig.Promotion RULE = new RetrainConfig.Promotion(0.01, 0.02);

  static Scores scores(double micro, double ja, double ko) {
    return new Scores(
        micro, 300, Map.of("ja", new Scores.Language(ja, 150), "ko", new Scores.Language(ko, 150)));
  }

  @Test
  void theChallengerMustBeatTheChampionByTheMargin() {
    assertTrue(
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.72, 0.72, 0.72), RULE, List.of())
            .promote());
    Decision below =
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.705, 0.705, 0.705), RULE, List.of());
    assertFalse(below.promote());
    assertTrue(
        below.reasons().get(0).contains("below the margin 0.0100"), below.reasons().toString());
    // exactly the margin, give or take float noise, is enough
    assertTrue(
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.71, 0.71, 0.71), RULE, List.of())
            .promote());
    // a margin of 0 still asks the challenger to be better, not equal
    RetrainConfig.Promotion zero = new RetrainConfig.Promotion(0, 0.02);
    Decision tie =
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.70, 0.70, 0.70), zero, List.of());
    assertFalse(tie.promote());
    assertTrue(
        tie.reasons().get(0).contains("does not beat the champion"), tie.reasons().toString());
  }

  @Test
  void noLanguageMayDropByMoreThanTheTolerance() {
    // better overall, but Korean loses 3 points: kept
    Decision d =
        Decision.decide(
            scores(0.70, 0.70, 0.70), scores(0.75, 0.80, 0.67), RULE, List.of("ja", "ko"));
    assertFalse(d.promote());
    assertTrue(
        d.reasons().stream()
            .anyMatch(
                r ->
                    r.startsWith("ko: F1 0.6700 vs 0.7000 (-0.0300")
                        && r.contains("drops by more than the tolerance 0.0200")),
        d.reasons().toString());
    assertTrue(
        d.reasons().stream()
            .anyMatch(
                r ->
                    r.startsWith("ja: F1 0.8000 vs 0.7000 (+0.1000")
                        && r.contains("within the tolerance")),
        d.reasons().toString());
    assertEquals("keep the champion", d.reasons().get(d.reasons().size() - 1));
    // a drop within the tolerance is allowed
    assertTrue(
        Decision.decide(
                scores(0.70, 0.70, 0.70), scores(0.75, 0.80, 0.69), RULE, List.of("ja", "ko"))
            .promote());
    // only the listed languages are checked; with none listed, every scored one is
    assertTrue(
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.75, 0.80, 0.60), RULE, List.of("ja"))
            .promote());
    assertFalse(
        Decision.decide(scores(0.70, 0.70, 0.70), scores(0.75, 0.80, 0.60), RULE, List.of())
            .promote());
  }

  @Test
  void withoutAChampionTheChallengerIsPromoted() {
    Decision d = Decision.decide(null, scores(0.01, 0.0, 0.02), RULE, List.of("ja", "ko"));
    assertTrue(d.promote());
    assertTrue(d.reasons().get(0).startsWith("no champion yet"), d.reasons().toString());
  }

  static final String GOOD =
      """
      {"registry": "r", "corpora": [{"kind": "panx", "path": "data/panx/{lang}", "languages": ["ja", "ko"]}],
       "base_model": "m", "promotion": {"margin": 0.005}}\
      """;

  @Test
  void theConfigurationHasDefaultsAndExpandsLanguages() {
    RetrainConfig c = RetrainConfig.parse(GOOD, "r.json");
    assertEquals(2, c.inputs().size());
    assertEquals("data/panx/ko", c.inputs().get(1).path());
    assertEquals("ko", c.inputs().get(1).lang());
    assertEquals(RetrainConfig.WarmStart.CHAMPION, c.warmStart());
    assertEquals("test", c.evaluate().split());
    assertEquals(0.005, c.promotion().margin());
    assertEquals(0.01, c.promotion().tolerance());
    assertEquals(1, c.train().replicas());
    assertFalse(c.train().keepCheckpoints());
    RetrainConfig yaml =
        RetrainConfig.parse(
            "registry: r\n"
                + "corpora:\n"
                + "  - {kind: stockmark, path: s.json}\n"
                + "base_model: m\n"
                + "promotion: {margin: 5e-3}\n",
            "r.yaml");
    assertEquals(0.005, yaml.promotion().margin());
    RetrainConfig args =
        RetrainConfig.parse(
            GOOD.replace(
                "\"base_model\"",
                "\"train\": {\"args\": {\"learning_rate\": 3e-5, \"lr_scheduler_type\":"
                    + " \"constant\", \"report_to\": [\"mlflow\"]}}, \"base_model\""),
            "r.json");
    assertEquals(
        List.of("learning_rate=3.0E-5", "lr_scheduler_type=constant", "report_to=[\"mlflow\"]"),
        args.train().overrides());
    TrainingArguments parsed = TrainingArguments.defaults().withOverrides(args.train().overrides());
    assertEquals(3e-5, parsed.learningRate());
    assertTrue(parsed.reportToMlflow());
  }

  @Test
  void configurationErrorsNameTheKeyAndAreAllReported() {
    String bad =
        """
        {"registry": "r", "corpora": [{"kind": "panx", "path": "data/panx/{lang}"}, {"kind": "tsv", "path": "x"}],
         "base_model": "m", "warm_start": "latest", "promotion": {"margn": 0.01, "tolerance": 2},
         "evaluate": {"split": "train"}, "train": {"replicas": 0}}\
        """;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> RetrainConfig.parse(bad, "conf/x.json"));
    String m = e.getMessage();
    for (String expected :
        List.of(
            "conf/x.json: corpora[0].path has {lang} but no \"languages\" are given",
            "corpora[1].kind \"tsv\" is not one of",
            "conf/x.json: \"warm_start\" must be one of champion, base (got \"latest\")",
            "conf/x.json: unknown key \"promotion.margn\" (did you mean \"promotion.margin\"?)",
            "promotion.tolerance must be in [0, 1)",
            "split \"train\" is what the challenger trains on",
            "\"train.replicas\" must be an integer >= 1 (got 0)")) {
      assertTrue(m.contains(expected), "missing <" + expected + "> in:\n" + m);
    }
    IllegalArgumentException noBase =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                RetrainConfig.parse(
                    "{\"registry\": \"r\", \"corpora\": [{\"kind\": \"stockmark\", \"path\":"
                        + " \"s\"}]}",
                    "c.json"));
    assertTrue(noBase.getMessage().contains("\"base_model\" is required"), noBase.getMessage());
    IllegalArgumentException json =
        assertThrows(
            IllegalArgumentException.class, () -> RetrainConfig.parse("{\"registry\": ", "c.json"));
    assertTrue(json.getMessage().startsWith("c.json: not valid JSON"), json.getMessage());
  }

  @Test
  void shapesAndOlderSpellingsOfTheConfiguration() {
    String corpora =
        "\"registry\": \"r\", \"corpora\": [{\"kind\": \"PanX\", \"path\": \"p/{lang}\","
            + " \"languages\": \"ja, ko\"}, {\"kind\": \"stockmark\", \"path\": \"s\", \"lang\":"
            + " \"ja\"}]";
    RetrainConfig c =
        RetrainConfig.parse(
            "{" + corpora + ", \"base_model\": {\"init\": {\"config\": \"c.json\"}}}", "c.json");
    assertEquals(
        List.of("panx:ja:p/ja", "panx:ko:p/ko", "stockmark:ja:s"),
        c.inputs().stream().map(i -> i.kind() + ":" + i.lang() + ":" + i.path()).toList());
    assertEquals("unigram", c.base().init().tokenizerKind());
    assertEquals(8000, c.base().init().vocabSize());
    assertEquals(256, c.prepare().maxLength());
    // null is the default, as before; in train.args it is an override
    RetrainConfig nulls =
        RetrainConfig.parse(
            "{"
                + corpora
                + ", \"base_model\": \"m\", \"warm_start\": null, \"prepare\": {\"max_length\":"
                + " null, \"seed\": null}, \"train\": {\"replicas\": null, \"args\":"
                + " {\"save_total_limit\": null}}}",
            "c.json");
    assertEquals(256, nulls.prepare().maxLength());
    assertEquals(RetrainConfig.WarmStart.CHAMPION, nulls.warmStart());
    assertEquals(1, nulls.train().replicas());
    assertEquals(List.of("save_total_limit=null"), nulls.train().overrides());
    assertTrue(
        nulls.json().path("prepare").has("max_length"), "the run record keeps the file as given");
    assertEquals(
        List.of("c.json: \"base_model\" must be a path or {\"init\": {...}}, not both"),
        assertThrows(
                ConfigError.class,
                () ->
                    RetrainConfig.parse(
                        "{"
                            + corpora
                            + ", \"base_model\": {\"model\": \"m\", \"init\": {\"config\":"
                            + " \"c\"}}}",
                        "c.json"))
            .errors());
    assertEquals(
        List.of(
            "c.json: \"base_model\" is required: a Hugging Face checkpoint directory, or {\"init\":"
                + " {\"config\": ...}}"),
        assertThrows(
                ConfigError.class,
                () -> RetrainConfig.parse("{" + corpora + ", \"base_model\": 5}", "c.json"))
            .errors());
    assertEquals(
        List.of(
            "c.json: \"prepare.type_map\": --type-map: 'ORG' is not FROM=TO (e.g."
                + " ORG-P=ORG,INS=O)"),
        assertThrows(
                ConfigError.class,
                () ->
                    RetrainConfig.parse(
                        "{"
                            + corpora
                            + ", \"base_model\": \"m\", \"prepare\": {\"type_map\": \"ORG\"}}",
                        "c.json"))
            .errors());
    // integers and booleans are refused as strings, as before; a number may be one (YAML 1.1)
    assertEquals(
        List.of(
            "c.yaml: unknown key \"base_model.init.vocab_sise\" (did you mean"
                + " \"base_model.init.vocab_size\"?)",
            "c.yaml: \"train.replicas\" must be an integer, got the string \"2\"",
            "c.yaml: \"train.keep_checkpoints\" must be true or false, got the string \"yes\"",
            "c.yaml: base_model.init: give \"tokenizer\" (a tokenizer.json) or \"tokenizer_kind\""
                + " (build one), not both"),
        assertThrows(
                ConfigError.class,
                () ->
                    RetrainConfig.parse(
                        "registry: r\n"
                            + "corpora: [{kind: stockmark, path: s}]\n"
                            + "base_model: {init: {config: c, tokenizer: t, tokenizer_kind:"
                            + " unigram, vocab_sise: 9}}\n"
                            + "train: {replicas: '2', keep_checkpoints: 'yes'}\n"
                            + "promotion: {margin: 1e-2}\n",
                        "c.yaml"))
            .errors());
  }

  @Test
  void thePointerChangesInOneStepAndOnlyFromTheExpectedChampion(@TempDir Path dir)
      throws IOException {
    Configuration conf = new Configuration();
    Registry reg = new Registry(dir.toString(), conf);
    assertTrue(reg.champion().isEmpty());
    Path model = dir.resolve("runs/a/model");
    Files.createDirectories(model);
    Files.writeString(model.resolve("config.json"), "{}");
    Registry.Champion a =
        new Registry.Champion("a", model.toUri().toString(), Registry.now(), 0.5, "retrain");
    assertTrue(reg.promote(a, Optional.empty()));
    assertEquals("a", reg.champion().orElseThrow().runId());
    // a run that started when there was no champion cannot overwrite the one promoted meanwhile
    Registry.Champion b =
        new Registry.Champion("b", model.toUri().toString(), Registry.now(), 0.6, "retrain");
    assertFalse(reg.promote(b, Optional.empty()));
    assertEquals("a", reg.champion().orElseThrow().runId());
    assertTrue(reg.promote(b, reg.champion()));
    assertEquals("b", reg.champion().orElseThrow().runId());
    try (var s = Files.list(dir)) {
      assertEquals(
          List.of(),
          s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp")).toList(),
          "no temporary file is left");
    }
    assertEquals(
        List.of("a", "b"), reg.history().stream().map(h -> h.path("run_id").asText()).toList());
    assertEquals("a", reg.history().get(1).path("previous").asText());

    // the champion file is a copy of the newest promotion, which is what names the champion
    Files.writeString(dir.resolve("champion"), "{not json");
    assertEquals("b", reg.champion().orElseThrow().runId());
    Path newest = dir.resolve("promotions/0000000002.json");
    Files.writeString(newest, "{not json");
    IllegalStateException broken = assertThrows(IllegalStateException.class, reg::champion);
    assertTrue(broken.getMessage().contains(newest.toString()), broken.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Registry.checkRunId("../escape"));
    assertTrue(
        Registry.newRunId(java.time.Instant.parse("2025-01-02T03:04:05Z"))
            .matches("20250102-030405-[0-9a-f]{4}"));
  }

  @Test
  void maxStepsZeroTrainsTheEpochsAsInHuggingFaceAndSaysSo() {
    TrainingArguments a =
        TrainingArguments.parse("{\"max_steps\": 0, \"num_train_epochs\": 2}", "t.json");
    TrainConfig c = TrainConfig.resolve(a, null, 1, 100, 64);
    assertEquals(2 * c.stepsPerEpoch(), c.totalSteps());
    assertTrue(
        c.ignoredKeys().stream()
            .anyMatch(
                k ->
                    k.startsWith(
                        "max_steps=0 of t.json (as in Hugging Face, max_steps <= 0 means unset")),
        c.ignoredKeys().toString());
  }
}
