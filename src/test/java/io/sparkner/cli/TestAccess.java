package io.sparkner.cli;

import java.io.IOException;

/** Lets tests in other packages run package-private CLI steps. */
public final class TestAccess {
  private TestAccess() {}

  public static void init(String config, String tokenizer, String labels, String output) throws IOException {
    InitCommand.init(config, tokenizer, labels, output, 42);
  }
}
