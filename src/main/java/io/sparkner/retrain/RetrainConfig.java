package io.sparkner.retrain;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.Validated;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The configuration of {@code sparkner retrain} (JSON or YAML, by file extension): which corpora
 * and languages to prepare, where training starts, how the challenger is trained and evaluated, the
 * promotion rule, and the registry that keeps every run and the champion pointer. Read by {@link
 * ConfigReader}: unknown keys (with a did-you-mean) and wrong types are errors naming the key's
 * path ({@code promotion.margn}), every problem of the file at once; an integer or a boolean given
 * as a string is refused, a number may be one (YAML 1.1 reads {@code 5e-3} as a string).
 *
 * <pre>{@code
 * {
 *   "registry": "hdfs:///sparkner/registry",
 *   "corpora": [
 *     {"kind": "stockmark", "path": "abfss://data@acct.dfs.core.windows.net/stockmark/ner.json"},
 *     {"kind": "panx", "path": "abfss://.../panx/{lang}", "languages": ["ja", "ko", "zh"]}
 *   ],
 *   "prepare": {"type_map": "ORG-P=ORG,ORG-O=ORG", "max_length": 256, "stride": 64},
 *   "base_model": "dbfs:/models/bge-small-zh-v1.5",
 *   "warm_start": "champion",
 *   "train": {"conf": "conf/train-stockmark.json", "args": {"num_train_epochs": 1}, "replicas": 2},
 *   "evaluate": {"split": "test", "languages": ["ja", "ko", "zh"]},
 *   "promotion": {"margin": 0.005, "tolerance": 0.01}
 * }
 * }</pre>
 *
 * <p>Relative paths are resolved against the working directory, as every path of the command line.
 *
 * @param source the file the configuration came from (for messages and the run record)
 * @param json the configuration as read, kept in every run record
 */
public record RetrainConfig(
    String source,
    String registry,
    List<Corpus> corpora,
    Prepare prepare,
    Base base,
    WarmStart warmStart,
    Train train,
    Evaluate evaluate,
    Promotion promotion,
    ObjectNode json) {

  /**
   * One corpus: a {@code prepare --input} kind and a Hadoop path. A path with {@code {lang}} is
   * prepared once per language of {@code languages}; without it, one language (if any) labels it.
   * {@code languages} may be one string, {@code "ja,ko,zh"}; {@code lang} is its older name.
   */
  public record Corpus(String kind, String path, @JsonAlias("lang") List<String> languages) {
    public List<CorpusInput> inputs() {
      List<CorpusInput> out = new ArrayList<>();
      if (path.contains("{lang}")) {
        for (String l : languages) {
          out.add(new CorpusInput(kind, l, path.replace("{lang}", l)));
        }
      } else {
        out.add(new CorpusInput(kind, languages.isEmpty() ? null : languages.get(0), path));
      }
      return out;
    }
  }

  /** Options of prepare, named as its command-line options. */
  public record Prepare(
      String typeMap,
      List<String> types,
      LabelScheme scheme,
      int maxLength,
      int stride,
      boolean labelAllSubwords,
      String seed) {
    public AlignOptions align() {
      return new AlignOptions(maxLength, stride, labelAllSubwords);
    }
  }

  /**
   * Where training starts when it does not start from the champion: a Hugging Face checkpoint
   * ({@code model}), or a randomly initialised one ({@code init}), made once and kept in the
   * registry's {@code base/} so that every later run starts from the same weights and tokenizer.
   */
  public record Base(String model, Init init) {}

  /**
   * A model made from a {@code config.json} ({@code sparkner init}), with a given {@code
   * tokenizer.json} or one built from the corpora ({@code tokenizer_kind}, {@code vocab_size}, as
   * {@code sparkner tokenizer build}).
   */
  public record Init(
      String config, String tokenizer, String tokenizerKind, int vocabSize, long seed) {}

  /** Where the challenger starts: the champion (the base when there is none yet), or the base. */
  public enum WarmStart {
    CHAMPION,
    BASE
  }

  /**
   * How the challenger is trained: a TrainingArguments file, inline arguments (applied over it as
   * {@code train --set} would), a DeepSpeed file, the replicas.
   *
   * @param keepCheckpoints keep the run's {@code checkpoints/} (optimizer state) after a successful
   *     training; by default only the fine-tuned model stays in the registry
   */
  public record Train(
      String conf, ObjectNode args, String deepspeed, int replicas, boolean keepCheckpoints) {
    /**
     * The inline arguments as {@code key=value} overrides (values as JSON, which the parser reads
     * back).
     */
    public List<String> overrides() {
      List<String> out = new ArrayList<>();
      args.fields()
          .forEachRemaining(
              e ->
                  out.add(
                      e.getKey()
                          + "="
                          + (e.getValue().isTextual()
                              ? e.getValue().asText()
                              : e.getValue().toString())));
      return out;
    }
  }

  /**
   * The held-out evaluation: champion and challenger on the same split of the same prepared data.
   * Splits are deterministic (a record's hash, or PAN-X's own files), so the held-out set is the
   * same in every run for unchanged corpora.
   *
   * @param languages the languages the promotion rule checks one by one; empty = every language of
   *     the split
   */
  public record Evaluate(String split, int batchSize, List<String> languages) {}

  /**
   * The promotion rule, in absolute F1 (0.01 = one point): the challenger's micro F1 must beat the
   * champion's, by at least {@code margin}, and no language's F1 may drop by more than {@code
   * tolerance}.
   */
  public record Promotion(double margin, double tolerance) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ConfigReader<Keys> READER =
      ConfigReader.of(Keys.class).strictIntegers().allProblemsAtOnce();

  /**
   * Reads a configuration from its text; {@code source} names it and chooses JSON or YAML. Every
   * problem of the file is reported at once ({@link io.sparkner.config.ConfigError}).
   */
  public static RetrainConfig parse(String text, String source) {
    JsonNode root = ConfigReader.readTree(text, source);
    if (!root.isObject()) {
      throw new IllegalArgumentException(
          source + ": the retrain configuration must be a mapping (see conf/retrain-sample.json)");
    }
    // base_model is a path or {"init": {...}}: a path binds as {"model": path}
    ObjectNode tree = root.deepCopy();
    JsonNode base = tree.get("base_model");
    if (base != null && base.isTextual()) {
      tree.putObject("base_model").put("model", base.textValue());
    } else if (base != null && !base.isNull() && !base.isObject()) {
      tree.putObject("base_model"); // neither: Keys.validate says what it must be
    }
    withoutNulls(tree); // null is the default, as no key
    Keys k = READER.bind(tree, source).value();
    List<Corpus> corpora = new ArrayList<>();
    for (Corpus c : k.corpora) {
      corpora.add(new Corpus(c.kind().toLowerCase(Locale.ROOT), c.path(), strings(c.languages())));
    }
    PrepareKeys p = k.prepare;
    InitKeys i = k.baseModel.init;
    TrainKeys t = k.train;
    return new RetrainConfig(
        source,
        k.registry,
        List.copyOf(corpora),
        new Prepare(
            p.typeMap,
            strings(p.types),
            p.scheme,
            p.maxLength,
            p.stride,
            p.labelAllSubwords,
            p.seed),
        new Base(
            k.baseModel.model,
            i == null ? null : new Init(i.config, i.tokenizer, i.kind(), i.vocabSize, i.seed)),
        k.warmStart,
        new Train(
            t.conf,
            t.args == null ? JSON.createObjectNode() : (ObjectNode) t.args.deepCopy(),
            t.deepspeed,
            t.replicas,
            t.keepCheckpoints),
        new Evaluate(k.evaluate.split, k.evaluate.batchSize, strings(k.evaluate.languages)),
        new Promotion(k.promotion.margin, k.promotion.tolerance),
        (ObjectNode) root.deepCopy());
  }

  /** A list of strings as given: trimmed, blanks and repeats dropped, {@code "ja,ko,zh"} split. */
  private static List<String> strings(List<String> given) {
    Set<String> out = new LinkedHashSet<>();
    for (String g : given == null ? List.<String>of() : given) {
      for (String s : g == null ? new String[0] : g.split(",")) {
        if (!s.isBlank()) {
          out.add(s.trim());
        }
      }
    }
    return List.copyOf(out);
  }

  /**
   * Removes the null-valued keys of the sections, not those inside {@code train.args} (whose nulls
   * are overrides).
   */
  private static void withoutNulls(JsonNode n) {
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        it.remove();
      } else if (e.getValue().isObject() && !e.getKey().equals("args")) {
        withoutNulls(e.getValue());
      }
    }
  }

  // ---- the file's keys, each field's initializer its default (null, as no key, keeps it)

  /** The file. */
  private static final class Keys implements Validated {
    private String registry;
    private List<Corpus> corpora = List.of();
    private PrepareKeys prepare = new PrepareKeys();
    private BaseKeys baseModel = new BaseKeys();
    private WarmStart warmStart = WarmStart.CHAMPION;
    private TrainKeys train = new TrainKeys();
    private EvaluateKeys evaluate = new EvaluateKeys();
    private PromotionKeys promotion = new PromotionKeys();

    @Override
    public void validate(List<String> problems) {
      text(problems, "registry", registry, true);
      if (corpora == null || corpora.isEmpty()) {
        problems.add("\"corpora\" must be a non-empty list of {\"kind\", \"path\", \"languages\"}");
      }
      for (int i = 0; corpora != null && i < corpora.size(); i++) {
        Corpus c = corpora.get(i);
        String p = "corpora[" + i + "]";
        if (c == null) {
          problems.add(p + " must be an object {\"kind\", \"path\", \"languages\"}");
          continue;
        }
        if (text(problems, p + ".kind", c.kind(), true)
            && !CorpusInput.KINDS.contains(c.kind().toLowerCase(Locale.ROOT))) {
          problems.add(p + ".kind \"" + c.kind() + "\" is not one of " + CorpusInput.KINDS);
        }
        List<String> langs = strings(c.languages());
        if (text(problems, p + ".path", c.path(), true)) {
          if (c.path().contains("{lang}") && langs.isEmpty()) {
            problems.add(p + ".path has {lang} but no \"languages\" are given");
          }
          if (!c.path().contains("{lang}") && langs.size() > 1) {
            problems.add(
                p + ": several languages " + langs + " need a path with {lang} (e.g. panx/{lang})");
          }
        }
      }
      prepare.validate(problems);
      baseModel.validate(problems);
      train.validate(problems);
      evaluate.validate(problems);
      promotion.validate(problems);
    }
  }

  private static final class PrepareKeys {
    private String typeMap;
    private List<String> types = List.of();
    private LabelScheme scheme = LabelScheme.IOB2;
    private int maxLength = 256;
    private int stride = 64;
    private boolean labelAllSubwords = true;
    private String seed = Splits.DEFAULT_SEED;

    void validate(List<String> problems) {
      if (text(problems, "prepare.type_map", typeMap, false)) {
        try {
          TypeMap.parse(typeMap, null); // here, not after the job started
        } catch (IllegalArgumentException e) {
          problems.add("\"prepare.type_map\": " + e.getMessage());
        }
      }
      text(problems, "prepare.seed", seed, false);
      atLeast(problems, "prepare.max_length", maxLength, 2);
      atLeast(problems, "prepare.stride", stride, 0);
    }
  }

  /** {@code base_model}: a path (bound as {@code model}) or {@code {"init": {...}}}. */
  private static final class BaseKeys {
    private String model;
    private InitKeys init;

    void validate(List<String> problems) {
      if (model == null && init == null) {
        problems.add(
            "\"base_model\" is required: a Hugging Face checkpoint directory, or {\"init\":"
                + " {\"config\": ...}}");
      } else if (model != null && init != null) {
        problems.add("\"base_model\" must be a path or {\"init\": {...}}, not both");
      } else if (model != null) {
        text(problems, "base_model", model, true);
      } else {
        init.validate(problems);
      }
    }
  }

  private static final class InitKeys {
    private String config;
    private String tokenizer;
    private String tokenizerKind;
    private int vocabSize = 8000;
    private long seed = 42;

    /** The kind of tokenizer to build: unigram unless one is given. */
    String kind() {
      return tokenizerKind == null && tokenizer == null ? "unigram" : tokenizerKind;
    }

    void validate(List<String> problems) {
      String p = "base_model.init";
      text(problems, p + ".config", config, true);
      text(problems, p + ".tokenizer", tokenizer, false);
      if (tokenizer != null && tokenizerKind != null) {
        problems.add(
            p
                + ": give \"tokenizer\" (a tokenizer.json) or \"tokenizer_kind\" (build one), not"
                + " both");
      } else if (kind() != null && !kind().equals("unigram") && !kind().equals("wordpiece")) {
        problems.add(p + ".tokenizer_kind must be unigram or wordpiece (got \"" + kind() + "\")");
      }
      atLeast(problems, p + ".vocab_size", vocabSize, 10);
    }
  }

  private static final class TrainKeys {
    private String conf;
    private JsonNode args;
    private String deepspeed;
    private int replicas = 1;
    private boolean keepCheckpoints = false;

    void validate(List<String> problems) {
      text(problems, "train.conf", conf, false);
      text(problems, "train.deepspeed", deepspeed, false);
      if (args != null && !args.isNull() && !args.isObject()) {
        problems.add(
            "train.args must be an object of TrainingArguments (e.g. {\"num_train_epochs\": 1})");
      }
      atLeast(problems, "train.replicas", replicas, 1);
    }
  }

  private static final class EvaluateKeys {
    private String split = "test";
    private int batchSize = 32;
    private List<String> languages = List.of();

    void validate(List<String> problems) {
      if (!List.of("train", "validation", "test").contains(split)) {
        problems.add("evaluate.split must be train, validation or test (got \"" + split + "\")");
      } else if (split.equals("train")) {
        problems.add(
            "evaluate.split \"train\" is what the challenger trains on; choose validation or test");
      }
      atLeast(problems, "evaluate.batch_size", batchSize, 1);
    }
  }

  private static final class PromotionKeys {
    private double margin = 0.0;
    private double tolerance = 0.01;

    void validate(List<String> problems) {
      if (!(margin >= 0 && margin < 1)) {
        problems.add("promotion.margin must be in [0, 1) (absolute F1; got " + margin + ")");
      }
      if (!(tolerance >= 0 && tolerance < 1)) {
        problems.add("promotion.tolerance must be in [0, 1) (absolute F1; got " + tolerance + ")");
      }
    }
  }

  /**
   * A string key: {@code "a.b" is required} when it must be given, refused when blank; true when
   * usable.
   */
  private static boolean text(List<String> problems, String path, String value, boolean required) {
    if (value == null) {
      if (required) {
        problems.add("\"" + path + "\" is required");
      }
      return false;
    }
    if (value.isBlank()) {
      problems.add("\"" + path + "\" must be a non-empty string");
      return false;
    }
    return true;
  }

  private static void atLeast(List<String> problems, String path, long value, long min) {
    if (value < min) {
      problems.add("\"" + path + "\" must be an integer >= " + min + " (got " + value + ")");
    }
  }

  /** Every corpus input, in configuration order. */
  public List<CorpusInput> inputs() {
    List<CorpusInput> out = new ArrayList<>();
    for (Corpus c : corpora) {
      out.addAll(c.inputs());
    }
    return out;
  }

  /** The configuration as a map, for records. */
  @SuppressWarnings("unchecked")
  public Map<String, Object> asMap() {
    return JSON.convertValue(json, Map.class);
  }
}
