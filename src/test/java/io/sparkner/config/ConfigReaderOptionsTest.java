package io.sparkner.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The opt-in behaviours of {@link ConfigReader}: strict integers, every problem at once. */
class ConfigReaderOptionsTest {

  static final class Conf implements Validated {
    private int replicas = 1;
    private boolean keep = false;
    private double margin = 0.0;
    private String split = "test";

    @Override
    public void validate(List<String> problems) {
      if (replicas < 1) {
        problems.add("\"replicas\" must be >= 1 (got " + replicas + ")");
      }
      if (split.equals("train")) {
        problems.add("\"split\" cannot be train");
      }
    }
  }

  private static final ConfigReader<Conf> LENIENT = ConfigReader.of(Conf.class);

  @Test
  void strictIntegersRefuseStringsButNumbersStayLenient() {
    ConfigReader<Conf> strict = LENIENT.strictIntegers();
    assertEquals(
        "c.json: \"replicas\" must be an integer, got the string \"2\"",
        assertThrows(ConfigError.class, () -> strict.read("{\"replicas\": \"2\"}", "c.json"))
            .getMessage());
    assertEquals(
        "c.json: \"keep\" must be true or false, got the string \"true\"",
        assertThrows(ConfigError.class, () -> strict.read("{\"keep\": \"true\"}", "c.json"))
            .getMessage());
    // YAML 1.1 reads 5e-3 as a string: still a number
    assertEquals(0.005, strict.read("margin: 5e-3\nreplicas: 2\n", "c.yaml").value().margin);
    assertEquals(
        2,
        LENIENT.read("{\"replicas\": \"2\"}", "c.json").value().replicas,
        "the default reader takes a numeric string");
  }

  @Test
  void allProblemsAtOnceValidatesWhatDidBind() {
    String text = "{\"replicas\": 0, \"split\": \"train\", \"kep\": true, \"margin\": \"x\"}";
    assertEquals(
        List.of(
            "c.json: unknown key \"kep\" (did you mean \"keep\"?)",
            "c.json: \"margin\" must be a number, got the string \"x\""),
        assertThrows(ConfigError.class, () -> LENIENT.read(text, "c.json")).errors(),
        "by default validation waits for the types");
    assertEquals(
        List.of(
            "c.json: unknown key \"kep\" (did you mean \"keep\"?)",
            "c.json: \"margin\" must be a number, got the string \"x\"",
            "c.json: \"replicas\" must be >= 1 (got 0)",
            "c.json: \"split\" cannot be train"),
        assertThrows(ConfigError.class, () -> LENIENT.allProblemsAtOnce().read(text, "c.json"))
            .errors());
    // a refused value stays at its default for the validation: no second complaint about it
    assertEquals(
        List.of("c.json: \"replicas\" must be an integer, got the string \"0\""),
        assertThrows(
                ConfigError.class,
                () ->
                    LENIENT
                        .strictIntegers()
                        .allProblemsAtOnce()
                        .read("{\"replicas\": \"0\"}", "c.json"))
            .errors());
  }
}
