package io.sparkner.crosslingual;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.Validated;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A cross-lingual experiment ({@code conf/crosslingual-*.json}, or YAML by extension): which
 * tokenizer and model, how to prepare, what to train on, and which sets to evaluate on, with the
 * type map for the evaluation. Read by {@link ConfigReader}: unknown keys (with a did-you-mean),
 * wrong types and bad values are errors naming the key's path ({@code evaluate.sets.panx[2]}),
 * every problem of the file at once; an integer or a boolean given as a string is refused. Relative
 * paths are relative to the working directory, like every path on the command line.
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
    String description,
    Tokenizer tokenizer,
    Model model,
    Prepare prepare,
    Train train,
    Evaluate evaluate) {

  /** A tokenizer.json (or checkpoint directory), or one built from corpora ({@code path} null). */
  public record Tokenizer(String path, List<String> buildCorpus, String kind, int vocabSize) {}

  /**
   * A Hugging Face checkpoint directory, or a random initialisation from a config.json ({@code
   * path} null).
   */
  public record Model(String path, String initConfig, long seed) {}

  public record Prepare(LabelScheme scheme, AlignOptions align, String seed) {}

  public record Train(
      List<CorpusInput> inputs,
      String typeMap,
      String conf,
      String deepspeed,
      List<String> set,
      int replicas) {}

  /**
   * @param trainingCorpus also evaluate on the training corpus' own {@code split} (the in-language
   *     column of the matrix)
   * @param sets name → inputs, each set prepared into its own directory
   */
  public record Evaluate(
      String split,
      boolean trainingCorpus,
      Map<String, List<CorpusInput>> sets,
      Map<String, String> typeMap,
      int examples,
      int batchSize) {}

  private static final ConfigReader<Keys> READER =
      ConfigReader.of(Keys.class).strictIntegers().allProblemsAtOnce();

  /**
   * Reads an experiment; {@code source} names it and chooses JSON or YAML by its extension. Every
   * problem of the file is reported at once ({@link io.sparkner.config.ConfigError}).
   */
  public static CrossLingualConfig parse(String text, String source) {
    JsonNode root = ConfigReader.readTree(text, source);
    if (root.isObject()) {
      // "tokenizer" and "model" are a path or an object: a path binds as {"path": ...}
      pathOrObject((ObjectNode) root, "tokenizer");
      pathOrObject((ObjectNode) root, "model");
    }
    withoutNulls(root); // null is the default, as no key
    Keys k = READER.bind(root, source).value();
    TokenizerKeys t = k.tokenizer;
    ModelKeys m = k.model;
    PrepareKeys p = k.prepare;
    TrainKeys tr = k.train;
    EvaluateKeys e = k.evaluate;
    Map<String, List<CorpusInput>> sets = new LinkedHashMap<>();
    e.sets.forEach((name, specs) -> sets.put(name, inputs(specs)));
    return new CrossLingualConfig(
        k.description,
        t.path != null
            ? new Tokenizer(t.path, List.of(), null, 0)
            : new Tokenizer(null, t.build.corpus, t.build.kind, t.build.vocabSize),
        new Model(m.path, m.init, m.path != null ? 0 : m.seed),
        new Prepare(p.scheme, new AlignOptions(p.maxLength, p.stride, p.labelAllSubwords), p.seed),
        new Train(inputs(tr.inputs), tr.typeMap, tr.conf, tr.deepspeed, tr.set, tr.replicas),
        new Evaluate(
            e.split,
            e.trainingCorpus,
            sets,
            TypeMap.parse(e.typeMap, null).remapping(),
            e.examples,
            e.batchSize));
  }

  private static void pathOrObject(ObjectNode root, String key) {
    JsonNode n = root.get(key);
    if (n != null && n.isTextual()) {
      root.putObject(key).put("path", n.textValue());
    } else if (n != null && !n.isNull() && !n.isObject()) {
      root.putObject(key); // neither: validate says what it must be
    }
  }

  private static List<CorpusInput> inputs(List<String> specs) {
    return specs.stream().map(CorpusInput::parse).toList();
  }

  /**
   * Removes the null-valued keys of the sections, not those inside {@code evaluate.sets} (whose
   * entries are names).
   */
  private static void withoutNulls(JsonNode n) {
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        it.remove();
      } else if (e.getValue().isObject() && !e.getKey().equals("sets")) {
        withoutNulls(e.getValue());
      }
    }
  }

  // ---- the file's keys, each field's initializer its default (null, as no key, keeps it)

  private static final class Keys implements Validated {
    private String description = "";
    private TokenizerKeys tokenizer;
    private ModelKeys model;
    private PrepareKeys prepare = new PrepareKeys();
    private TrainKeys train;
    private EvaluateKeys evaluate;

    @Override
    public void validate(List<String> problems) {
      if (tokenizer == null) {
        problems.add(
            "\"tokenizer\" is missing (a tokenizer.json or checkpoint directory, or {\"build\":"
                + " {...}})");
      } else {
        tokenizer.validate(problems);
      }
      if (model == null) {
        problems.add("\"model\" is missing (a checkpoint directory, or {\"init\": CONFIG_JSON})");
      } else {
        model.validate(problems);
      }
      prepare.validate(problems);
      if (train == null) {
        problems.add("\"train\" is missing");
      } else {
        train.validate(problems);
      }
      if (evaluate == null) {
        problems.add("\"evaluate\" is missing");
      } else {
        evaluate.validate(problems);
      }
    }
  }

  /** A path (bound as {@code path}) or {@code {"build": {...}}}. */
  private static final class TokenizerKeys {
    private String path;
    private BuildKeys build;

    void validate(List<String> problems) {
      if (path != null && build != null) {
        problems.add("\"tokenizer\" must be a path or {\"build\": {...}}, not both");
      } else if (path == null && build == null) {
        problems.add(
            "\"tokenizer.build\" is missing (or give a tokenizer.json or checkpoint directory as a"
                + " string)");
      } else if (build != null) {
        build.validate(problems);
      }
    }
  }

  private static final class BuildKeys {
    private List<String> corpus;
    private String kind = "unigram";
    private int vocabSize = 8000;

    void validate(List<String> problems) {
      specs(problems, "tokenizer.build.corpus", corpus);
      if (!Set.of("unigram", "wordpiece").contains(kind.toLowerCase(Locale.ROOT))) {
        problems.add("\"tokenizer.build.kind\" must be unigram or wordpiece, got '" + kind + "'");
      }
      range(problems, "tokenizer.build.vocab_size", vocabSize, 1, 10000000);
    }
  }

  /** A path (bound as {@code path}) or {@code {"init": CONFIG_JSON, "seed": N}}. */
  private static final class ModelKeys {
    private String path;
    private String init;
    private int seed = 42;

    void validate(List<String> problems) {
      if (path != null && init != null) {
        problems.add("\"model\" must be a path or {\"init\": CONFIG_JSON}, not both");
      } else if (path == null && init == null) {
        problems.add(
            "\"model.init\" is missing (give a checkpoint directory as a string, or {\"init\":"
                + " CONFIG_JSON})");
      }
    }
  }

  private static final class PrepareKeys {
    private LabelScheme scheme = LabelScheme.IOB2;
    private int maxLength = 256;
    private int stride = 64;
    private boolean labelAllSubwords = true;
    private String seed = Splits.DEFAULT_SEED;

    void validate(List<String> problems) {
      range(problems, "prepare.max_length", maxLength, 3, 65536);
      range(problems, "prepare.stride", stride, 0, 65535);
    }
  }

  private static final class TrainKeys {
    private List<String> inputs;
    private String typeMap = "";
    private String conf;
    private String deepspeed;
    private List<String> set = List.of();
    private int replicas = 1;

    void validate(List<String> problems) {
      specs(problems, "train.inputs", inputs);
      typeMap(problems, "train.type_map", typeMap); // here, not after the tokenizer was built
      range(problems, "train.replicas", replicas, 1, 1024);
    }
  }

  /**
   * {@code training_corpus}: also evaluate on the training corpus' own split; {@code sets}: name →
   * inputs, each set prepared into its own directory.
   */
  private static final class EvaluateKeys {
    private String split = "test";
    private boolean trainingCorpus = true;
    private Map<String, List<String>> sets;
    private String typeMap = "";
    private int examples = 20;
    private int batchSize = 32;

    void validate(List<String> problems) {
      if (sets == null) {
        problems.add("\"evaluate.sets\" is missing");
      } else {
        sets.forEach(
            (name, specs) -> {
              if (!name.matches("[A-Za-z0-9_.-]+")) {
                problems.add(
                    "\"evaluate.sets."
                        + name
                        + "\": a set name becomes a directory name: use letters, digits, '-', '_',"
                        + " '.'");
              }
              specs(problems, "evaluate.sets." + name, specs);
            });
        if (sets.isEmpty() && !trainingCorpus) {
          problems.add(
              "\"evaluate.sets\": nothing to evaluate: give at least one set or"
                  + " \"training_corpus\": true");
        }
      }
      typeMap(problems, "evaluate.type_map", typeMap);
      range(problems, "evaluate.examples", examples, 0, 10000);
      range(problems, "evaluate.batch_size", batchSize, 1, 65536);
    }
  }

  /** A non-empty list of corpus specs ({@code KIND[:LANG]:PATH}), each checked. */
  private static void specs(List<String> problems, String path, List<String> specs) {
    if (specs == null) {
      problems.add("\"" + path + "\" is missing");
      return;
    }
    if (specs.isEmpty()) {
      problems.add("\"" + path + "\" is empty");
    }
    for (int i = 0; i < specs.size(); i++) {
      String at = "\"" + path + "[" + i + "]\"";
      if (specs.get(i) == null) {
        problems.add(at + " must be a string, not null");
        continue;
      }
      try {
        CorpusInput.parse(specs.get(i));
      } catch (IllegalArgumentException e) {
        problems.add(at + ": " + e.getMessage());
      }
    }
  }

  private static void typeMap(List<String> problems, String path, String spec) {
    try {
      TypeMap.parse(spec, null);
    } catch (IllegalArgumentException e) {
      problems.add("\"" + path + "\": " + e.getMessage());
    }
  }

  private static void range(List<String> problems, String path, int value, int min, int max) {
    if (value < min || value > max) {
      problems.add("\"" + path + "\" must be between " + min + " and " + max + ", got " + value);
    }
  }
}
