package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.Splits;
import java.io.IOException;
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
 * promotion rule, and the registry that keeps every run and the champion pointer. Unknown keys and
 * wrong types are errors naming the key's path ({@code promotion.margn}).
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
   */
  public record Corpus(String kind, String path, List<String> languages) {
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
      String typeMap, List<String> types, LabelScheme scheme, int maxLength, int stride, boolean labelAllSubwords, String seed) {
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
  public record Init(String config, String tokenizer, String tokenizerKind, int vocabSize, long seed) {}

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
  public record Train(String conf, ObjectNode args, String deepspeed, int replicas, boolean keepCheckpoints) {
    /** The inline arguments as {@code key=value} overrides (values as JSON, which the parser reads back). */
    public List<String> overrides() {
      List<String> out = new ArrayList<>();
      args.fields().forEachRemaining(e -> out.add(e.getKey() + "=" + (e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString())));
      return out;
    }
  }

  /**
   * The held-out evaluation: champion and challenger on the same split of the same prepared data.
   * Splits are deterministic (a record's hash, or PAN-X's own files), so the held-out set is the
   * same in every run for unchanged corpora.
   *
   * @param languages the languages the promotion rule checks one by one; empty = every language
   *     of the split
   */
  public record Evaluate(String split, int batchSize, List<String> languages) {}

  /**
   * The promotion rule, in absolute F1 (0.01 = one point): the challenger's micro F1 must beat the
   * champion's, by at least {@code margin}, and no language's F1 may drop by more than {@code
   * tolerance}.
   */
  public record Promotion(double margin, double tolerance) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** Reads a configuration from its text; {@code source} names it and chooses JSON or YAML. */
  public static RetrainConfig parse(String text, String source) {
    String lower = source.toLowerCase(Locale.ROOT);
    JsonNode root;
    try {
      root = (lower.endsWith(".yaml") || lower.endsWith(".yml") ? YAML : JSON).readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": not valid " + (lower.endsWith(".json") ? "JSON" : "YAML") + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(source + ": the retrain configuration must be a mapping (see conf/retrain-sample.json)");
    }
    return new Reader(source).read((ObjectNode) root);
  }

  /** Reads with every key checked, collecting all errors before failing. */
  private static final class Reader {
    final String source;
    final List<String> errors = new ArrayList<>();

    Reader(String source) {
      this.source = source;
    }

    RetrainConfig read(ObjectNode root) {
      keys(root, "", Set.of("registry", "corpora", "prepare", "base_model", "warm_start", "train", "evaluate", "promotion"));
      String registry = string(root, "", "registry", null, true);
      List<Corpus> corpora = new ArrayList<>();
      JsonNode cs = root.path("corpora");
      if (!cs.isArray() || cs.isEmpty()) {
        errors.add(source + ": \"corpora\" must be a non-empty list of {\"kind\", \"path\", \"languages\"}");
      } else {
        for (int i = 0; i < cs.size(); i++) {
          corpora.add(corpus(cs.get(i), "corpora[" + i + "]."));
        }
      }
      Prepare prepare = prepare(object(root, "", "prepare"), "prepare.");
      Base base = base(root.get("base_model"));
      WarmStart warm = WarmStart.CHAMPION;
      String ws = string(root, "", "warm_start", "champion", false);
      try {
        warm = WarmStart.valueOf(ws.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        errors.add(source + ": \"warm_start\" must be \"champion\" or \"base\" (got \"" + ws + "\")");
      }
      Train train = train(object(root, "", "train"), "train.");
      Evaluate evaluate = evaluate(object(root, "", "evaluate"), "evaluate.");
      Promotion promotion = promotion(object(root, "", "promotion"), "promotion.");
      if (!errors.isEmpty()) {
        throw new IllegalArgumentException(String.join("\n", errors));
      }
      return new RetrainConfig(source, registry, List.copyOf(corpora), prepare, base, warm, train, evaluate, promotion, root.deepCopy());
    }

    Corpus corpus(JsonNode n, String p) {
      if (!n.isObject()) {
        errors.add(source + ": " + p.substring(0, p.length() - 1) + " must be an object {\"kind\", \"path\", \"languages\"}");
        return new Corpus("?", "?", List.of());
      }
      keys(n, p, Set.of("kind", "path", "languages", "lang"));
      String kind = string(n, p, "kind", "?", true).toLowerCase(Locale.ROOT);
      if (!CorpusInput.KINDS.contains(kind) && !kind.equals("?")) {
        errors.add(source + ": " + p + "kind \"" + kind + "\" is not one of " + CorpusInput.KINDS);
      }
      String path = string(n, p, "path", "?", true);
      List<String> langs = new ArrayList<>(strings(n, p, "languages"));
      if (n.has("lang")) {
        langs.add(string(n, p, "lang", null, false));
      }
      if (path.contains("{lang}") && langs.isEmpty()) {
        errors.add(source + ": " + p + "path has {lang} but no \"languages\" are given");
      }
      if (!path.contains("{lang}") && langs.size() > 1) {
        errors.add(source + ": " + p + "several languages " + langs + " need a path with {lang} (e.g. panx/{lang})");
      }
      return new Corpus(kind, path, List.copyOf(langs));
    }

    Prepare prepare(JsonNode n, String p) {
      keys(n, p, Set.of("type_map", "types", "scheme", "max_length", "stride", "label_all_subwords", "seed"));
      LabelScheme scheme = LabelScheme.IOB2;
      String s = string(n, p, "scheme", "IOB2", false);
      try {
        scheme = LabelScheme.valueOf(s.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        errors.add(source + ": " + p + "scheme must be IOB2 or IO (got \"" + s + "\")");
      }
      return new Prepare(
          string(n, p, "type_map", null, false),
          strings(n, p, "types"),
          scheme,
          integer(n, p, "max_length", 256, 2),
          integer(n, p, "stride", 64, 0),
          bool(n, p, "label_all_subwords", true),
          string(n, p, "seed", Splits.DEFAULT_SEED, false));
    }

    Base base(JsonNode n) {
      if (n == null || n.isNull()) {
        errors.add(source + ": \"base_model\" is required: a Hugging Face checkpoint directory, or {\"init\": {\"config\": ...}}");
        return new Base(null, null);
      }
      if (n.isTextual()) {
        return new Base(n.asText(), null);
      }
      if (!n.isObject()) {
        errors.add(source + ": \"base_model\" must be a path or {\"init\": {...}}");
        return new Base(null, null);
      }
      keys(n, "base_model.", Set.of("init"));
      JsonNode i = n.path("init");
      if (!i.isObject()) {
        errors.add(source + ": base_model.init must be an object {\"config\", \"tokenizer\" | \"tokenizer_kind\", \"vocab_size\", \"seed\"}");
        return new Base(null, null);
      }
      String p = "base_model.init.";
      keys(i, p, Set.of("config", "tokenizer", "tokenizer_kind", "vocab_size", "seed"));
      String tokenizer = string(i, p, "tokenizer", null, false);
      String kind = string(i, p, "tokenizer_kind", tokenizer == null ? "unigram" : null, false);
      if (tokenizer != null && i.has("tokenizer_kind")) {
        errors.add(source + ": " + p + "give \"tokenizer\" (a tokenizer.json) or \"tokenizer_kind\" (build one), not both");
      }
      if (kind != null && !kind.equals("unigram") && !kind.equals("wordpiece")) {
        errors.add(source + ": " + p + "tokenizer_kind must be unigram or wordpiece (got \"" + kind + "\")");
      }
      return new Base(
          null,
          new Init(string(i, p, "config", null, true), tokenizer, kind, integer(i, p, "vocab_size", 8000, 10), longValue(i, p, "seed", 42)));
    }

    Train train(JsonNode n, String p) {
      keys(n, p, Set.of("conf", "args", "deepspeed", "replicas", "keep_checkpoints"));
      ObjectNode args = JSON.createObjectNode();
      if (n.has("args")) {
        if (n.get("args").isObject()) {
          args = (ObjectNode) n.get("args");
        } else {
          errors.add(source + ": " + p + "args must be an object of TrainingArguments (e.g. {\"num_train_epochs\": 1})");
        }
      }
      return new Train(
          string(n, p, "conf", null, false),
          args.deepCopy(),
          string(n, p, "deepspeed", null, false),
          integer(n, p, "replicas", 1, 1),
          bool(n, p, "keep_checkpoints", false));
    }

    Evaluate evaluate(JsonNode n, String p) {
      keys(n, p, Set.of("split", "batch_size", "languages"));
      String split = string(n, p, "split", "test", false);
      if (!List.of("train", "validation", "test").contains(split)) {
        errors.add(source + ": " + p + "split must be train, validation or test (got \"" + split + "\")");
      } else if (split.equals("train")) {
        errors.add(source + ": " + p + "split \"train\" is what the challenger trains on; choose validation or test");
      }
      return new Evaluate(split, integer(n, p, "batch_size", 32, 1), strings(n, p, "languages"));
    }

    Promotion promotion(JsonNode n, String p) {
      keys(n, p, Set.of("margin", "tolerance"));
      double margin = number(n, p, "margin", 0.0);
      double tolerance = number(n, p, "tolerance", 0.01);
      if (!(margin >= 0 && margin < 1)) {
        errors.add(source + ": " + p + "margin must be in [0, 1) (absolute F1; got " + margin + ")");
      }
      if (!(tolerance >= 0 && tolerance < 1)) {
        errors.add(source + ": " + p + "tolerance must be in [0, 1) (absolute F1; got " + tolerance + ")");
      }
      return new Promotion(margin, tolerance);
    }

    // ---- typed access, each error naming the key's path

    JsonNode object(JsonNode parent, String p, String key) {
      JsonNode n = parent.get(key);
      if (n == null || n.isNull()) {
        return JSON.createObjectNode();
      }
      if (!n.isObject()) {
        errors.add(source + ": " + p + key + " must be an object");
        return JSON.createObjectNode();
      }
      return n;
    }

    void keys(JsonNode n, String p, Set<String> known) {
      for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!known.contains(k)) {
          errors.add(source + ": unknown key \"" + p + k + "\" (known here: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
        }
      }
    }

    String string(JsonNode n, String p, String key, String dflt, boolean required) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        if (required) {
          errors.add(source + ": \"" + p + key + "\" is required");
        }
        return dflt;
      }
      if (!v.isTextual() || v.asText().isBlank()) {
        errors.add(source + ": \"" + p + key + "\" must be a non-empty string");
        return dflt;
      }
      return v.asText();
    }

    List<String> strings(JsonNode n, String p, String key) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        return List.of();
      }
      if (v.isTextual()) { // "ja,ko,zh"
        List<String> out = new ArrayList<>();
        for (String s : v.asText().split(",")) {
          if (!s.isBlank()) {
            out.add(s.trim());
          }
        }
        return List.copyOf(out);
      }
      if (!v.isArray()) {
        errors.add(source + ": \"" + p + key + "\" must be a list of strings");
        return List.of();
      }
      Set<String> out = new LinkedHashSet<>();
      for (JsonNode e : v) {
        if (!e.isTextual()) {
          errors.add(source + ": \"" + p + key + "\" must be a list of strings (got " + e + ")");
        } else {
          out.add(e.asText().trim());
        }
      }
      return List.copyOf(out);
    }

    int integer(JsonNode n, String p, String key, int dflt, int min) {
      long v = longValue(n, p, key, dflt);
      if (v < min || v > Integer.MAX_VALUE) {
        errors.add(source + ": \"" + p + key + "\" must be an integer >= " + min + " (got " + v + ")");
        return dflt;
      }
      return (int) v;
    }

    long longValue(JsonNode n, String p, String key, long dflt) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        return dflt;
      }
      if (!v.canConvertToExactIntegral() || !v.isNumber()) {
        errors.add(source + ": \"" + p + key + "\" must be an integer (got " + v + ")");
        return dflt;
      }
      return v.asLong();
    }

    double number(JsonNode n, String p, String key, double dflt) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        return dflt;
      }
      if (v.isTextual()) { // YAML 1.1 reads 5e-3 as a string
        try {
          return Double.parseDouble(v.asText());
        } catch (NumberFormatException e) {
          // reported below
        }
      }
      if (!v.isNumber()) {
        errors.add(source + ": \"" + p + key + "\" must be a number (got " + v + ")");
        return dflt;
      }
      return v.asDouble();
    }

    boolean bool(JsonNode n, String p, String key, boolean dflt) {
      JsonNode v = n.get(key);
      if (v == null || v.isNull()) {
        return dflt;
      }
      if (!v.isBoolean()) {
        errors.add(source + ": \"" + p + key + "\" must be true or false (got " + v + ")");
        return dflt;
      }
      return v.asBoolean();
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
