package io.sparkner.config;

import java.util.List;

/**
 * Every problem found in one configuration, each a complete sentence that starts with the file (or
 * {@code --set key=value}) it is about. One problem is the message itself; several are listed under
 * {@code "N configuration errors:"}.
 */
public final class ConfigError extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> errors;

  public ConfigError(String error) {
    this(List.of(error));
  }

  public ConfigError(List<String> errors) {
    super(message(errors));
    this.errors = List.copyOf(errors);
  }

  /** The problems, one per entry, in the order they were found. */
  public List<String> errors() {
    return errors;
  }

  /** Throws the problems collected so far, if any. */
  public static void throwIfAny(List<String> errors) {
    if (!errors.isEmpty()) {
      throw new ConfigError(errors);
    }
  }

  private static String message(List<String> errors) {
    if (errors.size() == 1) {
      return errors.get(0);
    }
    return errors.size() + " configuration errors:\n  " + String.join("\n  ", errors);
  }
}
