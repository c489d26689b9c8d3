package io.sparkner.train;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.config.ConfigFormat;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.ConfigReader.Bound;
import io.sparkner.config.Ignored;
import io.sparkner.config.Setting;
import io.sparkner.config.Validated;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A DeepSpeed configuration ({@code --deepspeed ds_config.json}), parsed and checked but not yet
 * resolved: values may still be {@code "auto"}, which {@link TrainConfig#resolve} fills from the
 * {@link TrainingArguments} as Hugging Face's {@code HfTrainerDeepSpeedConfig} does.
 *
 * <p>The supported subset is the records below (the shape of DeepSpeed's own pydantic models): what
 * a data-parallel ZeRO-0/1/2 fine-tune with Adam(W) uses; the ZeRO-2 file of the original Hugging
 * Face example loads unchanged. Any other key is an error with its JSON path ({@code
 * ds_config.json: unknown key "zero_optimization.stgae"}); keys that are accepted but change
 * nothing here (offload, communication tuning, printing) are listed by {@link #ignoredKeys()}.
 *
 * <p>DeepSpeed semantics kept (checked against DeepSpeed's sources):
 *
 * <ul>
 *   <li>{@code optimizer.type} is case-insensitive. {@code "Adam"} is decoupled AdamW too unless
 *       {@code params.adam_w_mode} is false: DeepSpeed's {@code adam_w_mode} defaults to true and
 *       {@code "AdamW"} forces it; {@code torch_adam} only picks the implementation.
 *   <li>{@code WarmupLR}/{@code WarmupDecayLR}: {@code warmup_type} defaults to {@code "log"} (lr
 *       rises as ln(k+1)/ln(W)); Hugging Face leaves it unset, so the original example warmed up
 *       logarithmically and then held the lr constant (WarmupLR has no decay).
 *   <li>fp16 defaults: dynamic loss scale ({@code loss_scale} 0) starting at 2^16, window 1000,
 *       hysteresis 2, min 1, no consecutive hysteresis.
 *   <li>{@code zero_optimization}: stage 0 by default; buckets 5e8 by default; {@code overlap_comm}
 *       false by default (under ZeRO 1/2 it overlaps the parameter all-gather with the next step's
 *       forward; at stage 0 it has nothing to overlap, see {@link TrainConfig#overlapComm()}).
 * </ul>
 *
 * <p>Deliberate difference: a key absent from the file behaves like {@code "auto"} (it takes the
 * {@link TrainingArguments} value) instead of DeepSpeed's own default (e.g. an optimizer lr of
 * 1e-3), which under Hugging Face silently diverges from the training arguments. Null is absent.
 */
public final class DeepSpeedConfig implements Serializable {
  private static final long serialVersionUID = 2L;

  private static final String SUMS =
      "sparkner sums gradients and divides once by the global token count";

  private static final ConfigReader<File> READER =
      ConfigReader.of(File.class)
          .autoHint(
              " (Hugging Face fills \"auto\" only for batch sizes, accumulation, clipping,"
                  + " optimizer and scheduler params, fp16/bf16.enabled and"
                  + " zero_optimization.reduce_bucket_size)")
          .outOfScope("zero_optimization.stage3_", "ZeRO stage 3 is out of scope");

  /** The scheduler types implemented. */
  public enum SchedulerType {
    WARMUP_LR("WarmupLR"),
    WARMUP_DECAY_LR("WarmupDecayLR");

    private final String dsName;

    SchedulerType(String dsName) {
      this.dsName = dsName;
    }

    public String dsName() {
      return dsName;
    }

    static SchedulerType of(String s) {
      for (SchedulerType t : values()) {
        if (t.dsName.equals(s)) {
          return t;
        }
      }
      return null;
    }
  }

  /** DeepSpeed's warmup curve: log (its default) or linear. */
  public enum WarmupType {
    LOG,
    LINEAR;

    public String dsName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  // ------------------------------------------------------------------ the file's shape

  /** The top level of a DeepSpeed config. */
  record File(
      Setting<Long> trainBatchSize,
      Setting<Long> trainMicroBatchSizePerGpu,
      Setting<Long> gradientAccumulationSteps,
      Setting<Double> gradientClipping,
      @Ignored("metrics follow logging_steps") Long stepsPerPrint,
      @Ignored("step times and their breakdown are always in metrics.jsonl")
          Boolean wallClockBreakdown,
      @Ignored("only Adam/AdamW are implemented") Boolean zeroAllowUntestedOptimizer,
      @Ignored(SUMS) Double gradientPredivideFactor,
      @Ignored(SUMS) Boolean prescaleGradients,
      Boolean sparseGradients,
      Fp16 fp16,
      @JsonAlias("bfloat16") Bf16 bf16,
      Optimizer optimizer,
      Scheduler scheduler,
      Zero zeroOptimization)
      implements Validated, Serializable {

    @Override
    public void validate(List<String> errors) {
      Zero z = zeroOf(this);
      long stage = z.stage() == null ? 0 : z.stage();
      if (stage == 3) {
        errors.add("zero_optimization.stage 3: ZeRO stage 3 is out of scope (use 0, 1 or 2)");
      } else if (stage < 0 || stage > 3) {
        errors.add("zero_optimization.stage must be 0, 1 or 2 (got " + stage + ")");
      }
      if (optimizer != null) {
        String t = optimizer.type();
        if (t == null) {
          errors.add("optimizer.type is missing (Adam or AdamW)");
        } else if (!t.equalsIgnoreCase("adam") && !t.equalsIgnoreCase("adamw")) {
          errors.add("optimizer.type \"" + t + "\" is not supported (Adam or AdamW)");
        }
      }
      SchedulerParams sp = schedulerParamsOf(this);
      if (scheduler != null) {
        String t = scheduler.type();
        if (t == null) {
          errors.add("scheduler.type is missing (WarmupLR or WarmupDecayLR)");
        } else if (SchedulerType.of(t) == null) {
          boolean known = List.of("WarmupCosineLR", "OneCycle", "LRRangeTest").contains(t);
          errors.add(
              "scheduler.type \""
                  + t
                  + "\" is "
                  + (known ? "out of scope" : "unknown")
                  + " (WarmupLR or WarmupDecayLR)");
        } else if (SchedulerType.of(t) == SchedulerType.WARMUP_LR
            && !Setting.orAbsent(sp.totalNumSteps()).isAbsent()) {
          errors.add(
              "scheduler.params.total_num_steps is a WarmupDecayLR parameter; WarmupLR"
                  + " does not take it");
        }
        String wt = sp.warmupType();
        if (wt != null && !wt.equals("log") && !wt.equals("linear")) {
          errors.add(
              "scheduler.params.warmup_type must be \"log\" or \"linear\" (got \"" + wt + "\")");
        }
      }
      device(
          "offload_optimizer",
          z.offloadOptimizer() == null ? null : z.offloadOptimizer().device(),
          errors);
      device("offload_param", z.offloadParam() == null ? null : z.offloadParam().device(), errors);
      Fp16 f = fp16Of(this);
      if (Boolean.TRUE.equals(Setting.orAbsent(f.enabled()).value())
          && bf16 != null
          && Boolean.TRUE.equals(Setting.orAbsent(bf16.enabled()).value())) {
        errors.add("fp16.enabled and bf16.enabled cannot both be true");
      }
      OptimizerParams op = optimizerParamsOf(this);
      atLeast("train_batch_size", trainBatchSize, 1, errors);
      atLeast("train_micro_batch_size_per_gpu", trainMicroBatchSizePerGpu, 1, errors);
      atLeast("gradient_accumulation_steps", gradientAccumulationSteps, 1, errors);
      atLeast("gradient_clipping", gradientClipping, 0, errors);
      atLeast("fp16.loss_scale", f.lossScale(), 0, errors);
      atLeast("fp16.initial_scale_power", f.initialScalePower(), 0, errors);
      if (f.initialScalePower() != null && f.initialScalePower() > 62) {
        errors.add("fp16.initial_scale_power must be <= 62 (got " + f.initialScalePower() + ")");
      }
      atLeast("fp16.loss_scale_window", f.lossScaleWindow(), 1, errors);
      atLeast("fp16.hysteresis", f.hysteresis(), 1, errors);
      if (f.minLossScale() != null && !(f.minLossScale() > 0)) {
        errors.add(
            "fp16.min_loss_scale must be > 0 (got " + ConfigReader.fmt(f.minLossScale()) + ")");
      }
      atLeast("optimizer.params.lr", op.lr(), 0, errors);
      atLeast("optimizer.params.eps", op.eps(), 0, errors);
      atLeast("optimizer.params.weight_decay", op.weightDecay(), 0, errors);
      atLeast("scheduler.params.warmup_min_lr", sp.warmupMinLr(), 0, errors);
      atLeast("scheduler.params.warmup_max_lr", sp.warmupMaxLr(), 0, errors);
      atLeast("scheduler.params.warmup_num_steps", sp.warmupNumSteps(), 0, errors);
      atLeast("scheduler.params.total_num_steps", sp.totalNumSteps(), 1, errors);
      atLeast("zero_optimization.reduce_bucket_size", z.reduceBucketSize(), 1, errors);
      atLeast("zero_optimization.allgather_bucket_size", z.allgatherBucketSize(), 1, errors);
      Betas b = Setting.orAbsent(op.betas()).value();
      if (b != null && !(b.beta1() >= 0 && b.beta1() < 1 && b.beta2() >= 0 && b.beta2() < 1)) {
        errors.add(
            "optimizer.params.betas must be in [0, 1) (got ["
                + b.beta1()
                + ", "
                + b.beta2()
                + "])");
      }
    }

    private static void device(String section, String d, List<String> errors) {
      if (d != null && !d.equals("none") && !d.equals("cpu")) {
        errors.add(
            "zero_optimization."
                + section
                + ".device \""
                + d
                + "\" is not supported"
                + " (none or cpu)");
      }
    }

    private static void atLeast(String path, Object v, double min, List<String> errors) {
      Object n = v instanceof Setting<?> s ? s.value() : v;
      if (n instanceof Number x && !(x.doubleValue() >= min)) {
        errors.add(
            path
                + " must be >= "
                + ConfigReader.fmt(min)
                + " (got "
                + ConfigReader.fmt(x.doubleValue())
                + ")");
      }
    }
  }

  record Fp16(
      Setting<Boolean> enabled,
      Double lossScale,
      Long initialScalePower,
      Long lossScaleWindow,
      Long hysteresis,
      Double minLossScale,
      Boolean consecutiveHysteresis,
      @Ignored("model inputs are token ids; nothing to cast") Boolean autoCast)
      implements Serializable {}

  record Bf16(Setting<Boolean> enabled) implements Serializable {}

  record Optimizer(String type, OptimizerParams params) implements Serializable {}

  record OptimizerParams(
      Setting<Double> lr,
      Setting<Betas> betas,
      Setting<Double> eps,
      Setting<Double> weightDecay,
      @JsonProperty("adam_w_mode") Boolean adamWMode,
      @Ignored("one Adam implementation; same arithmetic") Boolean torchAdam)
      implements Serializable {}

  /** Adam's betas, written as a list of two numbers. */
  @JsonFormat(shape = JsonFormat.Shape.ARRAY)
  public record Betas(double beta1, double beta2) implements Serializable {}

  record Scheduler(String type, SchedulerParams params) implements Serializable {}

  record SchedulerParams(
      Setting<Double> warmupMinLr,
      Setting<Double> warmupMaxLr,
      Setting<Long> warmupNumSteps,
      String warmupType,
      Setting<Long> totalNumSteps)
      implements Serializable {}

  record Zero(
      Long stage,
      Setting<Long> reduceBucketSize,
      Long allgatherBucketSize,
      @Ignored("stage 2 always reduce-scatters, stages 0/1 all-reduce") Boolean reduceScatter,
      Boolean overlapComm,
      @Ignored("gradients are always one flat buffer") Boolean contiguousGradients,
      @Ignored("parameters are always all-gathered") Boolean allgatherPartitions,
      Boolean cpuOffload,
      OffloadOptimizer offloadOptimizer,
      OffloadParam offloadParam)
      implements Serializable {}

  record OffloadOptimizer(
      String device, Boolean pinMemory, Long bufferCount, Boolean fastInit, Double ratio)
      implements Serializable {}

  record OffloadParam(
      String device, Boolean pinMemory, Long bufferCount, Long bufferSize, Long maxInCpu)
      implements Serializable {}

  private static final Fp16 NO_FP16 = new Fp16(null, null, null, null, null, null, null, null);
  private static final OptimizerParams NO_OPTIMIZER_PARAMS =
      new OptimizerParams(null, null, null, null, null, null);
  private static final SchedulerParams NO_SCHEDULER_PARAMS =
      new SchedulerParams(null, null, null, null, null);
  private static final Zero NO_ZERO =
      new Zero(null, null, null, null, null, null, null, null, null, null);

  private static Fp16 fp16Of(File f) {
    return f.fp16() == null ? NO_FP16 : f.fp16();
  }

  private static OptimizerParams optimizerParamsOf(File f) {
    return f.optimizer() == null || f.optimizer().params() == null
        ? NO_OPTIMIZER_PARAMS
        : f.optimizer().params();
  }

  private static SchedulerParams schedulerParamsOf(File f) {
    return f.scheduler() == null || f.scheduler().params() == null
        ? NO_SCHEDULER_PARAMS
        : f.scheduler().params();
  }

  private static Zero zeroOf(File f) {
    return f.zeroOptimization() == null ? NO_ZERO : f.zeroOptimization();
  }

  // ------------------------------------------------------------------ state

  private final String displayName;
  private final File file;

  /** The checked file ({@code bfloat16} under its main name {@code bf16}). */
  private final ObjectNode tree;

  private final List<String> ignoredKeys;

  private DeepSpeedConfig(Bound<File> b) {
    this.displayName = b.source();
    this.file = b.value();
    this.tree = b.tree();
    List<String> out = new ArrayList<>(b.notes());
    Zero z = zeroOf(file);
    if (z.offloadOptimizer() != null) {
      String device =
          z.offloadOptimizer().device() == null ? "none" : z.offloadOptimizer().device();
      out.add(
          "zero_optimization.offload_optimizer (device \""
              + device
              + "\": not offloaded, optimizer state stays on the replica)");
    }
    if (Boolean.TRUE.equals(z.cpuOffload())) {
      out.add(
          "zero_optimization.cpu_offload (old name of offload_optimizer: not offloaded,"
              + " optimizer state stays on the replica)");
    }
    if (z.offloadParam() != null) {
      String device = z.offloadParam().device() == null ? "none" : z.offloadParam().device();
      out.add(
          "zero_optimization.offload_param (device \""
              + device
              + "\": a ZeRO-3 feature; parameters stay on the replica)");
    }
    this.ignoredKeys = List.copyOf(out);
  }

  // ------------------------------------------------------------------ loading

  /** Reads a local DeepSpeed JSON file. */
  public static DeepSpeedConfig fromFile(Path file) {
    String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
    try {
      return parse(Files.readString(file, StandardCharsets.UTF_8), name);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** As {@link #parse(Reader, String)}, from a string. */
  public static DeepSpeedConfig parse(String json, String displayName) {
    return parse(new StringReader(json), displayName);
  }

  /**
   * Reads DeepSpeed JSON; {@code displayName} (e.g. the file name or Hadoop path) prefixes every
   * error message.
   */
  public static DeepSpeedConfig parse(Reader reader, String displayName) {
    JsonNode root = ConfigReader.readTree(reader, displayName, ConfigFormat.JSON);
    if (!root.isObject()) {
      throw new IllegalArgumentException(
          displayName
              + ": a DeepSpeed config must be a JSON object"
              + (root.isMissingNode() ? "" : ", not " + ConfigReader.describe(root)));
    }
    return new DeepSpeedConfig(READER.bind(root, displayName));
  }

  // ------------------------------------------------------------------ accessors

  /** The name errors are prefixed with. */
  public String displayName() {
    return displayName;
  }

  /**
   * Whether the file has the section at {@code path} ("fp16", "zero_optimization.offload_param").
   */
  public boolean hasSection(String path) {
    return tree.at("/" + path.replace('.', '/')).isObject();
  }

  /** Keys accepted but without effect in sparkner, each with the reason, for the CLI to print. */
  public List<String> ignoredKeys() {
    return ignoredKeys;
  }

  public Setting<Long> trainBatchSize() {
    return Setting.orAbsent(file.trainBatchSize());
  }

  public Setting<Long> trainMicroBatchSizePerGpu() {
    return Setting.orAbsent(file.trainMicroBatchSizePerGpu());
  }

  public Setting<Long> gradientAccumulationSteps() {
    return Setting.orAbsent(file.gradientAccumulationSteps());
  }

  public Setting<Double> gradientClipping() {
    return Setting.orAbsent(file.gradientClipping());
  }

  public Setting<Boolean> fp16Enabled() {
    return Setting.orAbsent(fp16Of(file).enabled());
  }

  /** fp16.loss_scale: 0 (the default) = dynamic, > 0 = that static scale. */
  public double lossScale() {
    return or(fp16Of(file).lossScale(), 0.0);
  }

  public int initialScalePower() {
    return or(fp16Of(file).initialScalePower(), 16L).intValue();
  }

  public int lossScaleWindow() {
    return or(fp16Of(file).lossScaleWindow(), 1000L).intValue();
  }

  public int hysteresis() {
    return or(fp16Of(file).hysteresis(), 2L).intValue();
  }

  public double minLossScale() {
    return or(fp16Of(file).minLossScale(), 1.0);
  }

  public boolean consecutiveHysteresis() {
    return or(fp16Of(file).consecutiveHysteresis(), false);
  }

  public Setting<Boolean> bf16Enabled() {
    return file.bf16() == null ? Setting.absent() : Setting.orAbsent(file.bf16().enabled());
  }

  /** Whether an {@code optimizer} section is present. */
  public boolean hasOptimizer() {
    return file.optimizer() != null;
  }

  /** "Adam" or "AdamW" (normalized case), or null without an optimizer section. */
  public String optimizerType() {
    String t = file.optimizer() == null ? null : file.optimizer().type();
    if (t == null) {
      return null;
    }
    return t.equalsIgnoreCase("adamw") ? "AdamW" : "Adam";
  }

  /**
   * Whether weight decay is decoupled (AdamW): DeepSpeed forces it for "AdamW" and defaults {@code
   * adam_w_mode} to true for "Adam". True without an optimizer section (Hugging Face's AdamW).
   */
  public boolean decoupledWeightDecay() {
    return !hasOptimizer()
        || "AdamW".equals(optimizerType())
        || or(optimizerParamsOf(file).adamWMode(), true);
  }

  public Setting<Double> lr() {
    return Setting.orAbsent(optimizerParamsOf(file).lr());
  }

  public Setting<Betas> betas() {
    return Setting.orAbsent(optimizerParamsOf(file).betas());
  }

  public Setting<Double> eps() {
    return Setting.orAbsent(optimizerParamsOf(file).eps());
  }

  public Setting<Double> weightDecay() {
    return Setting.orAbsent(optimizerParamsOf(file).weightDecay());
  }

  /** The scheduler type, or null without a scheduler section (the TrainingArguments' then). */
  public SchedulerType schedulerType() {
    return file.scheduler() == null ? null : SchedulerType.of(file.scheduler().type());
  }

  public Setting<Double> warmupMinLr() {
    return Setting.orAbsent(schedulerParamsOf(file).warmupMinLr());
  }

  public Setting<Double> warmupMaxLr() {
    return Setting.orAbsent(schedulerParamsOf(file).warmupMaxLr());
  }

  public Setting<Long> warmupNumSteps() {
    return Setting.orAbsent(schedulerParamsOf(file).warmupNumSteps());
  }

  /** DeepSpeed's default is LOG. */
  public WarmupType warmupType() {
    return "linear".equals(schedulerParamsOf(file).warmupType())
        ? WarmupType.LINEAR
        : WarmupType.LOG;
  }

  public Setting<Long> totalNumSteps() {
    return Setting.orAbsent(schedulerParamsOf(file).totalNumSteps());
  }

  public int zeroStage() {
    return or(zeroOf(file).stage(), 0L).intValue();
  }

  /**
   * {@code sparse_gradients} (default false, as DeepSpeed): the word-embedding gradient travels
   * between the replicas as the rows the batches touched, not as the whole matrix.
   */
  public boolean sparseGradients() {
    return or(file.sparseGradients(), false);
  }

  public Setting<Long> reduceBucketSize() {
    return Setting.orAbsent(zeroOf(file).reduceBucketSize());
  }

  /**
   * {@code zero_optimization.overlap_comm} (default false, as DeepSpeed): under ZeRO 1 and 2 the
   * parameter all-gather after an optimizer step runs in the background while the next step's
   * forward starts, each forward part waiting just until its values have arrived.
   */
  public boolean overlapComm() {
    return or(zeroOf(file).overlapComm(), false);
  }

  /** Default 5e8 elements, as DeepSpeed. */
  public long allgatherBucketSize() {
    return or(zeroOf(file).allgatherBucketSize(), 500_000_000L);
  }

  /** "none" (default) or "cpu"; recorded only (see {@link #ignoredKeys()}). */
  public String offloadOptimizerDevice() {
    Zero z = zeroOf(file);
    String d = z.offloadOptimizer() == null ? null : z.offloadOptimizer().device();
    return d != null ? d : or(z.cpuOffload(), false) ? "cpu" : "none";
  }

  /** "none" (default) or "cpu"; recorded only. */
  public String offloadParamDevice() {
    Zero z = zeroOf(file);
    String d = z.offloadParam() == null ? null : z.offloadParam().device();
    return d != null ? d : "none";
  }

  private static <T> T or(T v, T fallback) {
    return v != null ? v : fallback;
  }

  @Override
  public String toString() {
    return "DeepSpeedConfig(" + displayName + ")" + file;
  }
}
