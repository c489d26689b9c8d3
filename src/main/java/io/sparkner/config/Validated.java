package io.sparkner.config;

import java.util.List;

/**
 * A bound configuration that checks its values (ranges, combinations) once every key has the right
 * type. {@link ConfigReader} calls it after binding and prefixes each problem with the file (or
 * {@code --set}) it came from.
 */
public interface Validated {
  /** Adds one sentence per problem, e.g. {@code "warmup_ratio must be in [0, 1] (got 1.5)"}. */
  void validate(List<String> problems);
}
