package io.sparkner.train;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The training options of {@code --conf FILE}, named and defaulted as Hugging Face's {@code
 * TrainingArguments} (plus a few of sparkner's own), read from JSON or YAML and from {@code --set
 * key=value} overrides.
 *
 * <p>Unknown keys are rejected with the key and a did-you-mean; a value of the wrong type names the
 * key and the expected type. Numbers may be given as strings ({@code "5e-5"}): YAML 1.1 reads
 * {@code 5e-5} (no dot) as a string, which would otherwise be a trap. Keys actually present in a
 * file or override are remembered ({@link #isExplicit}): when a DeepSpeed config gives the same
 * value, only an explicit conf value can conflict with it (see {@link TrainConfig#resolve}).
 *
 * <p>Instances are immutable; {@link #withOverrides} returns a new one.
 */
public final class TrainingArguments implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Hugging Face's {@code lr_scheduler_type} values that sparkner implements. */
  public enum LrSchedulerType {
    LINEAR("linear"),
    CONSTANT("constant"),
    CONSTANT_WITH_WARMUP("constant_with_warmup");

    private final String hfName;

    LrSchedulerType(String hfName) {
      this.hfName = hfName;
    }

    /** The name in a Hugging Face configuration. */
    public String hfName() {
      return hfName;
    }

    static LrSchedulerType parse(String s) {
      for (LrSchedulerType t : values()) {
        if (t.hfName.equalsIgnoreCase(s)) {
          return t;
        }
      }
      throw new IllegalArgumentException(
          "must be one of linear, constant, constant_with_warmup (got \"" + s + "\")");
    }
  }

  /** Hugging Face's {@code eval_strategy}: when evaluation runs. */
  public enum EvalStrategy {
    NO,
    STEPS,
    EPOCH;

    /** The name in a Hugging Face configuration. */
    public String hfName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static EvalStrategy parse(String s) {
      for (EvalStrategy t : values()) {
        if (t.hfName().equalsIgnoreCase(s)) {
          return t;
        }
      }
      throw new IllegalArgumentException("must be one of no, steps, epoch (got \"" + s + "\")");
    }
  }

  /** The configuration file formats, chosen by file extension. */
  public enum Format {
    JSON,
    YAML;

    /** The format of a file name ending in .json, .yaml or .yml (case-insensitive). */
    public static Format of(String displayName) {
      String n = displayName.toLowerCase(Locale.ROOT);
      if (n.endsWith(".json")) {
        return JSON;
      }
      if (n.endsWith(".yaml") || n.endsWith(".yml")) {
        return YAML;
      }
      throw new IllegalArgumentException(
          displayName + ": unknown configuration format (the name must end in .json, .yaml or .yml)");
    }
  }

  // --- Hugging Face TrainingArguments (HF defaults unless noted) ---
  private double learningRate = 5e-5;
  private double numTrainEpochs = 3;
  private long maxSteps = -1;
  // The original Hugging Face example trains with 12 per device; HF's own default is 8.
  private int perDeviceTrainBatchSize = 12;
  // HF's default is 8; evaluation has no gradients, so a larger batch costs little.
  private int perDeviceEvalBatchSize = 32;
  private int gradientAccumulationSteps = 1;
  private double warmupRatio = 0.0;
  private long warmupSteps = 0;
  private double weightDecay = 0.0;
  private double adamBeta1 = 0.9;
  private double adamBeta2 = 0.999;
  private double adamEpsilon = 1e-8;
  private double maxGradNorm = 1.0;
  private LrSchedulerType lrSchedulerType = LrSchedulerType.LINEAR;
  // HF's default is 500; 50 is the example's value and gives a livelier progress line.
  private int loggingSteps = 50;
  private int saveSteps = 500;
  private Integer saveTotalLimit = null;
  // HF's default is "no"; the example evaluates every epoch.
  private EvalStrategy evalStrategy = EvalStrategy.EPOCH;
  private Integer evalSteps = null;
  private long seed = 42;
  private Long dataSeed = null;
  private boolean groupByLength = false;
  private boolean fp16 = false;
  private boolean bf16 = false;
  private boolean dataloaderDropLast = false;
  private double labelSmoothingFactor = 0.0;
  private String outputDir = null;
  private String runName = null;
  private List<String> reportTo = List.of();
  // --- sparkner's own ---
  private int replicas = 1;
  private int zeroStage = 0;
  private Double hiddenDropoutProb = null;
  private Double attentionProbsDropoutProb = null;
  private Double classifierDropout = null;

  private String source = "defaults";
  private Set<String> explicitKeys = Set.of();
  private List<String> ignoredKeys = List.of();

  private TrainingArguments() {}

  // ------------------------------------------------------------------ loading

  /** All defaults, as if from an empty configuration file. */
  public static TrainingArguments defaults() {
    return new TrainingArguments();
  }

  /** Reads a local {@code .json}, {@code .yaml} or {@code .yml} file. */
  public static TrainingArguments fromFile(Path file) {
    String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
    Format format = Format.of(name);
    try {
      return parse(Files.readString(file, StandardCharsets.UTF_8), name, format);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads a configuration whose format is given by the extension of {@code displayName}; the name
   * is also the prefix of every error message (callers reading a Hadoop path pass the path).
   */
  public static TrainingArguments parse(Reader reader, String displayName) {
    return parse(reader, displayName, Format.of(displayName));
  }

  /** As {@link #parse(Reader, String)}, from a string. */
  public static TrainingArguments parse(String text, String displayName) {
    return parse(new StringReader(text), displayName, Format.of(displayName));
  }

  /** As {@link #parse(Reader, String)}, from a string, format given. */
  public static TrainingArguments parse(String text, String displayName, Format format) {
    return parse(new StringReader(text), displayName, format);
  }

  /** Reads a configuration in the given format. */
  public static TrainingArguments parse(Reader reader, String displayName, Format format) {
    JsonNode root = readTree(reader, displayName, format);
    TrainingArguments a = new TrainingArguments();
    a.source = displayName;
    if (root == null || root.isMissingNode() || root.isNull()) {
      a.validate(displayName);
      return a; // an empty YAML file: all defaults
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException(
          displayName + ": the configuration must be a mapping of option names to values, not "
              + describe(root));
    }
    List<String> errors = new ArrayList<>();
    Set<String> explicit = new TreeSet<>();
    List<String> ignored = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      a.apply(e.getKey(), e.getValue(), displayName, explicit, ignored, errors);
    }
    if (explicit.contains("eval_strategy") && root.has("eval_strategy")
        && root.has("evaluation_strategy")) {
      errors.add(displayName + ": give \"eval_strategy\" or its older name \"evaluation_strategy\","
          + " not both");
    }
    throwIfAny(errors);
    a.explicitKeys = Set.copyOf(explicit);
    a.ignoredKeys = List.copyOf(ignored);
    a.validate(displayName);
    return a;
  }

  /**
   * A copy with {@code key=value} overrides applied (the command line's {@code --set}). The value is
   * read as a JSON scalar or array when it is one ({@code 3e-5}, {@code true}, {@code null}, {@code
   * ["mlflow"]}) and as a plain string otherwise ({@code lr_scheduler_type=constant}).
   */
  public TrainingArguments withOverrides(Collection<String> assignments) {
    if (assignments.isEmpty()) {
      return this;
    }
    TrainingArguments a = copy();
    List<String> errors = new ArrayList<>();
    Set<String> explicit = new TreeSet<>(explicitKeys);
    List<String> ignored = new ArrayList<>(ignoredKeys);
    for (String assignment : assignments) {
      String where = "--set " + assignment;
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        errors.add(where + ": expected key=value");
        continue;
      }
      String key = assignment.substring(0, eq).trim();
      String text = assignment.substring(eq + 1).trim();
      a.apply(key, scalar(text), where, explicit, ignored, errors);
    }
    throwIfAny(errors);
    a.explicitKeys = Set.copyOf(explicit);
    a.ignoredKeys = List.copyOf(ignored);
    a.source = source + " + --set";
    a.validate("--set");
    return a;
  }

  private static JsonNode scalar(String text) {
    if (text.isEmpty()) {
      return TextNode.valueOf("");
    }
    try {
      JsonNode n = JSON.readTree(text);
      if (n != null && (n.isValueNode() || n.isArray() || n.isNull())) {
        return n;
      }
    } catch (JsonProcessingException e) {
      // not JSON: a plain string such as constant_with_warmup
    }
    return TextNode.valueOf(text);
  }

  private static final ObjectMapper JSON = strict(new ObjectMapper());
  private static final ObjectMapper YAML = strict(new ObjectMapper(new YAMLFactory()));

  private static ObjectMapper strict(ObjectMapper m) {
    m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    return m;
  }

  static JsonNode readTree(Reader reader, String displayName, Format format) {
    ObjectMapper m = format == Format.YAML ? YAML : JSON;
    try (Reader r = reader) {
      return m.readTree(r);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException(
          displayName + ": not valid " + format + ": " + e.getOriginalMessage()
              + location(e), e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          displayName + ": not valid " + format + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + displayName + ": " + e.getMessage(), e);
    }
  }

  private static String location(JsonParseException e) {
    return e.getLocation() == null
        ? ""
        : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()
            + ")";
  }

  // ------------------------------------------------------------------ the option table

  enum Kind {
    NUMBER("a number"),
    INTEGER("an integer"),
    BOOLEAN("true or false"),
    STRING("a string"),
    STRING_LIST("a string or a list of strings");

    final String expected;

    Kind(String expected) {
      this.expected = expected;
    }
  }

  private record Option(
      String key,
      Kind kind,
      boolean nullable,
      BiConsumer<TrainingArguments, Object> set,
      Function<TrainingArguments, Object> get) {}

  private static final Map<String, Option> OPTIONS = new LinkedHashMap<>();

  /** Keys Hugging Face configurations often carry that have no meaning here: accepted, listed. */
  private static final Map<String, String> ACCEPTED_IGNORED =
      Map.of(
          "do_train", "sparkner train always trains",
          "do_eval", "evaluation follows eval_strategy",
          "do_predict", "use sparkner evaluate/score",
          "overwrite_output_dir", "use --overwrite",
          "logging_dir", "metrics go to metrics.jsonl under the output",
          "disable_tqdm", "the progress line is always printed");

  private static void opt(
      String key,
      Kind kind,
      boolean nullable,
      BiConsumer<TrainingArguments, Object> set,
      Function<TrainingArguments, Object> get) {
    OPTIONS.put(key, new Option(key, kind, nullable, set, get));
  }

  static {
    opt("learning_rate", Kind.NUMBER, false, (a, v) -> a.learningRate = (Double) v,
        a -> a.learningRate);
    opt("num_train_epochs", Kind.NUMBER, false, (a, v) -> a.numTrainEpochs = (Double) v,
        a -> a.numTrainEpochs);
    opt("max_steps", Kind.INTEGER, false, (a, v) -> a.maxSteps = (Long) v, a -> a.maxSteps);
    opt("per_device_train_batch_size", Kind.INTEGER, false,
        (a, v) -> a.perDeviceTrainBatchSize = toInt(v), a -> a.perDeviceTrainBatchSize);
    opt("per_device_eval_batch_size", Kind.INTEGER, false,
        (a, v) -> a.perDeviceEvalBatchSize = toInt(v), a -> a.perDeviceEvalBatchSize);
    opt("gradient_accumulation_steps", Kind.INTEGER, false,
        (a, v) -> a.gradientAccumulationSteps = toInt(v), a -> a.gradientAccumulationSteps);
    opt("warmup_ratio", Kind.NUMBER, false, (a, v) -> a.warmupRatio = (Double) v,
        a -> a.warmupRatio);
    opt("warmup_steps", Kind.INTEGER, false, (a, v) -> a.warmupSteps = (Long) v,
        a -> a.warmupSteps);
    opt("weight_decay", Kind.NUMBER, false, (a, v) -> a.weightDecay = (Double) v,
        a -> a.weightDecay);
    opt("adam_beta1", Kind.NUMBER, false, (a, v) -> a.adamBeta1 = (Double) v, a -> a.adamBeta1);
    opt("adam_beta2", Kind.NUMBER, false, (a, v) -> a.adamBeta2 = (Double) v, a -> a.adamBeta2);
    opt("adam_epsilon", Kind.NUMBER, false, (a, v) -> a.adamEpsilon = (Double) v,
        a -> a.adamEpsilon);
    opt("max_grad_norm", Kind.NUMBER, false, (a, v) -> a.maxGradNorm = (Double) v,
        a -> a.maxGradNorm);
    opt("lr_scheduler_type", Kind.STRING, false,
        (a, v) -> a.lrSchedulerType = LrSchedulerType.parse((String) v),
        a -> a.lrSchedulerType.hfName());
    opt("logging_steps", Kind.INTEGER, false, (a, v) -> a.loggingSteps = toInt(v),
        a -> a.loggingSteps);
    opt("save_steps", Kind.INTEGER, false, (a, v) -> a.saveSteps = toInt(v), a -> a.saveSteps);
    opt("save_total_limit", Kind.INTEGER, true,
        (a, v) -> a.saveTotalLimit = v == null ? null : toInt(v), a -> a.saveTotalLimit);
    opt("eval_strategy", Kind.STRING, false,
        (a, v) -> a.evalStrategy = EvalStrategy.parse((String) v), a -> a.evalStrategy.hfName());
    opt("eval_steps", Kind.INTEGER, true, (a, v) -> a.evalSteps = v == null ? null : toInt(v),
        a -> a.evalSteps);
    opt("seed", Kind.INTEGER, false, (a, v) -> a.seed = (Long) v, a -> a.seed);
    opt("data_seed", Kind.INTEGER, true, (a, v) -> a.dataSeed = (Long) v, a -> a.dataSeed);
    opt("group_by_length", Kind.BOOLEAN, false, (a, v) -> a.groupByLength = (Boolean) v,
        a -> a.groupByLength);
    opt("fp16", Kind.BOOLEAN, false, (a, v) -> a.fp16 = (Boolean) v, a -> a.fp16);
    opt("bf16", Kind.BOOLEAN, false, (a, v) -> a.bf16 = (Boolean) v, a -> a.bf16);
    opt("dataloader_drop_last", Kind.BOOLEAN, false, (a, v) -> a.dataloaderDropLast = (Boolean) v,
        a -> a.dataloaderDropLast);
    opt("label_smoothing_factor", Kind.NUMBER, false,
        (a, v) -> a.labelSmoothingFactor = (Double) v, a -> a.labelSmoothingFactor);
    opt("output_dir", Kind.STRING, true, (a, v) -> a.outputDir = (String) v, a -> a.outputDir);
    opt("run_name", Kind.STRING, true, (a, v) -> a.runName = (String) v, a -> a.runName);
    opt("report_to", Kind.STRING_LIST, true, (a, v) -> a.reportTo = reportTo(v),
        a -> a.reportTo);
    opt("replicas", Kind.INTEGER, false, (a, v) -> a.replicas = toInt(v), a -> a.replicas);
    opt("zero_stage", Kind.INTEGER, false, (a, v) -> a.zeroStage = toInt(v), a -> a.zeroStage);
    opt("hidden_dropout_prob", Kind.NUMBER, true, (a, v) -> a.hiddenDropoutProb = (Double) v,
        a -> a.hiddenDropoutProb);
    opt("attention_probs_dropout_prob", Kind.NUMBER, true,
        (a, v) -> a.attentionProbsDropoutProb = (Double) v, a -> a.attentionProbsDropoutProb);
    opt("classifier_dropout", Kind.NUMBER, true, (a, v) -> a.classifierDropout = (Double) v,
        a -> a.classifierDropout);
  }

  private static int toInt(Object v) {
    long l = (Long) v;
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("is out of range (" + l + ")");
    }
    return (int) l;
  }

  @SuppressWarnings("unchecked")
  private static List<String> reportTo(Object v) {
    if (v == null) {
      return List.of("none");
    }
    List<String> l = v instanceof String s ? List.of(s) : List.copyOf((List<String>) v);
    List<String> out = new ArrayList<>();
    for (String s : l) {
      out.add(s.trim().toLowerCase(Locale.ROOT));
    }
    return List.copyOf(out);
  }

  /** Every option name this class accepts, in declaration order (plus the old alias). */
  public static List<String> knownKeys() {
    List<String> keys = new ArrayList<>(OPTIONS.keySet());
    keys.add("evaluation_strategy");
    keys.addAll(new TreeSet<>(ACCEPTED_IGNORED.keySet()));
    return keys;
  }

  private void apply(
      String rawKey,
      JsonNode node,
      String where,
      Set<String> explicit,
      List<String> ignored,
      List<String> errors) {
    String key = "evaluation_strategy".equals(rawKey) ? "eval_strategy" : rawKey;
    if (ACCEPTED_IGNORED.containsKey(key)) {
      String note = key + " (" + ACCEPTED_IGNORED.get(key) + ")";
      if (!ignored.contains(note)) {
        ignored.add(note);
      }
      return;
    }
    Option o = OPTIONS.get(key);
    if (o == null) {
      errors.add(where + ": unknown key \"" + rawKey + "\"" + suggestion(rawKey, knownKeys()));
      return;
    }
    Object value;
    try {
      value = convert(node, o.kind, o.nullable);
    } catch (IllegalArgumentException e) {
      errors.add(where + ": \"" + rawKey + "\" " + e.getMessage());
      return;
    }
    try {
      o.set.accept(this, value);
    } catch (IllegalArgumentException e) {
      errors.add(where + ": \"" + rawKey + "\" " + e.getMessage());
      return;
    }
    explicit.add(key);
    if (key.equals("report_to")) {
      for (String r : reportTo) {
        if (!r.equals("mlflow") && !r.equals("none") && !r.equals("all")) {
          String note = "report_to \"" + r + "\" (only mlflow is supported)";
          if (!ignored.contains(note)) {
            ignored.add(note);
          }
        }
      }
    }
  }

  /** Converts a JSON/YAML node to Double, Long, Boolean, String or List of String. */
  static Object convert(JsonNode node, Kind kind, boolean nullable) {
    if (node == null || node.isNull()) {
      if (nullable) {
        return null;
      }
      throw new IllegalArgumentException("must be " + kind.expected + ", not null");
    }
    switch (kind) {
      case NUMBER:
        return number(node, kind);
      case INTEGER:
        return integer(node, kind);
      case BOOLEAN:
        if (node.isBoolean()) {
          return node.booleanValue();
        }
        if (node.isTextual()) {
          String t = node.textValue().trim().toLowerCase(Locale.ROOT);
          if (t.equals("true") || t.equals("false")) {
            return Boolean.valueOf(t);
          }
        }
        throw wrongType(kind, node);
      case STRING:
        if (node.isTextual()) {
          return node.textValue();
        }
        throw wrongType(kind, node);
      case STRING_LIST:
        if (node.isTextual()) {
          return node.textValue();
        }
        if (node.isArray()) {
          List<String> l = new ArrayList<>();
          for (JsonNode n : node) {
            if (!n.isTextual()) {
              throw wrongType(kind, node);
            }
            l.add(n.textValue());
          }
          return l;
        }
        throw wrongType(kind, node);
      default:
        throw new AssertionError(kind);
    }
  }

  private static double number(JsonNode node, Kind kind) {
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isTextual()) {
      try {
        double d = Double.parseDouble(node.textValue().trim());
        if (Double.isFinite(d)) {
          return d;
        }
      } catch (NumberFormatException e) {
        // fall through to the type error
      }
    }
    throw wrongType(kind, node);
  }

  private static long integer(JsonNode node, Kind kind) {
    double d;
    if (node.isIntegralNumber()) {
      if (!node.canConvertToLong()) {
        throw new IllegalArgumentException("is out of range (" + node.asText() + ")");
      }
      return node.longValue();
    }
    try {
      d = number(node, kind);
    } catch (IllegalArgumentException e) {
      throw wrongType(kind, node);
    }
    if (d != Math.rint(d) || Math.abs(d) > 9.0e15) {
      throw wrongType(kind, node);
    }
    return (long) d;
  }

  private static IllegalArgumentException wrongType(Kind kind, JsonNode node) {
    return new IllegalArgumentException("must be " + kind.expected + ", got " + describe(node));
  }

  static String describe(JsonNode n) {
    if (n.isTextual()) {
      return "the string \"" + n.textValue() + "\"";
    }
    if (n.isObject()) {
      return "an object";
    }
    if (n.isArray()) {
      return "a list";
    }
    if (n.isBoolean()) {
      return n.asText();
    }
    if (n.isNumber()) {
      return n.asText();
    }
    return n.getNodeType().toString().toLowerCase(Locale.ROOT);
  }

  // ------------------------------------------------------------------ validation

  private void validate(String where) {
    List<String> errors = new ArrayList<>();
    String p = where + ": ";
    if (!(learningRate >= 0)) {
      errors.add(p + "learning_rate must be >= 0 (got " + fmt(learningRate) + ")");
    }
    if (maxSteps <= 0 && !(numTrainEpochs > 0)) {
      errors.add(p + "num_train_epochs must be > 0 unless max_steps is set (got "
          + fmt(numTrainEpochs) + ")");
    }
    if (perDeviceTrainBatchSize < 1) {
      errors.add(p + "per_device_train_batch_size must be >= 1 (got " + perDeviceTrainBatchSize
          + ")");
    }
    if (perDeviceEvalBatchSize < 1) {
      errors.add(p + "per_device_eval_batch_size must be >= 1 (got " + perDeviceEvalBatchSize
          + ")");
    }
    if (gradientAccumulationSteps < 1) {
      errors.add(p + "gradient_accumulation_steps must be >= 1 (got " + gradientAccumulationSteps
          + ")");
    }
    if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
      errors.add(p + "warmup_ratio must be in [0, 1] (got " + fmt(warmupRatio) + ")");
    }
    if (warmupSteps < 0) {
      errors.add(p + "warmup_steps must be >= 0 (got " + warmupSteps + ")");
    }
    if (!(weightDecay >= 0)) {
      errors.add(p + "weight_decay must be >= 0 (got " + fmt(weightDecay) + ")");
    }
    if (!(adamBeta1 >= 0 && adamBeta1 < 1)) {
      errors.add(p + "adam_beta1 must be in [0, 1) (got " + fmt(adamBeta1) + ")");
    }
    if (!(adamBeta2 >= 0 && adamBeta2 < 1)) {
      errors.add(p + "adam_beta2 must be in [0, 1) (got " + fmt(adamBeta2) + ")");
    }
    if (!(adamEpsilon >= 0)) {
      errors.add(p + "adam_epsilon must be >= 0 (got " + fmt(adamEpsilon) + ")");
    }
    if (loggingSteps < 1) {
      errors.add(p + "logging_steps must be >= 1 (got " + loggingSteps + ")");
    }
    if (saveSteps < 1) {
      errors.add(p + "save_steps must be >= 1 (got " + saveSteps + ")");
    }
    if (saveTotalLimit != null && saveTotalLimit < 1) {
      errors.add(p + "save_total_limit must be >= 1 or null (got " + saveTotalLimit + ")");
    }
    if (evalSteps != null && evalSteps < 1) {
      errors.add(p + "eval_steps must be >= 1 (got " + evalSteps + ")");
    }
    if (fp16 && bf16) {
      errors.add(p + "at most one of fp16 and bf16 can be true");
    }
    if (labelSmoothingFactor != 0.0) {
      errors.add(p + "label_smoothing_factor " + fmt(labelSmoothingFactor)
          + " is not supported (only 0)");
    }
    if (replicas < 1) {
      errors.add(p + "replicas must be >= 1 (got " + replicas + ")");
    }
    if (zeroStage == 3) {
      errors.add(p + "zero_stage 3: ZeRO stage 3 is out of scope (use 0, 1 or 2)");
    } else if (zeroStage < 0 || zeroStage > 3) {
      errors.add(p + "zero_stage must be 0, 1 or 2 (got " + zeroStage + ")");
    }
    checkDropout("hidden_dropout_prob", hiddenDropoutProb, p, errors);
    checkDropout("attention_probs_dropout_prob", attentionProbsDropoutProb, p, errors);
    checkDropout("classifier_dropout", classifierDropout, p, errors);
    throwIfAny(errors);
  }

  private static void checkDropout(String key, Double v, String p, List<String> errors) {
    if (v != null && !(v >= 0 && v < 1)) {
      errors.add(p + key + " must be in [0, 1) (got " + fmt(v) + ")");
    }
  }

  // ------------------------------------------------------------------ helpers shared in the package

  static void throwIfAny(List<String> errors) {
    if (errors.size() == 1) {
      throw new IllegalArgumentException(errors.get(0));
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(
          errors.size() + " configuration errors:\n  " + String.join("\n  ", errors));
    }
  }

  /** {@code " (did you mean "x"?)"} for the nearest known key by edit distance, or "". */
  static String suggestion(String key, Collection<String> known) {
    return suggestion(key, known, "");
  }

  /** As {@link #suggestion(String, Collection)}, the suggestion shown with {@code prefix}. */
  static String suggestion(String key, Collection<String> known, String prefix) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = editDistance(key.toLowerCase(Locale.ROOT), k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    int allowed = Math.max(2, key.length() / 3);
    return best != null && bestDistance <= allowed
        ? " (did you mean \"" + prefix + best + "\"?)"
        : "";
  }

  /** Optimal string alignment distance: insertions, deletions, substitutions, transpositions. */
  static int editDistance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }

  /** A number as a person writes it: 12, 0.01, 5E-5, 200000000. */
  static String fmt(double d) {
    if (!Double.isFinite(d)) {
      return Double.toString(d);
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return BigDecimal.valueOf(d).stripTrailingZeros().toString();
  }

  private TrainingArguments copy() {
    TrainingArguments a = new TrainingArguments();
    for (Option o : OPTIONS.values()) {
      Object v = o.get.apply(this);
      switch (o.kind) {
        case INTEGER:
          v = v == null ? null : ((Number) v).longValue();
          break;
        case NUMBER:
          v = v == null ? null : ((Number) v).doubleValue();
          break;
        default:
          break;
      }
      o.set.accept(a, v);
    }
    a.reportTo = reportTo; // the setter maps null to "none"; keep the exact list
    a.source = source;
    a.explicitKeys = explicitKeys;
    a.ignoredKeys = ignoredKeys;
    return a;
  }

  /** The options as Hugging Face names them, in declaration order, for logs and metrics. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    for (Option o : OPTIONS.values()) {
      m.put(o.key, o.get.apply(this));
    }
    return m;
  }

  @Override
  public String toString() {
    return "TrainingArguments" + toMap();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TrainingArguments t && toMap().equals(t.toMap());
  }

  @Override
  public int hashCode() {
    return toMap().hashCode();
  }

  // ------------------------------------------------------------------ accessors

  /** Where the values came from: the display name of the file, "defaults", "... + --set". */
  public String source() {
    return source;
  }

  /** Whether {@code key} (a Hugging Face name) was given in the file or an override. */
  public boolean isExplicit(String key) {
    return explicitKeys.contains("evaluation_strategy".equals(key) ? "eval_strategy" : key);
  }

  public Set<String> explicitKeys() {
    return explicitKeys;
  }

  /** Keys that were accepted but have no effect, with the reason, for the CLI to print. */
  public List<String> ignoredKeys() {
    return ignoredKeys;
  }

  public double learningRate() {
    return learningRate;
  }

  public double numTrainEpochs() {
    return numTrainEpochs;
  }

  /** Total optimizer steps when > 0 (overrides num_train_epochs); -1 = unset. */
  public long maxSteps() {
    return maxSteps;
  }

  public int perDeviceTrainBatchSize() {
    return perDeviceTrainBatchSize;
  }

  public int perDeviceEvalBatchSize() {
    return perDeviceEvalBatchSize;
  }

  public int gradientAccumulationSteps() {
    return gradientAccumulationSteps;
  }

  public double warmupRatio() {
    return warmupRatio;
  }

  public long warmupSteps() {
    return warmupSteps;
  }

  /** Hugging Face's {@code get_warmup_steps}: warmup_steps if > 0, else ceil(ratio × total). */
  public long warmupStepsFor(long totalSteps) {
    return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(totalSteps * warmupRatio);
  }

  public double weightDecay() {
    return weightDecay;
  }

  public double adamBeta1() {
    return adamBeta1;
  }

  public double adamBeta2() {
    return adamBeta2;
  }

  public double adamEpsilon() {
    return adamEpsilon;
  }

  public double maxGradNorm() {
    return maxGradNorm;
  }

  public LrSchedulerType lrSchedulerType() {
    return lrSchedulerType;
  }

  public int loggingSteps() {
    return loggingSteps;
  }

  public int saveSteps() {
    return saveSteps;
  }

  /** Null = keep every checkpoint. */
  public Integer saveTotalLimit() {
    return saveTotalLimit;
  }

  public EvalStrategy evalStrategy() {
    return evalStrategy;
  }

  /** As Hugging Face: eval_steps when given, else logging_steps. */
  public int evalSteps() {
    return evalSteps != null ? evalSteps : loggingSteps;
  }

  public long seed() {
    return seed;
  }

  /** Null = the data order follows {@link #seed()}. */
  public Long dataSeed() {
    return dataSeed;
  }

  /** Batches of windows of similar length (Hugging Face's LengthGroupedSampler order). */
  public boolean groupByLength() {
    return groupByLength;
  }

  public boolean fp16() {
    return fp16;
  }

  public boolean bf16() {
    return bf16;
  }

  public boolean dataloaderDropLast() {
    return dataloaderDropLast;
  }

  public double labelSmoothingFactor() {
    return labelSmoothingFactor;
  }

  /** Null unless given; the command line's --output wins over it. */
  public String outputDir() {
    return outputDir;
  }

  /** Null unless given; the MLflow run name. */
  public String runName() {
    return runName;
  }

  public List<String> reportTo() {
    return reportTo;
  }

  /** Whether report_to names mlflow (or "all"). */
  public boolean reportToMlflow() {
    return reportTo.contains("mlflow") || reportTo.contains("all");
  }

  public int replicas() {
    return replicas;
  }

  public int zeroStage() {
    return zeroStage;
  }

  /** Null = keep the checkpoint's value. */
  public Double hiddenDropoutProb() {
    return hiddenDropoutProb;
  }

  /** Null = keep the checkpoint's value. */
  public Double attentionProbsDropoutProb() {
    return attentionProbsDropoutProb;
  }

  /** Null = keep the checkpoint's value. */
  public Double classifierDropout() {
    return classifierDropout;
  }
}
