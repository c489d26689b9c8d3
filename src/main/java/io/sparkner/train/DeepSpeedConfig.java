package io.sparkner.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkner.train.TrainingArguments.Format;
import io.sparkner.train.TrainingArguments.Kind;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A DeepSpeed configuration ({@code --deepspeed ds_config.json}), parsed and checked but not yet
 * resolved: values may still be {@code "auto"}, which {@link TrainConfig#resolve} fills from the
 * {@link TrainingArguments} as Hugging Face's {@code HfTrainerDeepSpeedConfig} does.
 *
 * <p>The supported subset is what a data-parallel ZeRO-0/1/2 fine-tune with Adam(W) uses; the
 * ZeRO-2 file of the original Hugging Face example loads unchanged. Any other key is an error with
 * its JSON path ({@code ds_config.json: unknown key "zero_optimization.stgae"}); keys that are
 * accepted but change nothing here (offload, communication tuning, printing) are listed by {@link
 * #ignoredKeys()}.
 *
 * <p>DeepSpeed semantics kept (checked against DeepSpeed's sources):
 *
 * <ul>
 *   <li>{@code optimizer.type} is case-insensitive. {@code "Adam"} is decoupled AdamW too unless
 *       {@code params.adam_w_mode} is false: DeepSpeed's {@code adam_w_mode} defaults to true and
 *       {@code "AdamW"} forces it; {@code torch_adam} only picks the implementation.
 *   <li>{@code WarmupLR}/{@code WarmupDecayLR}: {@code warmup_type} defaults to {@code "log"}
 *       (lr rises as ln(k+1)/ln(W)); Hugging Face leaves it unset, so the original example warmed
 *       up logarithmically and then held the lr constant (WarmupLR has no decay).
 *   <li>fp16 defaults: dynamic loss scale ({@code loss_scale} 0) starting at 2^16, window 1000,
 *       hysteresis 2, min 1, no consecutive hysteresis.
 *   <li>{@code zero_optimization}: stage 0 by default; buckets 5e8 by default.
 * </ul>
 *
 * <p>Deliberate difference: a key absent from the file behaves like {@code "auto"} (it takes the
 * {@link TrainingArguments} value) instead of DeepSpeed's own default (e.g. an optimizer lr of
 * 1e-3), which under Hugging Face silently diverges from the training arguments.
 */
public final class DeepSpeedConfig implements Serializable {
  private static final long serialVersionUID = 1L;

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
  }

  /** DeepSpeed's warmup curve: log (its default) or linear. */
  public enum WarmupType {
    LOG,
    LINEAR;

    public String dsName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A value that may be absent, {@code "auto"}, or set. */
  public record Setting<T>(State state, T value) implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum State {
      ABSENT,
      AUTO,
      SET
    }

    public boolean isSet() {
      return state == State.SET;
    }

    public boolean isAuto() {
      return state == State.AUTO;
    }

    public boolean isAbsent() {
      return state == State.ABSENT;
    }

    /** The value if set, else {@code fallback} (for absent and "auto"). */
    public T orElse(T fallback) {
      return isSet() ? value : fallback;
    }
  }

  private static final String AUTO = "auto";

  // ------------------------------------------------------------------ schema

  private enum Type {
    NUMBER(Kind.NUMBER),
    INTEGER(Kind.INTEGER),
    BOOLEAN(Kind.BOOLEAN),
    STRING(Kind.STRING),
    BETAS(null),
    SECTION(null);

    final Kind kind;

    Type(Kind kind) {
      this.kind = kind;
    }
  }

  private record Spec(Type type, boolean auto, Map<String, Spec> children) {}

  private static Spec v(Type t) {
    return new Spec(t, false, Map.of());
  }

  private static Spec auto(Type t) {
    return new Spec(t, true, Map.of());
  }

  @SafeVarargs
  private static Spec section(Map.Entry<String, Spec>... entries) {
    Map<String, Spec> m = new LinkedHashMap<>();
    for (Map.Entry<String, Spec> e : entries) {
      m.put(e.getKey(), e.getValue());
    }
    return new Spec(Type.SECTION, false, Collections.unmodifiableMap(m));
  }

  private static Map.Entry<String, Spec> k(String key, Spec spec) {
    return Map.entry(key, spec);
  }

  private static final Spec BF16 = section(k("enabled", auto(Type.BOOLEAN)));

  private static final Spec ROOT =
      section(
          k("train_batch_size", auto(Type.INTEGER)),
          k("train_micro_batch_size_per_gpu", auto(Type.INTEGER)),
          k("gradient_accumulation_steps", auto(Type.INTEGER)),
          k("gradient_clipping", auto(Type.NUMBER)),
          k("steps_per_print", v(Type.INTEGER)),
          k("wall_clock_breakdown", v(Type.BOOLEAN)),
          k("zero_allow_untested_optimizer", v(Type.BOOLEAN)),
          k("gradient_predivide_factor", v(Type.NUMBER)),
          k("prescale_gradients", v(Type.BOOLEAN)),
          k(
              "fp16",
              section(
                  k("enabled", auto(Type.BOOLEAN)),
                  k("loss_scale", v(Type.NUMBER)),
                  k("initial_scale_power", v(Type.INTEGER)),
                  k("loss_scale_window", v(Type.INTEGER)),
                  k("hysteresis", v(Type.INTEGER)),
                  k("min_loss_scale", v(Type.NUMBER)),
                  k("consecutive_hysteresis", v(Type.BOOLEAN)),
                  k("auto_cast", v(Type.BOOLEAN)))),
          k("bf16", BF16),
          k("bfloat16", BF16),
          k(
              "optimizer",
              section(
                  k("type", v(Type.STRING)),
                  k(
                      "params",
                      section(
                          k("lr", auto(Type.NUMBER)),
                          k("betas", auto(Type.BETAS)),
                          k("eps", auto(Type.NUMBER)),
                          k("weight_decay", auto(Type.NUMBER)),
                          k("adam_w_mode", v(Type.BOOLEAN)),
                          k("torch_adam", v(Type.BOOLEAN)))))),
          k(
              "scheduler",
              section(
                  k("type", v(Type.STRING)),
                  k(
                      "params",
                      section(
                          k("warmup_min_lr", auto(Type.NUMBER)),
                          k("warmup_max_lr", auto(Type.NUMBER)),
                          k("warmup_num_steps", auto(Type.INTEGER)),
                          k("warmup_type", v(Type.STRING)),
                          k("total_num_steps", auto(Type.INTEGER)))))),
          k(
              "zero_optimization",
              section(
                  k("stage", v(Type.INTEGER)),
                  k("reduce_bucket_size", auto(Type.INTEGER)),
                  k("allgather_bucket_size", v(Type.INTEGER)),
                  k("reduce_scatter", v(Type.BOOLEAN)),
                  k("overlap_comm", v(Type.BOOLEAN)),
                  k("contiguous_gradients", v(Type.BOOLEAN)),
                  k("allgather_partitions", v(Type.BOOLEAN)),
                  k("cpu_offload", v(Type.BOOLEAN)),
                  k(
                      "offload_optimizer",
                      section(
                          k("device", v(Type.STRING)),
                          k("pin_memory", v(Type.BOOLEAN)),
                          k("buffer_count", v(Type.INTEGER)),
                          k("fast_init", v(Type.BOOLEAN)),
                          k("ratio", v(Type.NUMBER)))),
                  k(
                      "offload_param",
                      section(
                          k("device", v(Type.STRING)),
                          k("pin_memory", v(Type.BOOLEAN)),
                          k("buffer_count", v(Type.INTEGER)),
                          k("buffer_size", v(Type.INTEGER)),
                          k("max_in_cpu", v(Type.INTEGER)))))));

  // ------------------------------------------------------------------ state

  private final String displayName;
  /** JSON path → Double, Long, Boolean, String, List of Double, or the string "auto". */
  private final Map<String, Object> values;
  /** Sections present in the file (by path), even when empty. */
  private final List<String> sections;

  private final List<String> ignoredKeys;

  private DeepSpeedConfig(
      String displayName, Map<String, Object> values, List<String> sections,
      List<String> ignoredKeys) {
    this.displayName = displayName;
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    this.sections = List.copyOf(sections);
    this.ignoredKeys = List.copyOf(ignoredKeys);
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
    JsonNode root = TrainingArguments.readTree(reader, displayName, Format.JSON);
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(
          displayName + ": a DeepSpeed config must be a JSON object"
              + (root == null ? "" : ", not " + TrainingArguments.describe(root)));
    }
    Map<String, Object> values = new LinkedHashMap<>();
    List<String> sections = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    walk(root, ROOT, "", displayName, values, sections, errors);
    TrainingArguments.throwIfAny(errors);
    if (sections.contains("bfloat16") && sections.contains("bf16")) {
      errors.add(displayName + ": give \"bf16\" or its older name \"bfloat16\", not both");
    }
    // one name from here on
    Map<String, Object> normalized = new LinkedHashMap<>();
    values.forEach((k, val) -> normalized.put(k.startsWith("bfloat16.") ? "bf16" + k.substring(8)
        : k, val));
    List<String> sectionNames = new ArrayList<>();
    for (String s : sections) {
      sectionNames.add(s.equals("bfloat16") ? "bf16" : s);
    }
    DeepSpeedConfig c = new DeepSpeedConfig(displayName, normalized, sectionNames, List.of());
    c.validate(errors);
    TrainingArguments.throwIfAny(errors);
    return new DeepSpeedConfig(displayName, normalized, sectionNames, c.computeIgnored());
  }

  private static void walk(
      JsonNode node,
      Spec spec,
      String prefix,
      String name,
      Map<String, Object> values,
      List<String> sections,
      List<String> errors) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      String path = prefix + key;
      JsonNode n = e.getValue();
      Spec child = spec.children().get(key);
      if (child == null) {
        if (prefix.equals("zero_optimization.") && key.startsWith("stage3_")) {
          errors.add(name + ": \"" + path + "\": ZeRO stage 3 is out of scope");
        } else {
          errors.add(name + ": unknown key \"" + path + "\""
              + TrainingArguments.suggestion(key, spec.children().keySet(), prefix));
        }
        continue;
      }
      if (n.isNull()) {
        continue; // null = absent, as DeepSpeed's optional fields
      }
      if (n.isTextual() && AUTO.equals(n.textValue())) {
        if (child.auto()) {
          values.put(path, AUTO);
        } else {
          errors.add(name + ": \"" + path + "\" cannot be \"auto\" (Hugging Face fills \"auto\""
              + " only for batch sizes, accumulation, clipping, optimizer and scheduler params,"
              + " fp16/bf16.enabled and zero_optimization.reduce_bucket_size)");
        }
        continue;
      }
      switch (child.type()) {
        case SECTION:
          if (!n.isObject()) {
            errors.add(name + ": \"" + path + "\" must be an object, got "
                + TrainingArguments.describe(n));
          } else {
            sections.add(path);
            walk(n, child, path + ".", name, values, sections, errors);
          }
          break;
        case BETAS:
          if (n.isArray() && n.size() == 2 && n.get(0).isNumber() && n.get(1).isNumber()) {
            values.put(path, List.of(n.get(0).doubleValue(), n.get(1).doubleValue()));
          } else {
            errors.add(name + ": \"" + path + "\" must be a list of two numbers or \"auto\", got "
                + TrainingArguments.describe(n));
          }
          break;
        default:
          try {
            values.put(path, TrainingArguments.convert(n, child.type().kind, false));
          } catch (IllegalArgumentException ex) {
            errors.add(name + ": \"" + path + "\" " + ex.getMessage()
                + (child.auto() ? " or \"auto\"" : ""));
          }
      }
    }
  }

  private void validate(List<String> errors) {
    String p = displayName + ": ";
    long stage = longValue("zero_optimization.stage", 0);
    if (stage == 3) {
      errors.add(p + "zero_optimization.stage 3: ZeRO stage 3 is out of scope (use 0, 1 or 2)");
    } else if (stage < 0 || stage > 3) {
      errors.add(p + "zero_optimization.stage must be 0, 1 or 2 (got " + stage + ")");
    }
    if (sections.contains("optimizer")) {
      Object t = values.get("optimizer.type");
      if (t == null) {
        errors.add(p + "optimizer.type is missing (Adam or AdamW)");
      } else if (!t.toString().equalsIgnoreCase("adam") && !t.toString().equalsIgnoreCase("adamw")) {
        errors.add(p + "optimizer.type \"" + t + "\" is not supported (Adam or AdamW)");
      }
    }
    if (sections.contains("scheduler")) {
      Object t = values.get("scheduler.type");
      if (t == null) {
        errors.add(p + "scheduler.type is missing (WarmupLR or WarmupDecayLR)");
      } else if (schedulerTypeOf(t.toString()) == null) {
        boolean known = List.of("WarmupCosineLR", "OneCycle", "LRRangeTest").contains(t.toString());
        errors.add(p + "scheduler.type \"" + t + "\" is " + (known ? "out of scope" : "unknown")
            + " (WarmupLR or WarmupDecayLR)");
      } else if (schedulerTypeOf(t.toString()) == SchedulerType.WARMUP_LR
          && values.containsKey("scheduler.params.total_num_steps")) {
        errors.add(p + "scheduler.params.total_num_steps is a WarmupDecayLR parameter; WarmupLR"
            + " does not take it");
      }
      Object wt = values.get("scheduler.params.warmup_type");
      if (wt != null && !wt.equals("log") && !wt.equals("linear")) {
        errors.add(p + "scheduler.params.warmup_type must be \"log\" or \"linear\" (got \"" + wt
            + "\")");
      }
    }
    for (String section : List.of("offload_optimizer", "offload_param")) {
      Object d = values.get("zero_optimization." + section + ".device");
      if (d != null && !d.equals("none") && !d.equals("cpu")) {
        errors.add(p + "zero_optimization." + section + ".device \"" + d + "\" is not supported"
            + " (none or cpu)");
      }
    }
    if (Boolean.TRUE.equals(values.get("fp16.enabled"))
        && Boolean.TRUE.equals(values.get("bf16.enabled"))) {
      errors.add(p + "fp16.enabled and bf16.enabled cannot both be true");
    }
    atLeast("train_batch_size", 1, errors);
    atLeast("train_micro_batch_size_per_gpu", 1, errors);
    atLeast("gradient_accumulation_steps", 1, errors);
    atLeast("gradient_clipping", 0, errors);
    atLeast("fp16.loss_scale", 0, errors);
    atLeast("fp16.initial_scale_power", 0, errors);
    atMost("fp16.initial_scale_power", 62, errors);
    atLeast("fp16.loss_scale_window", 1, errors);
    atLeast("fp16.hysteresis", 1, errors);
    positive("fp16.min_loss_scale", errors);
    atLeast("optimizer.params.lr", 0, errors);
    atLeast("optimizer.params.eps", 0, errors);
    atLeast("optimizer.params.weight_decay", 0, errors);
    atLeast("scheduler.params.warmup_min_lr", 0, errors);
    atLeast("scheduler.params.warmup_max_lr", 0, errors);
    atLeast("scheduler.params.warmup_num_steps", 0, errors);
    atLeast("scheduler.params.total_num_steps", 1, errors);
    atLeast("zero_optimization.reduce_bucket_size", 1, errors);
    atLeast("zero_optimization.allgather_bucket_size", 1, errors);
    if (values.get("optimizer.params.betas") instanceof List<?> b) {
      for (Object x : b) {
        double d = (Double) x;
        if (!(d >= 0 && d < 1)) {
          errors.add(p + "optimizer.params.betas must be in [0, 1) (got " + b + ")");
          break;
        }
      }
    }
  }

  private void atLeast(String path, double min, List<String> errors) {
    if (values.get(path) instanceof Number n && !(n.doubleValue() >= min)) {
      errors.add(displayName + ": " + path + " must be >= " + TrainingArguments.fmt(min)
          + " (got " + TrainingArguments.fmt(n.doubleValue()) + ")");
    }
  }

  private void atMost(String path, double max, List<String> errors) {
    if (values.get(path) instanceof Number n && !(n.doubleValue() <= max)) {
      errors.add(displayName + ": " + path + " must be <= " + TrainingArguments.fmt(max)
          + " (got " + TrainingArguments.fmt(n.doubleValue()) + ")");
    }
  }

  private void positive(String path, List<String> errors) {
    if (values.get(path) instanceof Number n && !(n.doubleValue() > 0)) {
      errors.add(displayName + ": " + path + " must be > 0 (got "
          + TrainingArguments.fmt(n.doubleValue()) + ")");
    }
  }

  private List<String> computeIgnored() {
    List<String> out = new ArrayList<>();
    note(out, "steps_per_print", "metrics follow logging_steps");
    note(out, "wall_clock_breakdown", "step times and their breakdown are always in metrics.jsonl");
    note(out, "zero_allow_untested_optimizer", "only Adam/AdamW are implemented");
    note(out, "gradient_predivide_factor",
        "sparkner sums gradients and divides once by the global token count");
    note(out, "prescale_gradients",
        "sparkner sums gradients and divides once by the global token count");
    note(out, "fp16.auto_cast", "model inputs are token ids; nothing to cast");
    note(out, "optimizer.params.torch_adam", "one Adam implementation; same arithmetic");
    note(out, "zero_optimization.allgather_partitions", "parameters are always all-gathered");
    note(out, "zero_optimization.overlap_comm", "the collectives schedule their own overlap");
    note(out, "zero_optimization.contiguous_gradients", "gradients are always one flat buffer");
    note(out, "zero_optimization.reduce_scatter",
        "stage 2 always reduce-scatters, stages 0/1 all-reduce");
    if (sections.contains("zero_optimization.offload_optimizer")) {
      String device = string("zero_optimization.offload_optimizer.device", "none");
      out.add("zero_optimization.offload_optimizer (device \"" + device
          + "\": not offloaded, optimizer state stays on the replica)");
    }
    if (Boolean.TRUE.equals(values.get("zero_optimization.cpu_offload"))) {
      out.add("zero_optimization.cpu_offload (old name of offload_optimizer: not offloaded,"
          + " optimizer state stays on the replica)");
    }
    if (sections.contains("zero_optimization.offload_param")) {
      String device = string("zero_optimization.offload_param.device", "none");
      out.add("zero_optimization.offload_param (device \"" + device
          + "\": a ZeRO-3 feature; parameters stay on the replica)");
    }
    return out;
  }

  private void note(List<String> out, String path, String why) {
    if (values.containsKey(path)) {
      out.add(path + " (" + why + ")");
    }
  }

  private static SchedulerType schedulerTypeOf(String s) {
    for (SchedulerType t : SchedulerType.values()) {
      if (t.dsName.equals(s)) {
        return t;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ raw access

  private long longValue(String path, long fallback) {
    return values.get(path) instanceof Long l ? l : fallback;
  }

  private double doubleValue(String path, double fallback) {
    return values.get(path) instanceof Double d ? d : fallback;
  }

  private boolean bool(String path, boolean fallback) {
    return values.get(path) instanceof Boolean b ? b : fallback;
  }

  private String string(String path, String fallback) {
    Object o = values.get(path);
    return o instanceof String s && !AUTO.equals(s) ? s : fallback;
  }

  @SuppressWarnings("unchecked")
  private <T> Setting<T> setting(String path) {
    Object o = values.get(path);
    if (o == null) {
      return new Setting<>(Setting.State.ABSENT, null);
    }
    if (AUTO.equals(o)) {
      return new Setting<>(Setting.State.AUTO, null);
    }
    return new Setting<>(Setting.State.SET, (T) o);
  }

  // ------------------------------------------------------------------ accessors

  /** The name errors are prefixed with. */
  public String displayName() {
    return displayName;
  }

  /** Every key given (JSON path, {@code bfloat16} read as {@code bf16}) and its value. */
  public Map<String, Object> values() {
    return values;
  }

  /** Whether the file has the section at {@code path} (e.g. "fp16", "scheduler"). */
  public boolean hasSection(String path) {
    return sections.contains(path);
  }

  /** Keys accepted but without effect in sparkner, each with the reason, for the CLI to print. */
  public List<String> ignoredKeys() {
    return ignoredKeys;
  }

  public Setting<Long> trainBatchSize() {
    return setting("train_batch_size");
  }

  public Setting<Long> trainMicroBatchSizePerGpu() {
    return setting("train_micro_batch_size_per_gpu");
  }

  public Setting<Long> gradientAccumulationSteps() {
    return setting("gradient_accumulation_steps");
  }

  public Setting<Double> gradientClipping() {
    return setting("gradient_clipping");
  }

  public Setting<Boolean> fp16Enabled() {
    return setting("fp16.enabled");
  }

  /** fp16.loss_scale: 0 (the default) = dynamic, > 0 = that static scale. */
  public double lossScale() {
    return doubleValue("fp16.loss_scale", 0);
  }

  public int initialScalePower() {
    return (int) longValue("fp16.initial_scale_power", 16);
  }

  public int lossScaleWindow() {
    return (int) longValue("fp16.loss_scale_window", 1000);
  }

  public int hysteresis() {
    return (int) longValue("fp16.hysteresis", 2);
  }

  public double minLossScale() {
    return doubleValue("fp16.min_loss_scale", 1);
  }

  public boolean consecutiveHysteresis() {
    return bool("fp16.consecutive_hysteresis", false);
  }

  public Setting<Boolean> bf16Enabled() {
    return setting("bf16.enabled");
  }

  /** Whether an {@code optimizer} section is present. */
  public boolean hasOptimizer() {
    return sections.contains("optimizer");
  }

  /** "Adam" or "AdamW" (normalized case), or null without an optimizer section. */
  public String optimizerType() {
    Object t = values.get("optimizer.type");
    if (t == null) {
      return null;
    }
    return t.toString().equalsIgnoreCase("adamw") ? "AdamW" : "Adam";
  }

  /**
   * Whether weight decay is decoupled (AdamW): DeepSpeed forces it for "AdamW" and defaults {@code
   * adam_w_mode} to true for "Adam". True without an optimizer section (Hugging Face's AdamW).
   */
  public boolean decoupledWeightDecay() {
    return !hasOptimizer() || "AdamW".equals(optimizerType())
        || bool("optimizer.params.adam_w_mode", true);
  }

  public Setting<Double> lr() {
    return setting("optimizer.params.lr");
  }

  public Setting<List<Double>> betas() {
    return setting("optimizer.params.betas");
  }

  public Setting<Double> eps() {
    return setting("optimizer.params.eps");
  }

  public Setting<Double> weightDecay() {
    return setting("optimizer.params.weight_decay");
  }

  /** The scheduler type, or null without a scheduler section (the TrainingArguments' then). */
  public SchedulerType schedulerType() {
    Object t = values.get("scheduler.type");
    return t == null ? null : schedulerTypeOf(t.toString());
  }

  public Setting<Double> warmupMinLr() {
    return setting("scheduler.params.warmup_min_lr");
  }

  public Setting<Double> warmupMaxLr() {
    return setting("scheduler.params.warmup_max_lr");
  }

  public Setting<Long> warmupNumSteps() {
    return setting("scheduler.params.warmup_num_steps");
  }

  /** DeepSpeed's default is LOG. */
  public WarmupType warmupType() {
    return "linear".equals(values.get("scheduler.params.warmup_type"))
        ? WarmupType.LINEAR
        : WarmupType.LOG;
  }

  public Setting<Long> totalNumSteps() {
    return setting("scheduler.params.total_num_steps");
  }

  public int zeroStage() {
    return (int) longValue("zero_optimization.stage", 0);
  }

  public Setting<Long> reduceBucketSize() {
    return setting("zero_optimization.reduce_bucket_size");
  }

  /** Default 5e8 elements, as DeepSpeed. */
  public long allgatherBucketSize() {
    return longValue("zero_optimization.allgather_bucket_size", 500_000_000L);
  }

  /** "none" (default) or "cpu"; recorded only (see {@link #ignoredKeys()}). */
  public String offloadOptimizerDevice() {
    return string("zero_optimization.offload_optimizer.device",
        bool("zero_optimization.cpu_offload", false) ? "cpu" : "none");
  }

  /** "none" (default) or "cpu"; recorded only. */
  public String offloadParamDevice() {
    return string("zero_optimization.offload_param.device", "none");
  }

  @Override
  public String toString() {
    return "DeepSpeedConfig(" + displayName + ")" + values;
  }
}
