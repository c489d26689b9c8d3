package io.sparkner.cli;

import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.TypeMap;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.tokenizer.TokenizerCache;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * Checks every {@link Accepts}-annotated option of the command about to run, before it runs: a bad
 * value is a {@link CommandLine.ParameterException} whose message starts with the option's name,
 * which {@link Main} prints with exit code 2. Nothing has been started or written at that point.
 */
final class OptionChecks {
  private OptionChecks() {}

  /** Checks the options of the innermost subcommand of {@code parsed} (and of its parents). */
  static void check(ParseResult parsed) {
    List<ParseResult> chain = new ArrayList<>();
    for (ParseResult p = parsed; p != null; p = p.subcommand()) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return; // --help prints help whatever else is on the line
      }
      chain.add(p);
    }
    Configuration conf = null;
    for (ParseResult p : chain) {
      CommandSpec spec = p.commandSpec();
      for (OptionSpec o : spec.options()) {
        Accepts a = accepts(o);
        if (a == null || o.getValue() == null) {
          continue;
        }
        if (conf == null && needsFiles(a.value())) {
          conf = HadoopConf.current();
        }
        for (Object v : values(o.getValue())) {
          String problem = problem(a, String.valueOf(v), spec, conf);
          if (problem != null) {
            throw new CommandLine.ParameterException(
                spec.commandLine(), o.longestName() + ": " + problem, o, String.valueOf(v));
          }
        }
      }
    }
  }

  /** The annotation of an option's field; null for picocli's own --help and --version. */
  static Accepts accepts(OptionSpec o) {
    return o.userObject() instanceof Field f ? f.getAnnotation(Accepts.class) : null;
  }

  private static Collection<?> values(Object value) {
    if (value instanceof Collection<?> c) {
      return c;
    }
    return List.of(value);
  }

  private static boolean needsFiles(Accepts.Kind k) {
    return switch (k) {
      case INPUT, TOKENIZER, CHECKPOINT, PREPARED, CORPUS, LABELS, NEW_OUTPUT -> true;
      default -> false;
    };
  }

  /** What is wrong with {@code v}, or null when nothing is. */
  private static String problem(Accepts a, String v, CommandSpec spec, Configuration conf) {
    switch (a.value()) {
      case INT -> {
        long n;
        try {
          n = Long.parseLong(v);
        } catch (NumberFormatException e) {
          return "'" + v + "' is not a whole number";
        }
        if (n < a.min()) {
          return "must be at least " + a.min() + ", got " + n;
        }
        if (n > a.max()) {
          return "must be at most " + a.max() + ", got " + n;
        }
        return null;
      }
      case PORT_RANGE -> {
        try {
          portRange(v);
          return null;
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      case ONE_OF -> {
        for (String s : a.oneOf()) {
          if (s.equalsIgnoreCase(v.trim())) {
            return null;
          }
        }
        return "'" + v + "' is not one of " + choices(a.oneOf());
      }
      case ENUM, FLAG -> {
        return null;
      }
      case TEXT, OUTPUT -> {
        return v.isBlank() ? "must not be empty" : null;
      }
      case KEY_VALUE -> {
        int eq = v.indexOf('=');
        return eq <= 0 || v.substring(0, eq).isBlank() ? "'" + v + "' is not NAME=VALUE" : null;
      }
      case TYPE_MAP -> {
        try {
          TypeMap.parse(v, null);
          return null;
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      case INPUT -> {
        return v.isBlank()
            ? "must not be empty"
            : exists(v, conf) ? null : "no such file or directory: " + v;
      }
      case CORPUS -> {
        try {
          CorpusInput in = CorpusInput.parse(v);
          return exists(in.path(), conf)
              ? null
              : "'" + v + "': no such file or directory: " + in.path();
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      case TOKENIZER -> {
        if (v.isBlank()) {
          return "must not be empty";
        }
        try {
          TokenizerCache.tokenizerFile(HadoopFiles.qualify(v, conf), conf);
          return null;
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      case CHECKPOINT -> {
        if (v.isBlank()) {
          return "must not be empty";
        }
        String dir = v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
        return exists(dir + "/config.json", conf)
            ? null
            : "no config.json in "
                + v
                + " (not a Hugging Face checkpoint directory"
                + (exists(v, conf) ? ")" : "; it does not exist)");
      }
      case PREPARED -> {
        if (v.isBlank()) {
          return "must not be empty";
        }
        try {
          PreparedData.requireComplete(HadoopFiles.qualify(v, conf), conf);
          return null;
        } catch (IllegalArgumentException e) {
          return e.getMessage();
        }
      }
      case LABELS -> {
        if (v.endsWith(".json")) {
          return exists(v, conf) ? null : "no such file: " + v;
        }
        return Arrays.stream(v.split(",", -1)).anyMatch(String::isBlank)
            ? "'" + v + "' is neither a labels.json nor a comma-separated list of labels"
            : null;
      }
      case NEW_OUTPUT -> {
        if (v.isBlank()) {
          return "must not be empty";
        }
        OptionSpec overwrite = spec.findOption("--overwrite");
        if (overwrite != null && Boolean.TRUE.equals(overwrite.getValue())) {
          return null;
        }
        String taken = taken(v, conf);
        return taken == null
            ? null
            : v
                + " "
                + taken
                + "; choose another path"
                + (overwrite != null ? " or pass --overwrite to replace it" : "");
      }
    }
    throw new IllegalStateException("unhandled kind " + a.value());
  }

  /**
   * {@code FROM-TO}: {@code 0-0} lets every replica take any free port, else 1 &lt;= FROM &lt;= TO
   * &lt;= 65535.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  static int[] portRange(String v) {
    String[] parts = v.split("-", -1);
    if (parts.length != 2) {
      throw new IllegalArgumentException(
          "'" + v + "' is not FROM-TO, e.g. 40000-40100 (0-0: any free port)");
    }
    int[] out = new int[2];
    for (int i = 0; i < 2; i++) {
      try {
        out[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "'"
                + v
                + "' is not FROM-TO with two port numbers, e.g. 40000-40100 (0-0: any free port)");
      }
    }
    boolean any = out[0] == 0 && out[1] == 0;
    if (!any && (out[0] < 1 || out[1] > 65535 || out[0] > out[1])) {
      throw new IllegalArgumentException(
          "'" + v + "' must be 0-0 (any free port) or FROM-TO with 1 <= FROM <= TO <= 65535");
    }
    return out;
  }

  private static String choices(String[] values) {
    if (values.length == 1) {
      return values[0];
    }
    return String.join(", ", Arrays.asList(values).subList(0, values.length - 1))
        + " or "
        + values[values.length - 1];
  }

  /**
   * Whether a path (or glob) names something. A storage error (credentials, network) is not a usage
   * error: the command itself then reports it with the storage settings in effect.
   */
  private static boolean exists(String path, Configuration conf) {
    try {
      Path p = HadoopFiles.path(path);
      FileStatus[] matches = p.getFileSystem(conf).globStatus(p);
      return matches != null && matches.length > 0;
    } catch (IOException | RuntimeException e) {
      return !(e instanceof IllegalArgumentException);
    }
  }

  /**
   * Why an output path is taken ("is a non-empty directory", "is a file"), or null when it is free.
   */
  private static String taken(String path, Configuration conf) {
    try {
      Path p = HadoopFiles.path(path);
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        return null;
      }
      FileStatus st = fs.getFileStatus(p);
      if (!st.isDirectory()) {
        return "exists and is a file";
      }
      return fs.listStatus(p).length > 0 ? "exists and is not empty" : null;
    } catch (IOException e) {
      return null; // reported by the command, with the storage settings in effect
    }
  }
}
