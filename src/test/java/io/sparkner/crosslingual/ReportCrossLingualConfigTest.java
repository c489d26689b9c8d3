package io.sparkner.crosslingual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.config.ConfigError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shipped configurations parse, and mistakes name the key. */
class ReportCrossLingualConfigTest {
  private static CrossLingualConfig conf(String name) throws IOException {
    Path p = Path.of("conf", name);
    return CrossLingualConfig.parse(Files.readString(p), p.toString());
  }

  @Test
  void shippedConfigurations() throws IOException {
    CrossLingualConfig stockmark = conf("crosslingual-stockmark.json");
    assertEquals("../shared/models/bge-small-zh-v1.5", stockmark.model().path());
    assertEquals(Map.of("ORG-P", "ORG", "ORG-O", "ORG"), stockmark.evaluate().typeMap());
    assertEquals(
        List.of("ko", "zh", "en", "de"),
        stockmark.evaluate().sets().get("panx").stream().map(i -> i.lang()).toList());
    assertEquals("stockmark", stockmark.train().inputs().get(0).kind());
    assertTrue(stockmark.evaluate().trainingCorpus());

    // the example's global batch of 12 over two replicas (the fast path on a CPU machine)
    assertEquals(2, stockmark.train().replicas());
    assertEquals(List.of("per_device_train_batch_size=6"), stockmark.train().set());

    CrossLingualConfig ja = conf("crosslingual-panx-ja.json");
    assertEquals("ja", ja.train().inputs().get(0).lang());
    assertTrue(ja.evaluate().typeMap().isEmpty());
    assertEquals(2, ja.train().replicas());

    CrossLingualConfig jaKo = conf("crosslingual-panx-jako.json");
    assertEquals(List.of("ja", "ko"), jaKo.train().inputs().stream().map(i -> i.lang()).toList());
    assertEquals(
        List.of("zh", "en", "de"),
        jaKo.evaluate().sets().get("panx").stream().map(i -> i.lang()).toList());
    assertEquals(List.of("per_device_train_batch_size=6"), jaKo.train().set());

    CrossLingualConfig sample = conf("crosslingual-sample.json");
    assertNull(sample.tokenizer().path());
    assertEquals(5, sample.tokenizer().buildCorpus().size());
    assertEquals("conf/tiny-xlmr-config.json", sample.model().initConfig());
    assertEquals(128, sample.prepare().align().maxLength());
  }

  private static String error(String json) {
    return assertThrows(
            IllegalArgumentException.class, () -> CrossLingualConfig.parse(json, "x.json"))
        .getMessage();
  }

  @Test
  void mistakesNameTheKey() {
    String base =
        "\"model\": \"m\", \"tokenizer\": \"t\", \"train\": {\"inputs\": [\"stockmark:a.json\"]}";
    assertTrue(
        error("{" + base + ", \"evaluate\": {\"setz\": {}}}")
            .contains("x.json: unknown key \"evaluate.setz\" (did you mean \"evaluate.sets\"?)"));
    assertTrue(
        error("{" + base + ", \"evaluate\": {\"sets\": {\"p\": [\"panx:ko:a\", \"nope:b\"]}}}")
            .contains("evaluate.sets.p[1]"));
    assertTrue(
        error("{" + base + ", \"evaluate\": {\"sets\": {}, \"examples\": \"20\"}}")
            .contains("x.json: \"evaluate.examples\" must be an integer, got the string \"20\""));
    assertTrue(
        error("{" + base + ", \"evaluate\": {\"sets\": {}, \"training_corpus\": false}}")
            .contains("nothing to evaluate"));
    assertTrue(
        error("{" + base + ", \"evaluate\": {\"sets\": {}, \"type_map\": \"ORG-P\"}}")
            .contains("FROM=TO"));
    assertTrue(
        error(
                "{\"model\": {\"seed\": 1}, \"tokenizer\": \"t\", \"train\": {\"inputs\":"
                    + " [\"stockmark:a\"]}, \"evaluate\": {\"sets\": {}}}")
            .contains("x.json: \"model.init\" is missing"));
    assertTrue(error("{\"tokenizer\": \"t\"}").contains("x.json: \"model\" is missing"));
  }

  @Test
  void yamlLikeJsonAndEveryProblemAtOnce() {
    CrossLingualConfig yaml =
        CrossLingualConfig.parse(
            """
            tokenizer: t
            model: {init: conf/tiny-xlmr-config.json}
            prepare: {scheme: io, max_length: 128}
            train: {inputs: ["stockmark:a.json"], set: num_train_epochs=2}
            evaluate:
              sets: {panx: ["panx:ko:k", "panx:zh:z"]}
              type_map: ORG-P=ORG
            """,
            "x.yaml");
    assertEquals("t", yaml.tokenizer().path());
    assertEquals(42, yaml.model().seed());
    assertEquals(128, yaml.prepare().align().maxLength());
    assertEquals(64, yaml.prepare().align().stride());
    assertEquals("IO", yaml.prepare().scheme().name());
    assertEquals(List.of("num_train_epochs=2"), yaml.train().set());
    assertEquals(
        List.of("ko", "zh"),
        yaml.evaluate().sets().get("panx").stream().map(i -> i.lang()).toList());
    assertEquals(Map.of("ORG-P", "ORG"), yaml.evaluate().typeMap());
    // null is the default, as no key; a set given as null is not silently dropped
    String minimal =
        "{\"model\": \"m\", \"tokenizer\": \"t\", \"prepare\": null, \"train\": {\"inputs\":"
            + " [\"stockmark:a\"], \"replicas\": null}, \"evaluate\": {\"sets\": %s, \"examples\":"
            + " null}}";
    CrossLingualConfig nulls = CrossLingualConfig.parse(minimal.formatted("{}"), "x.json");
    assertEquals(1, nulls.train().replicas());
    assertEquals(20, nulls.evaluate().examples());
    assertEquals(256, nulls.prepare().align().maxLength());
    assertEquals(
        "x.json: \"evaluate.sets.p\" is missing", error(minimal.formatted("{\"p\": null}")));

    ConfigError e =
        assertThrows(
            ConfigError.class,
            () ->
                CrossLingualConfig.parse(
                    "{\"model\": 5, \"tokenizer\": {\"build\": {\"corpus\": [\"tsv:a\"],"
                        + " \"vocab_size\": 0}}, \"prepare\": {\"strid\": 1,"
                        + " \"label_all_subwords\": \"yes\"}, \"train\": {\"inputs\": [],"
                        + " \"type_map\": \"X\"}, \"evaluate\": {\"sets\": {\"a b\":"
                        + " [\"panx:ko:k\"]}}}",
                    "x.json"));
    assertEquals(
        List.of(
            "x.json: unknown key \"prepare.strid\" (did you mean \"prepare.stride\"?)",
            "x.json: \"prepare.label_all_subwords\" must be true or false, got the string \"yes\"",
            "x.json: \"tokenizer.build.corpus[0]\": --input 'tsv:a': unknown kind 'tsv', expected"
                + " one of [stockmark, panx, conll, jsonl]",
            "x.json: \"tokenizer.build.vocab_size\" must be between 1 and 10000000, got 0",
            "x.json: \"model.init\" is missing (give a checkpoint directory as a string, or"
                + " {\"init\": CONFIG_JSON})",
            "x.json: \"train.inputs\" is empty",
            "x.json: \"train.type_map\": --type-map: 'X' is not FROM=TO (e.g. ORG-P=ORG,INS=O)",
            "x.json: \"evaluate.sets.a b\": a set name becomes a directory name: use letters,"
                + " digits, '-', '_', '.'"),
        e.errors());
  }

  @Test
  void outOfRangeNumbersNameTheKey() {
    String model = "\"model\": \"m\", \"tokenizer\": \"t\"";
    String train = "\"train\": {\"inputs\": [\"stockmark:a.json\"]}";
    String eval = "\"evaluate\": {\"sets\": {}}";
    for (String bad : new String[] {"0", "-5"}) {
      String e =
          error(
              "{"
                  + model
                  + ", "
                  + train
                  + ", \"evaluate\": {\"sets\": {}, \"batch_size\": "
                  + bad
                  + "}}");
      assertTrue(e.contains("evaluate.batch_size") && e.contains(bad), e);
      e =
          error(
              "{"
                  + model
                  + ", \"train\": {\"inputs\": [\"stockmark:a.json\"], \"replicas\": "
                  + bad
                  + "}, "
                  + eval
                  + "}");
      assertTrue(e.contains("train.replicas") && e.contains(bad), e);
    }
    String e =
        error("{" + model + ", " + train + ", \"evaluate\": {\"sets\": {}, \"examples\": -1}}");
    assertTrue(e.contains("evaluate.examples") && e.contains("-1"), e);
    e =
        error(
            "{"
                + model
                + ", "
                + train
                + ", \"evaluate\": {\"sets\": {}, \"batch_size\": 1000000}}");
    assertTrue(e.contains("evaluate.batch_size") && e.contains("1000000"), e);
    e =
        error(
            "{\"model\": \"m\", \"tokenizer\": {\"build\": {\"corpus\": [\"stockmark:a\"],"
                + " \"kind\": \"bpe\"}}, "
                + train
                + ", "
                + eval
                + "}");
    assertTrue(e.contains("tokenizer.build.kind") && e.contains("bpe"), e);
  }
}
