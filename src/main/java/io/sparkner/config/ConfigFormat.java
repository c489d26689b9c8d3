package io.sparkner.config;

import java.util.Locale;

/** The configuration file formats, chosen by file extension in this one place. */
public enum ConfigFormat {
  JSON,
  YAML;

  /**
   * The format of a name ending in .json, .yaml or .yml (case-insensitive): a file name, a Hadoop
   * path or a URL.
   *
   * @throws ConfigError for any other name
   */
  public static ConfigFormat of(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".json")) {
      return JSON;
    }
    if (n.endsWith(".yaml") || n.endsWith(".yml")) {
      return YAML;
    }
    throw new ConfigError(
        name + ": unknown configuration format (the name must end in .json, .yaml or .yml)");
  }
}
