package io.sparkner.train;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.Ignored;
import io.sparkner.config.Validated;
import java.io.Reader;
import java.io.Serializable;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The training options of {@code --conf FILE}, named and defaulted as Hugging Face's {@code
 * TrainingArguments} dataclass (plus a few of sparkner's own): each option is one field below, its
 * initializer the default; {@link ConfigReader} binds JSON or YAML and {@code --set key=value}
 * overrides onto it, refusing unknown keys (with a did-you-mean) and wrong types, and remembering
 * the keys actually given ({@link #isExplicit}): when a DeepSpeed config gives the same value, only
 * an explicit conf value can conflict with it (see {@link TrainConfig#resolve}).
 *
 * <p>Instances are immutable; {@link #withOverrides} returns a new one.
 */
public final class TrainingArguments implements Validated, Serializable {
  private static final long serialVersionUID = 2L;

  private static final ConfigReader<TrainingArguments> READER =
      ConfigReader.of(TrainingArguments.class);

  /** Hugging Face's {@code lr_scheduler_type} values that sparkner implements. */
  public enum LrSchedulerType {
    LINEAR,
    CONSTANT,
    CONSTANT_WITH_WARMUP;

    /** The name in a Hugging Face configuration. */
    public String hfName() {
      return name().toLowerCase(Locale.ROOT);
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

  @JsonSetter(nulls = Nulls.FAIL)
  private LrSchedulerType lrSchedulerType = LrSchedulerType.LINEAR;

  // HF's default is 500; 50 is the example's value and gives a livelier progress line.
  private int loggingSteps = 50;
  private int saveSteps = 500;
  private Integer saveTotalLimit = null;

  // HF's default is "no"; the example evaluates every epoch.
  @JsonAlias("evaluation_strategy")
  @JsonSetter(nulls = Nulls.FAIL)
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
  // a linear-chain CRF over the logits (loss and decoding); null keeps the checkpoint's head
  private Boolean crf = null;
  // the CRF's own learning rate (BERT-CRF taggers train the transitions faster); null:
  // learning_rate
  private Double crfLearningRate = null;

  // --- Hugging Face keys accepted without effect ---
  @Ignored("sparkner train always trains")
  private JsonNode doTrain;

  @Ignored("evaluation follows eval_strategy")
  private JsonNode doEval;

  @Ignored("use sparkner evaluate/score")
  private JsonNode doPredict;

  @Ignored("use --overwrite")
  private JsonNode overwriteOutputDir;

  @Ignored("metrics go to metrics.jsonl under the output")
  private JsonNode loggingDir;

  @Ignored("the progress line is always printed")
  private JsonNode disableTqdm;

  @JsonIgnore private String source = "defaults";
  @JsonIgnore private ObjectNode tree = JsonNodeFactory.instance.objectNode();
  @JsonIgnore private Set<String> explicitKeys = Set.of();
  @JsonIgnore private List<String> ignoredKeys = List.of();

  private TrainingArguments() {}

  // ------------------------------------------------------------------ loading

  /** All defaults, as if from an empty configuration file. */
  public static TrainingArguments defaults() {
    return new TrainingArguments();
  }

  /** Reads a local {@code .json}, {@code .yaml} or {@code .yml} file. */
  public static TrainingArguments fromFile(Path file) {
    return of(READER.read(file));
  }

  /**
   * Reads a configuration whose format is given by the extension of {@code displayName}; the name
   * is also the prefix of every error message (callers reading a Hadoop path pass the path).
   */
  public static TrainingArguments parse(Reader reader, String displayName) {
    return of(READER.read(reader, displayName));
  }

  /** As {@link #parse(Reader, String)}, from a string. */
  public static TrainingArguments parse(String text, String displayName) {
    return parse(new StringReader(text), displayName);
  }

  /**
   * A copy with {@code key=value} overrides applied (the command line's {@code --set}). The value
   * is read as JSON when it is JSON ({@code 3e-5}, {@code true}, {@code null}, {@code ["mlflow"]})
   * and as a plain string otherwise ({@code lr_scheduler_type=constant}).
   */
  public TrainingArguments withOverrides(Collection<String> assignments) {
    if (assignments.isEmpty()) {
      return this;
    }
    return of(
        READER.update(
            new ConfigReader.Bound<>(this, source, tree, explicitKeys, ignoredKeys), assignments));
  }

  private static TrainingArguments of(ConfigReader.Bound<TrainingArguments> b) {
    TrainingArguments a = b.value();
    List<String> notes = new ArrayList<>(b.notes());
    List<String> targets = new ArrayList<>();
    for (String r : a.reportTo == null ? List.of("none") : a.reportTo) {
      String t = r.trim().toLowerCase(Locale.ROOT);
      targets.add(t);
      String note = "report_to \"" + t + "\" (only mlflow is supported)";
      if (!t.equals("mlflow") && !t.equals("none") && !t.equals("all") && !notes.contains(note)) {
        notes.add(note);
      }
    }
    a.reportTo = List.copyOf(targets);
    a.source = b.source();
    a.tree = b.tree();
    a.explicitKeys = b.explicitKeys();
    a.ignoredKeys = List.copyOf(notes);
    return a;
  }

  @Override
  public void validate(List<String> errors) {
    if (!(learningRate >= 0)) {
      errors.add("learning_rate must be >= 0 (got " + ConfigReader.fmt(learningRate) + ")");
    }
    if (maxSteps <= 0 && !(numTrainEpochs > 0)) {
      errors.add(
          "num_train_epochs must be > 0 unless max_steps is set (got "
              + ConfigReader.fmt(numTrainEpochs)
              + ")");
    }
    atLeast1("per_device_train_batch_size", perDeviceTrainBatchSize, errors);
    atLeast1("per_device_eval_batch_size", perDeviceEvalBatchSize, errors);
    atLeast1("gradient_accumulation_steps", gradientAccumulationSteps, errors);
    if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
      errors.add("warmup_ratio must be in [0, 1] (got " + ConfigReader.fmt(warmupRatio) + ")");
    }
    if (warmupSteps < 0) {
      errors.add("warmup_steps must be >= 0 (got " + warmupSteps + ")");
    }
    if (!(weightDecay >= 0)) {
      errors.add("weight_decay must be >= 0 (got " + ConfigReader.fmt(weightDecay) + ")");
    }
    unitInterval("adam_beta1", adamBeta1, errors);
    unitInterval("adam_beta2", adamBeta2, errors);
    if (!(adamEpsilon >= 0)) {
      errors.add("adam_epsilon must be >= 0 (got " + ConfigReader.fmt(adamEpsilon) + ")");
    }
    atLeast1("logging_steps", loggingSteps, errors);
    atLeast1("save_steps", saveSteps, errors);
    if (saveTotalLimit != null && saveTotalLimit < 1) {
      errors.add("save_total_limit must be >= 1 or null (got " + saveTotalLimit + ")");
    }
    if (evalSteps != null) {
      atLeast1("eval_steps", evalSteps, errors);
    }
    if (fp16 && bf16) {
      errors.add("at most one of fp16 and bf16 can be true");
    }
    if (labelSmoothingFactor != 0.0) {
      errors.add(
          "label_smoothing_factor "
              + ConfigReader.fmt(labelSmoothingFactor)
              + " is not supported (only 0)");
    }
    atLeast1("replicas", replicas, errors);
    if (crfLearningRate != null && !(crfLearningRate > 0)) {
      errors.add("crf_learning_rate must be > 0 (got " + ConfigReader.fmt(crfLearningRate) + ")");
    }
    if (crfLearningRate != null && Boolean.FALSE.equals(crf)) {
      errors.add("crf_learning_rate is set but crf is false: it is the CRF head's learning rate");
    }
    if (zeroStage == 3) {
      errors.add("zero_stage 3: ZeRO stage 3 is out of scope (use 0, 1 or 2)");
    } else if (zeroStage < 0 || zeroStage > 3) {
      errors.add("zero_stage must be 0, 1 or 2 (got " + zeroStage + ")");
    }
    for (Map.Entry<String, Double> d :
        Map.of(
                "hidden_dropout_prob",
                nz(hiddenDropoutProb),
                "attention_probs_dropout_prob",
                nz(attentionProbsDropoutProb),
                "classifier_dropout",
                nz(classifierDropout))
            .entrySet()) {
      unitInterval(d.getKey(), d.getValue(), errors);
    }
  }

  private static Double nz(Double d) {
    return d == null ? 0.0 : d;
  }

  private static void atLeast1(String key, int v, List<String> errors) {
    if (v < 1) {
      errors.add(key + " must be >= 1 (got " + v + ")");
    }
  }

  private static void unitInterval(String key, double v, List<String> errors) {
    if (!(v >= 0 && v < 1)) {
      errors.add(key + " must be in [0, 1) (got " + ConfigReader.fmt(v) + ")");
    }
  }

  /** The options as Hugging Face names them, in declaration order, for logs and metrics. */
  public Map<String, Object> toMap() {
    return ConfigReader.toMap(this);
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

  /**
   * True: the head gets a linear-chain CRF (trained with its negative log-likelihood, decoded by
   * Viterbi), false: the plain softmax head; null (absent) keeps the checkpoint's head ({@code
   * "crf"} of its config.json, false for a base model).
   */
  public Boolean crf() {
    return crf;
  }

  /**
   * The CRF head's learning rate (its parameters as a group of their own, under the same schedule);
   * null: {@code learning_rate}, like every other parameter.
   */
  public Double crfLearningRate() {
    return crfLearningRate;
  }
}
