package io.sparkner.crosslingual;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A cross-lingual experiment ({@code conf/crosslingual-*.json}): which tokenizer and model, how to
 * prepare, what to train on, and which sets to evaluate on, with the type map for the evaluation.
 * Unknown keys and wrong types are errors naming the key's path ({@code evaluate.sets.panx[2]}).
 * Relative paths are relative to the working directory, like every path on the command line.
 *
 * <pre>{@code
 * {
 *   "tokenizer": "../shared/models/bge-small-zh-v1.5"            or {"build": {"corpus": [...], "kind": "unigram", "vocab_size": 4000}},
 *   "model": "../shared/models/bge-small-zh-v1.5"                or {"init": "conf/tiny-xlmr-config.json", "seed": 42},
 *   "prepare": {"scheme": "IOB2", "max_length": 256, "stride": 64, "label_all_subwords": true, "seed": "sparkner"},
 *   "train": {"inputs": ["stockmark:../shared/data/stockmark/ner.json"], "type_map": "", "conf": "conf/train-stockmark.json",
 *             "deepspeed": null, "set": ["num_train_epochs=2"], "replicas": 1},
 *   "evaluate": {"split": "test", "training_corpus": true, "sets": {"panx": ["panx:ko:../shared/data/panx/ko/test", ...]},
 *                "type_map": "ORG-P=ORG,ORG-O=ORG", "examples": 20, "batch_size": 32}
 * }
 * }</pre>
 */
public record CrossLingualConfig(
    String description, Tokenizer tokenizer, Model model, Prepare prepare, Train train, Evaluate evaluate) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A tokenizer.json (or checkpoint directory), or one built from corpora ({@code path} null). */
  public record Tokenizer(String path, List<String> buildCorpus, String kind, int vocabSize) {}

  /** A Hugging Face checkpoint directory, or a random initialisation from a config.json ({@code path} null). */
  public record Model(String path, String initConfig, long seed) {}

  public record Prepare(LabelScheme scheme, AlignOptions align, String seed) {}

  public record Train(List<CorpusInput> inputs, String typeMap, String conf, String deepspeed, List<String> set, int replicas) {}

  /**
   * @param trainingCorpus also evaluate on the training corpus' own {@code split} (the in-language
   *     column of the matrix)
   * @param sets name → inputs, each set prepared into its own directory
   */
  public record Evaluate(String split, boolean trainingCorpus, Map<String, List<CorpusInput>> sets, Map<String, String> typeMap, int examples, int batchSize) {}

  public static CrossLingualConfig parse(String json, String source) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + " is not JSON: " + e.getMessage(), e);
    }
    Node r = new Node(root, source, "");
    r.only("description", "tokenizer", "model", "prepare", "train", "evaluate");
    return new CrossLingualConfig(
        r.text("description", ""), tokenizer(r.child("tokenizer", true)), model(r.child("model", true)), prepare(r.child("prepare", false)), train(r.child("train", true)), evaluate(r.child("evaluate", true)));
  }

  private static Tokenizer tokenizer(Node n) {
    if (n.node.isTextual()) {
      return new Tokenizer(n.node.asText(), List.of(), null, 0);
    }
    n.only("build");
    Node b = n.child("build", true);
    b.only("corpus", "kind", "vocab_size");
    String kind = b.text("kind", "unigram");
    if (!Set.of("unigram", "wordpiece").contains(kind.toLowerCase(Locale.ROOT))) {
      throw b.error("kind", "must be unigram or wordpiece, got '" + kind + "'");
    }
    return new Tokenizer(null, b.texts("corpus", true), kind, b.integer("vocab_size", 8000, 1, 10000000));
  }

  private static Model model(Node n) {
    if (n.node.isTextual()) {
      return new Model(n.node.asText(), null, 0);
    }
    n.only("init", "seed");
    String init = n.text("init", null);
    if (init == null) {
      throw n.error("init", "is missing (give a checkpoint directory as a string, or {\"init\": CONFIG_JSON})");
    }
    return new Model(null, init, n.integer("seed", 42));
  }

  private static Prepare prepare(Node n) {
    n.only("scheme", "max_length", "stride", "label_all_subwords", "seed");
    String scheme = n.text("scheme", "IOB2").toUpperCase(Locale.ROOT);
    if (!Set.of("IOB2", "IO").contains(scheme)) {
      throw n.error("scheme", "must be IOB2 or IO");
    }
    return new Prepare(
        LabelScheme.valueOf(scheme),
        new AlignOptions(n.integer("max_length", 256, 3, 65536), n.integer("stride", 64, 0, 65535), n.bool("label_all_subwords", true)),
        n.text("seed", Splits.DEFAULT_SEED));
  }

  private static Train train(Node n) {
    n.only("inputs", "type_map", "conf", "deepspeed", "set", "replicas");
    String typeMap = n.text("type_map", "");
    TypeMap.parse(typeMap, null); // fail here, not after the tokenizer was built
    return new Train(
        inputs(n, "inputs"), typeMap, n.text("conf", null), n.text("deepspeed", null), n.texts("set", false), n.integer("replicas", 1, 1, 1024));
  }

  private static Evaluate evaluate(Node n) {
    n.only("split", "training_corpus", "sets", "type_map", "examples", "batch_size");
    Node sets = n.child("sets", true);
    Map<String, List<CorpusInput>> out = new LinkedHashMap<>();
    for (Iterator<String> it = sets.node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!name.matches("[A-Za-z0-9_.-]+")) {
        throw sets.error(name, "a set name becomes a directory name: use letters, digits, '-', '_', '.'");
      }
      out.put(name, inputs(sets, name));
    }
    boolean trainingCorpus = n.bool("training_corpus", true);
    if (out.isEmpty() && !trainingCorpus) {
      throw n.error("sets", "nothing to evaluate: give at least one set or \"training_corpus\": true");
    }
    return new Evaluate(
        n.text("split", "test"), trainingCorpus, out, TypeMap.parse(n.text("type_map", ""), null).remapping(), n.integer("examples", 20, 0, 10000), n.integer("batch_size", 32, 1, 65536));
  }

  private static List<CorpusInput> inputs(Node n, String key) {
    List<CorpusInput> out = new ArrayList<>();
    List<String> specs = n.texts(key, true);
    for (int i = 0; i < specs.size(); i++) {
      try {
        out.add(CorpusInput.parse(specs.get(i)));
      } catch (IllegalArgumentException e) {
        throw n.error(key + "[" + i + "]", e.getMessage());
      }
    }
    if (out.isEmpty()) {
      throw n.error(key, "is empty");
    }
    return out;
  }

  /** A JSON object and its path, for errors that say where. */
  private record Node(JsonNode node, String source, String path) {
    IllegalArgumentException error(String key, String problem) {
      return new IllegalArgumentException(source + ": " + (path.isEmpty() ? key : path + "." + key) + ": " + problem);
    }

    void only(String... keys) {
      if (!node.isObject()) {
        throw new IllegalArgumentException(source + ": " + (path.isEmpty() ? "the root" : path) + " must be an object");
      }
      List<String> allowed = List.of(keys);
      node.fieldNames().forEachRemaining(k -> {
        if (!allowed.contains(k)) {
          throw error(k, "unknown key (known: " + allowed + ")");
        }
      });
    }

    Node child(String key, boolean required) {
      JsonNode c = node.get(key);
      if (c == null || c.isNull()) {
        if (required) {
          throw error(key, "is missing");
        }
        return new Node(JSON.createObjectNode(), source, path.isEmpty() ? key : path + "." + key);
      }
      return new Node(c, source, path.isEmpty() ? key : path + "." + key);
    }

    String text(String key, String fallback) {
      JsonNode c = node.get(key);
      if (c == null || c.isNull()) {
        return fallback;
      }
      if (!c.isTextual()) {
        throw error(key, "must be a string");
      }
      return c.asText();
    }

    /** An integer in [min, max]; the error names the key. */
    int integer(String key, int fallback, int min, int max) {
      int v = integer(key, fallback);
      if (v < min || v > max) {
        throw error(key, "must be " + (max == Integer.MAX_VALUE ? "at least " + min : "between " + min + " and " + max) + ", got " + v);
      }
      return v;
    }

    int integer(String key, int fallback) {
      JsonNode c = node.get(key);
      if (c == null || c.isNull()) {
        return fallback;
      }
      if (!c.canConvertToInt() || !c.isIntegralNumber()) {
        throw error(key, "must be an integer");
      }
      return c.asInt();
    }

    boolean bool(String key, boolean fallback) {
      JsonNode c = node.get(key);
      if (c == null || c.isNull()) {
        return fallback;
      }
      if (!c.isBoolean()) {
        throw error(key, "must be true or false");
      }
      return c.asBoolean();
    }

    List<String> texts(String key, boolean required) {
      JsonNode c = node.get(key);
      if (c == null || c.isNull()) {
        if (required) {
          throw error(key, "is missing");
        }
        return List.of();
      }
      if (!c.isArray()) {
        throw error(key, "must be an array of strings");
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < c.size(); i++) {
        if (!c.get(i).isTextual()) {
          throw error(key + "[" + i + "]", "must be a string");
        }
        out.add(c.get(i).asText());
      }
      return out;
    }
  }
}
