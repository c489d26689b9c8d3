package io.sparkner.crosslingual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    assertEquals(List.of("ko", "zh", "en", "de"), stockmark.evaluate().sets().get("panx").stream().map(i -> i.lang()).toList());
    assertEquals("stockmark", stockmark.train().inputs().get(0).kind());
    assertTrue(stockmark.evaluate().trainingCorpus());

    CrossLingualConfig ja = conf("crosslingual-panx-ja.json");
    assertEquals("ja", ja.train().inputs().get(0).lang());
    assertTrue(ja.evaluate().typeMap().isEmpty());

    CrossLingualConfig sample = conf("crosslingual-sample.json");
    assertNull(sample.tokenizer().path());
    assertEquals(5, sample.tokenizer().buildCorpus().size());
    assertEquals("conf/tiny-xlmr-config.json", sample.model().initConfig());
    assertEquals(128, sample.prepare().align().maxLength());
  }

  private static String error(String json) {
    return assertThrows(IllegalArgumentException.class, () -> CrossLingualConfig.parse(json, "x.json")).getMessage();
  }

  @Test
  void mistakesNameTheKey() {
    String base = "\"model\": \"m\", \"tokenizer\": \"t\", \"train\": {\"inputs\": [\"stockmark:a.json\"]}";
    assertTrue(error("{" + base + ", \"evaluate\": {\"setz\": {}}}").contains("x.json: evaluate.setz: unknown key"));
    assertTrue(error("{" + base + ", \"evaluate\": {\"sets\": {\"p\": [\"panx:ko:a\", \"nope:b\"]}}}").contains("evaluate.sets.p[1]"));
    assertTrue(error("{" + base + ", \"evaluate\": {\"sets\": {}, \"examples\": \"20\"}}").contains("evaluate.examples: must be an integer"));
    assertTrue(error("{" + base + ", \"evaluate\": {\"sets\": {}, \"training_corpus\": false}}").contains("nothing to evaluate"));
    assertTrue(error("{" + base + ", \"evaluate\": {\"sets\": {}, \"type_map\": \"ORG-P\"}}").contains("FROM=TO"));
    assertTrue(error("{\"model\": {\"seed\": 1}, \"tokenizer\": \"t\", \"train\": {\"inputs\": [\"stockmark:a\"]}, \"evaluate\": {\"sets\": {}}}").contains("model.init: is missing"));
    assertTrue(error("{\"tokenizer\": \"t\"}").contains("model: is missing"));
  }

  @Test
  void outOfRangeNumbersNameTheKey() {
    String model = "\"model\": \"m\", \"tokenizer\": \"t\"";
    String train = "\"train\": {\"inputs\": [\"stockmark:a.json\"]}";
    String eval = "\"evaluate\": {\"sets\": {}}";
    for (String bad : new String[] {"0", "-5"}) {
      String e = error("{" + model + ", " + train + ", \"evaluate\": {\"sets\": {}, \"batch_size\": " + bad + "}}");
      assertTrue(e.contains("evaluate.batch_size") && e.contains(bad), e);
      e = error("{" + model + ", \"train\": {\"inputs\": [\"stockmark:a.json\"], \"replicas\": " + bad + "}, " + eval + "}");
      assertTrue(e.contains("train.replicas") && e.contains(bad), e);
    }
    String e = error("{" + model + ", " + train + ", \"evaluate\": {\"sets\": {}, \"examples\": -1}}");
    assertTrue(e.contains("evaluate.examples") && e.contains("-1"), e);
    e = error("{" + model + ", " + train + ", \"evaluate\": {\"sets\": {}, \"batch_size\": 1000000}}");
    assertTrue(e.contains("evaluate.batch_size") && e.contains("1000000"), e);
    e = error("{\"model\": \"m\", \"tokenizer\": {\"build\": {\"corpus\": [\"stockmark:a\"], \"kind\": \"bpe\"}}, " + train + ", " + eval + "}");
    assertTrue(e.contains("tokenizer.build.kind") && e.contains("bpe"), e);
  }
}
