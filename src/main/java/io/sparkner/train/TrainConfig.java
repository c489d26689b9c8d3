package io.sparkner.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.config.ConfigError;
import io.sparkner.config.ConfigReader;
import io.sparkner.config.Setting;
import io.sparkner.train.DeepSpeedConfig.Betas;
import io.sparkner.train.DeepSpeedConfig.SchedulerType;
import io.sparkner.train.DeepSpeedConfig.WarmupType;
import io.sparkner.train.TrainingArguments.EvalStrategy;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The resolved training configuration the trainer runs with: {@link TrainingArguments} and an
 * optional {@link DeepSpeedConfig} merged, every {@code "auto"} filled, the step counts computed.
 * Immutable and serializable (it ships to the Spark tasks).
 *
 * <p><b>"auto" and conflicts</b>, as Hugging Face's {@code HfTrainerDeepSpeedConfig}: an {@code
 * "auto"} (or absent) DeepSpeed value takes the training-argument value (micro batch ←
 * per_device_train_batch_size, accumulation ← gradient_accumulation_steps, train_batch_size ← micro
 * × accumulation × replicas, gradient_clipping ← max_grad_norm, optimizer lr/betas/eps/
 * weight_decay ← learning_rate/adam_beta1+2/adam_epsilon/weight_decay, fp16/bf16.enabled ←
 * fp16/bf16, warmup_max_lr ← learning_rate, warmup_min_lr ← 0, warmup_num_steps ← warmup_steps or
 * ceil(warmup_ratio × total steps), total_num_steps ← total steps, reduce_bucket_size ←
 * hidden_size²). A DeepSpeed value that is set wins over a training-argument default; set in both
 * files and different it is a "mismatch" error listing every such pair. Unlike Hugging Face, a
 * training argument only conflicts when it was given explicitly: a DeepSpeed-only file needs no
 * conf. {@code zero_optimization.stage} wins over {@code zero_stage} (noted in {@link
 * #ignoredKeys()}); a DeepSpeed scheduler wins over {@code lr_scheduler_type}, as in Hugging Face.
 *
 * <p><b>Batches and steps</b>: global batch = micro × accumulation × replicas. Each epoch walks one
 * deterministic global order in rounds of micro × replicas examples (the last round partial, or
 * dropped with dataloader_drop_last); an optimizer step takes accumulation rounds. So {@code
 * stepsPerEpoch = max(1, floor(ceil(N / (micro × replicas)) / accumulation))}, which equals Hugging
 * Face's {@code len(dataloader) // gradient_accumulation_steps} under a DistributedSampler, and
 * {@code totalSteps = max_steps if > 0 else ceil(num_train_epochs × stepsPerEpoch)}.
 *
 * @param learningRate the peak learning rate (warmup_max_lr under a DeepSpeed scheduler)
 * @param decoupledWeightDecay AdamW (true) or Adam with L2 in the gradient (DeepSpeed "Adam" with
 *     adam_w_mode false)
 * @param epochs the number of epochs the loop starts (num_train_epochs rounded up, or derived from
 *     max_steps)
 * @param warmupSteps the resolved warmup; under a DeepSpeed scheduler its warmup_num_steps before
 *     DeepSpeed's own floor of 2 (see {@link #lrAt})
 * @param warmupType the DeepSpeed warmup curve (LOG is DeepSpeed's default); unused by Hugging Face
 *     schedules
 * @param warmupMinLr the lr the DeepSpeed warmup starts from (0 for Hugging Face schedules)
 * @param maxGradNorm global gradient-norm clipping; 0 or less = off
 * @param lossScaler the fp16 loss scaler (dynamic 2^16/1000/2/1 by default; for FP32 and BF16 a
 *     static scale of 1)
 * @param reduceBucketSize elements per gradient reduction bucket
 * @param allgatherBucketSize elements per parameter all-gather bucket
 * @param offloadOptimizerDevice "none" or "cpu"; recorded only: optimizer state stays on the
 *     replica
 * @param sparseGradients DeepSpeed's {@code sparse_gradients}: the replicas exchange the
 *     word-embedding gradient as the rows their batches touched (same sums, fewer bytes)
 * @param overlapComm DeepSpeed's {@code zero_optimization.overlap_comm}: under ZeRO 1 and 2 with
 *     more than one replica, the parameter all-gather after an optimizer step runs in the
 *     background while the next step's forward starts; the forward waits for each part (embeddings,
 *     each layer, head) just until its values have arrived (same bits). At stage 0 it has no effect
 *     (noted in {@link #ignoredKeys()}): the gradient all-reduce cannot start before the whole
 *     backward has ended, since DJL runs backward over the whole graph with no per-parameter
 *     gradient hooks
 * @param args the training arguments; the options the resolution does not change (seed, logging,
 *     saving, evaluation, dropout, data order, output) are read from them by their accessors here
 * @param ignoredKeys accepted keys without effect, with the reason, for the CLI to print
 * @param sources the files the values came from (conf, DeepSpeed config)
 */
public record TrainConfig(
    double learningRate,
    double beta1,
    double beta2,
    double eps,
    double weightDecay,
    boolean decoupledWeightDecay,
    int microBatch,
    int accumulation,
    int globalBatch,
    int replicas,
    long trainExamples,
    long stepsPerEpoch,
    int epochs,
    long totalSteps,
    long warmupSteps,
    Schedule schedule,
    WarmupType warmupType,
    double warmupMinLr,
    double maxGradNorm,
    Precision precision,
    LossScaler lossScaler,
    int zeroStage,
    long reduceBucketSize,
    long allgatherBucketSize,
    String offloadOptimizerDevice,
    boolean sparseGradients,
    boolean overlapComm,
    TrainingArguments args,
    List<String> ignoredKeys,
    List<String> sources)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The learning-rate schedule. */
  public enum Schedule {
    /** Hugging Face {@code get_linear_schedule_with_warmup}. */
    LINEAR("linear"),
    /** Hugging Face {@code get_constant_schedule}: no warmup. */
    CONSTANT("constant"),
    /** Hugging Face {@code get_constant_schedule_with_warmup}. */
    CONSTANT_WITH_WARMUP("constant_with_warmup"),
    /** DeepSpeed WarmupLR: warmup, then constant. */
    WARMUP_LR("WarmupLR"),
    /** DeepSpeed WarmupDecayLR: warmup, then linear decay to 0 at totalSteps. */
    WARMUP_DECAY_LR("WarmupDecayLR");

    private final String configName;

    Schedule(String configName) {
      this.configName = configName;
    }

    /** The name in the configuration it came from. */
    public String configName() {
      return configName;
    }

    public boolean isDeepSpeed() {
      return this == WARMUP_LR || this == WARMUP_DECAY_LR;
    }
  }

  /** Training precision. */
  public enum Precision {
    FP32,
    FP16,
    BF16
  }

  public TrainConfig {
    ignoredKeys = List.copyOf(ignoredKeys);
    sources = List.copyOf(sources);
  }

  /** {@code {beta1, beta2}}. */
  public double[] betas() {
    return new double[] {beta1, beta2};
  }

  // the options the resolution passes through, read from the training arguments

  public long seed() {
    return args.seed();
  }

  /** The data-order seed: data_seed, or seed when not given. */
  public long dataSeed() {
    return args.dataSeed() != null ? args.dataSeed() : args.seed();
  }

  /** Order each epoch as {@link DataOrder#lengthGrouped} does (group_by_length). */
  public boolean groupByLength() {
    return args.groupByLength();
  }

  public int loggingSteps() {
    return args.loggingSteps();
  }

  public int saveSteps() {
    return args.saveSteps();
  }

  /** Whether a checkpoint is saved after the step that makes {@code steps} steps (save_steps). */
  public boolean savesAt(long steps) {
    return saveSteps() > 0 && steps % saveSteps() == 0;
  }

  /**
   * Whether validation runs after the step that makes {@code steps} steps (eval_strategy "steps",
   * every eval_steps; the end-of-epoch evaluation of eval_strategy "epoch" is not counted here).
   */
  public boolean evaluatesAt(long steps) {
    return evalStrategy() == EvalStrategy.STEPS && evalSteps() > 0 && steps % evalSteps() == 0;
  }

  public Integer saveTotalLimit() {
    return args.saveTotalLimit();
  }

  public EvalStrategy evalStrategy() {
    return args.evalStrategy();
  }

  /** The evaluation interval when evalStrategy is STEPS. */
  public int evalSteps() {
    return args.evalSteps();
  }

  public int evalBatchSize() {
    return args.perDeviceEvalBatchSize();
  }

  /** Null = keep the checkpoint's value (also the two following). */
  public Double hiddenDropoutProb() {
    return args.hiddenDropoutProb();
  }

  public Double attentionProbsDropoutProb() {
    return args.attentionProbsDropoutProb();
  }

  public Double classifierDropout() {
    return args.classifierDropout();
  }

  /** Null = keep the checkpoint's head ({@link TrainingArguments#crf}). */
  public Boolean crf() {
    return args.crf();
  }

  /** The CRF head's peak learning rate; null: {@link #learningRate}. */
  public Double crfLearningRate() {
    return args.crfLearningRate();
  }

  public String outputDir() {
    return args.outputDir();
  }

  public String runName() {
    return args.runName();
  }

  public boolean reportToMlflow() {
    return args.reportToMlflow();
  }

  /**
   * The learning rate of optimizer update {@code step} (0-based, counting applied updates: a step
   * skipped for fp16 overflow does not advance the schedule, as in Hugging Face and DeepSpeed).
   *
   * <ul>
   *   <li>LINEAR: {@code lr × step / max(1, W)} while {@code step < W}, then {@code lr × max(0, (T
   *       - step) / max(1, T - W))} — Hugging Face's lambda, applied as LambdaLR applies it (update
   *       k uses λ(k)).
   *   <li>CONSTANT: {@code lr}; CONSTANT_WITH_WARMUP: {@code lr × step / max(1, W)} during warmup,
   *       then {@code lr}.
   *   <li>WARMUP_LR / WARMUP_DECAY_LR: DeepSpeed's {@code min + (lr - min) × γ(k)} with {@code W' =
   *       max(2, W)}, γ(k) = ln(k + 1) / ln(W') (log) or k / W' (linear) while k < W', then 1
   *       (WarmupLR) or {@code max(0, (T - k) / max(1, T - W'))} (WarmupDecayLR). DeepSpeed sets
   *       the lr to {@code min} at construction and advances after each update, so update {@code
   *       step} uses {@code k = step - 1} (and {@code min} for step 0).
   * </ul>
   */
  public double lrAt(long step) {
    long w = warmupSteps;
    long t = totalSteps;
    double lr = learningRate;
    switch (schedule) {
      case LINEAR:
        if (step < w) {
          return lr * step / Math.max(1.0, w);
        }
        return lr * Math.max(0.0, (double) (t - step) / Math.max(1.0, t - w));
      case CONSTANT:
        return lr;
      case CONSTANT_WITH_WARMUP:
        return step < w ? lr * step / Math.max(1.0, w) : lr;
      case WARMUP_LR:
      case WARMUP_DECAY_LR:
        long k = step - 1;
        long w2 = Math.max(2, w);
        double gamma;
        if (k < 0) {
          gamma = 0;
        } else if (k < w2) {
          gamma = warmupType == WarmupType.LOG ? Math.log(k + 1) / Math.log(w2) : (double) k / w2;
        } else if (schedule == Schedule.WARMUP_LR) {
          gamma = 1;
        } else {
          gamma = Math.max(0.0, (double) (t - k) / Math.max(1.0, t - w2));
        }
        return warmupMinLr + (lr - warmupMinLr) * gamma;
      default:
        throw new AssertionError(schedule);
    }
  }

  // ------------------------------------------------------------------ resolution

  /**
   * Resolves the configuration.
   *
   * @param args the training arguments (defaults when no --conf was given)
   * @param ds the DeepSpeed config, or null
   * @param replicas the number of data-parallel replicas (callers pass {@code args.replicas()}
   *     unless the command line says otherwise)
   * @param trainExamples the number of training windows
   * @param hiddenSize the model's hidden size (for reduce_bucket_size "auto"; 0 if unknown)
   * @throws IllegalArgumentException naming the keys and numbers of any inconsistency
   */
  public static TrainConfig resolve(
      TrainingArguments args,
      DeepSpeedConfig ds,
      int replicas,
      long trainExamples,
      int hiddenSize) {
    return new Resolver(args, ds, replicas).resolve(trainExamples, hiddenSize);
  }

  private static final class Resolver {
    final TrainingArguments args;
    final DeepSpeedConfig ds;
    final int replicas;
    final String dsName;
    final List<String> mismatches = new ArrayList<>();
    final List<String> errors = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    Resolver(TrainingArguments args, DeepSpeedConfig ds, int replicas) {
      this.args = args;
      this.ds = ds;
      this.replicas = replicas;
      this.dsName = ds == null ? "" : ds.displayName();
    }

    /** The DeepSpeed value if set (checked against the argument if given), else the argument's. */
    <T> T pick(Setting<T> s, String dsPath, String hfKey, T hfValue) {
      return pick(s, dsPath, hfKey, hfValue, args.isExplicit(hfKey));
    }

    <T> T pick(Setting<T> s, String dsPath, String hfKey, T hfValue, boolean hfExplicit) {
      if (s == null || !s.isSet()) {
        return hfValue;
      }
      T v = s.value();
      boolean same =
          v instanceof Double a && hfValue instanceof Double b ? same(a, b) : v.equals(hfValue);
      if (hfExplicit && !same) {
        mismatch(dsPath, show(v), hfKey, show(hfValue));
      }
      return v;
    }

    static String show(Object v) {
      return v instanceof Double d ? ConfigReader.fmt(d) : String.valueOf(v);
    }

    void mismatch(String dsPath, String dsValue, String hfKey, String hfValue) {
      mismatches.add("- ds " + dsPath + "=" + dsValue + " vs hf " + hfKey + "=" + hfValue);
    }

    static boolean same(double a, double b) {
      return a == b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    }

    TrainConfig resolve(long trainExamples, int hiddenSize) {
      if (replicas < 1) {
        throw new IllegalArgumentException("replicas must be >= 1 (got " + replicas + ")");
      }
      if (trainExamples < 1) {
        throw new IllegalArgumentException("there are no training examples to train on");
      }
      boolean haveDs = ds != null;
      if (args.isExplicit("replicas") && args.replicas() != replicas) {
        notes.add(
            "replicas="
                + args.replicas()
                + " of "
                + args.source()
                + " (the command line asks for "
                + replicas
                + ")");
      }

      // ---- batch sizes
      Setting<Long> dsMicro = haveDs ? ds.trainMicroBatchSizePerGpu() : null;
      Setting<Long> dsAccum = haveDs ? ds.gradientAccumulationSteps() : null;
      Setting<Long> dsTotal = haveDs ? ds.trainBatchSize() : null;
      long micro =
          pick(
              dsMicro,
              "train_micro_batch_size_per_gpu",
              "per_device_train_batch_size",
              (long) args.perDeviceTrainBatchSize());
      long accum =
          pick(
              dsAccum,
              "gradient_accumulation_steps",
              "gradient_accumulation_steps",
              (long) args.gradientAccumulationSteps());
      if (dsTotal != null && dsTotal.isSet()) {
        long total = dsTotal.value();
        boolean microFixed = args.isExplicit("per_device_train_batch_size") || dsMicro.isSet();
        boolean accumFixed = args.isExplicit("gradient_accumulation_steps") || dsAccum.isSet();
        // DeepSpeed infers the one of the three that is not given
        if (!microFixed && total % (accum * replicas) == 0 && total / (accum * replicas) >= 1) {
          micro = total / (accum * replicas);
        } else if (microFixed
            && !accumFixed
            && total % (micro * replicas) == 0
            && total / (micro * replicas) >= 1) {
          accum = total / (micro * replicas);
        }
        if (total != micro * accum * replicas) {
          errors.add(
              dsName
                  + ": train_batch_size="
                  + total
                  + " does not equal train_micro_batch_size_per_gpu ("
                  + micro
                  + ") × gradient_accumulation_steps ("
                  + accum
                  + ") × replicas ("
                  + replicas
                  + ") = "
                  + (micro * accum * replicas));
        }
      }
      long global = micro * accum * replicas;
      if (global > Integer.MAX_VALUE) {
        errors.add(
            "the global batch micro × accumulation × replicas is too large (" + global + ")");
      }

      // ---- optimizer
      double lr =
          pick(
              haveDs ? ds.lr() : null, "optimizer.params.lr", "learning_rate", args.learningRate());
      double beta1 = args.adamBeta1();
      double beta2 = args.adamBeta2();
      Setting<Betas> dsBetas = haveDs ? ds.betas() : null;
      if (dsBetas != null && dsBetas.isSet()) {
        double b1 = dsBetas.value().beta1();
        double b2 = dsBetas.value().beta2();
        boolean explicit = args.isExplicit("adam_beta1") || args.isExplicit("adam_beta2");
        if (explicit && !(same(b1, beta1) && same(b2, beta2))) {
          mismatch(
              "optimizer.params.betas",
              "[" + ConfigReader.fmt(b1) + ", " + ConfigReader.fmt(b2) + "]",
              "adam_beta1+adam_beta2",
              "[" + ConfigReader.fmt(beta1) + ", " + ConfigReader.fmt(beta2) + "]");
        }
        beta1 = b1;
        beta2 = b2;
      }
      double eps =
          pick(
              haveDs ? ds.eps() : null, "optimizer.params.eps", "adam_epsilon", args.adamEpsilon());
      double weightDecay =
          pick(
              haveDs ? ds.weightDecay() : null,
              "optimizer.params.weight_decay",
              "weight_decay",
              args.weightDecay());
      boolean decoupled = !haveDs || ds.decoupledWeightDecay();
      if (!decoupled
          && weightDecay != 0) { // DeepSpeed's L2 Adam: refused, never run without its decay
        errors.add(
            dsName
                + ": optimizer \"Adam\" with adam_w_mode false asks for L2 weight decay in the"
                + " gradient (weight_decay "
                + ConfigReader.fmt(weightDecay)
                + "), which sparkner does not implement: set adam_w_mode true (decoupled AdamW, the"
                + " Hugging Face default) or weight_decay 0");
      }
      double maxGradNorm =
          pick(
              haveDs ? ds.gradientClipping() : null,
              "gradient_clipping",
              "max_grad_norm",
              args.maxGradNorm());

      // ---- steps
      long round = micro * replicas;
      long rounds =
          args.dataloaderDropLast() ? trainExamples / round : (trainExamples + round - 1) / round;
      if (rounds == 0) {
        errors.add(
            "dataloader_drop_last leaves no batch: "
                + trainExamples
                + " training examples are fewer than micro batch ("
                + micro
                + ") × replicas ("
                + replicas
                + ") = "
                + round);
        rounds = 1;
      }
      long stepsPerEpoch = Math.max(1, rounds / Math.max(1, accum));
      long totalSteps;
      int epochs;
      if (args.maxSteps() > 0) {
        totalSteps = args.maxSteps();
        epochs = (int) ((totalSteps + stepsPerEpoch - 1) / stepsPerEpoch);
      } else {
        totalSteps = (long) Math.ceil(args.numTrainEpochs() * stepsPerEpoch);
        epochs = (int) Math.ceil(args.numTrainEpochs());
        if (args.isExplicit(
            "max_steps")) { // a 0 that reads like "train nothing" trains the epochs: say so
          notes.add(
              "max_steps="
                  + args.maxSteps()
                  + " of "
                  + args.source()
                  + " (as in Hugging Face, max_steps <= 0 means"
                  + " unset: num_train_epochs="
                  + ConfigReader.fmt(args.numTrainEpochs())
                  + " decides, "
                  + totalSteps
                  + " steps)");
        }
      }

      // ---- schedule
      long hfWarmup = args.warmupStepsFor(totalSteps);
      boolean warmupExplicit = args.isExplicit("warmup_steps") || args.isExplicit("warmup_ratio");
      Schedule schedule;
      long warmup;
      double minLr = 0;
      double peakLr = lr;
      WarmupType warmupType = WarmupType.LOG;
      SchedulerType dsSched = haveDs ? ds.schedulerType() : null;
      if (dsSched != null) {
        schedule =
            dsSched == SchedulerType.WARMUP_LR ? Schedule.WARMUP_LR : Schedule.WARMUP_DECAY_LR;
        warmupType = ds.warmupType();
        if (args.isExplicit("lr_scheduler_type")) {
          notes.add(
              "lr_scheduler_type="
                  + args.lrSchedulerType().hfName()
                  + " of "
                  + args.source()
                  + " (the DeepSpeed scheduler "
                  + dsSched.dsName()
                  + " of "
                  + dsName
                  + " is used, as in Hugging Face)");
        }
        Setting<Double> max = ds.warmupMaxLr();
        if (max.isSet()) {
          peakLr =
              pick(max, "scheduler.params.warmup_max_lr", "learning_rate", args.learningRate());
          if (ds.lr().isSet() && !same(ds.lr().value(), peakLr)) {
            errors.add(
                dsName
                    + ": optimizer.params.lr="
                    + ConfigReader.fmt(ds.lr().value())
                    + " and scheduler.params.warmup_max_lr="
                    + ConfigReader.fmt(peakLr)
                    + " disagree (the scheduler sets the lr; make them equal or \"auto\")");
          }
        }
        minLr = ds.warmupMinLr().orElse(0.0);
        warmup =
            pick(
                ds.warmupNumSteps(),
                "scheduler.params.warmup_num_steps",
                "warmup_steps",
                hfWarmup,
                warmupExplicit);
        Setting<Long> total = ds.totalNumSteps();
        if (total.isSet() && total.value() != totalSteps) {
          mismatch(
              "scheduler.params.total_num_steps",
              Long.toString(total.value()),
              "num_training_steps (calculated)",
              Long.toString(totalSteps));
        }
        if (minLr > peakLr) {
          errors.add(
              dsName
                  + ": scheduler.params.warmup_min_lr="
                  + ConfigReader.fmt(minLr)
                  + " is above the peak lr "
                  + ConfigReader.fmt(peakLr));
        }
      } else {
        schedule =
            switch (args.lrSchedulerType()) {
              case LINEAR -> Schedule.LINEAR;
              case CONSTANT -> Schedule.CONSTANT;
              case CONSTANT_WITH_WARMUP -> Schedule.CONSTANT_WITH_WARMUP;
            };
        warmup = schedule == Schedule.CONSTANT ? 0 : hfWarmup;
        if (schedule == Schedule.CONSTANT && warmupExplicit && hfWarmup > 0) {
          notes.add(
              "warmup_steps/warmup_ratio (lr_scheduler_type constant has no warmup; use"
                  + " constant_with_warmup)");
        }
      }

      // ---- precision
      boolean fp16 = pick(haveDs ? ds.fp16Enabled() : null, "fp16.enabled", "fp16", args.fp16());
      boolean bf16 = pick(haveDs ? ds.bf16Enabled() : null, "bf16.enabled", "bf16", args.bf16());
      if (fp16 && bf16) {
        errors.add(
            "fp16 and bf16 are both enabled"
                + (haveDs ? " (after filling \"auto\" in " + dsName + ")" : ""));
      }
      Precision precision = bf16 ? Precision.BF16 : fp16 ? Precision.FP16 : Precision.FP32;
      LossScaler scaler = LossScaler.NONE;
      if (precision == Precision.FP16) {
        double lossScale = haveDs ? ds.lossScale() : 0;
        int power = haveDs ? ds.initialScalePower() : 16;
        scaler =
            new LossScaler(
                lossScale == 0,
                lossScale == 0 ? Math.pow(2, power) : lossScale,
                haveDs ? ds.lossScaleWindow() : 1000,
                haveDs ? ds.hysteresis() : 2,
                haveDs && ds.consecutiveHysteresis(),
                haveDs ? ds.minLossScale() : 1,
                lossScale == 0 ? 1 : lossScale);
      }

      // ---- ZeRO
      int zeroStage = args.zeroStage();
      if (haveDs && ds.hasSection("zero_optimization")) {
        if (args.isExplicit("zero_stage") && args.zeroStage() != ds.zeroStage()) {
          notes.add(
              "zero_stage="
                  + args.zeroStage()
                  + " of "
                  + args.source()
                  + " (zero_optimization.stage="
                  + ds.zeroStage()
                  + " of "
                  + dsName
                  + " wins)");
        }
        zeroStage = ds.zeroStage();
      }
      long reduceBucket = 500_000_000L;
      long allgatherBucket = 500_000_000L;
      String offloadDevice = "none";
      boolean overlapComm = haveDs && ds.overlapComm();
      if (overlapComm && zeroStage == 0) {
        notes.add(
            "zero_optimization.overlap_comm (no effect at ZeRO stage 0: it overlaps the parameter"
                + " all-gather of stages 1 and 2 with the next step's forward; the gradient"
                + " all-reduce starts after the whole backward, as DJL gives no per-parameter"
                + " gradient hooks)");
      }
      if (haveDs) {
        Setting<Long> rb = ds.reduceBucketSize();
        if (rb.isSet()) {
          reduceBucket = rb.value();
        } else if (rb.isAuto()) {
          if (hiddenSize <= 0) {
            errors.add(
                dsName
                    + ": zero_optimization.reduce_bucket_size is \"auto\" but the"
                    + " model's hidden_size is unknown; give a number");
          } else {
            reduceBucket = (long) hiddenSize * hiddenSize;
          }
        }
        allgatherBucket = ds.allgatherBucketSize();
        offloadDevice = ds.offloadOptimizerDevice();
      }

      if (!mismatches.isEmpty()) {
        errors.add(
            0,
            dsName
                + ": these DeepSpeed values mismatch the training arguments of "
                + args.source()
                + " (set them to \"auto\" in "
                + dsName
                + ", or make them equal):\n"
                + String.join("\n", mismatches));
      }
      ConfigError.throwIfAny(errors);

      List<String> ignored = new ArrayList<>(args.ignoredKeys());
      if (haveDs) {
        ignored.addAll(ds.ignoredKeys());
      }
      ignored.addAll(notes);
      List<String> sources = new ArrayList<>();
      sources.add(args.source());
      if (haveDs) {
        sources.add(dsName);
      }
      return new TrainConfig(
          peakLr,
          beta1,
          beta2,
          eps,
          weightDecay,
          decoupled,
          (int) micro,
          (int) accum,
          (int) global,
          replicas,
          trainExamples,
          stepsPerEpoch,
          epochs,
          totalSteps,
          warmup,
          schedule,
          warmupType,
          minLr,
          maxGradNorm,
          precision,
          scaler,
          zeroStage,
          reduceBucket,
          allgatherBucket,
          offloadDevice,
          haveDs && ds.sparseGradients(),
          overlapComm,
          args,
          ignored,
          sources);
    }
  }

  // ------------------------------------------------------------------ output

  /** The configuration as an ordered map of snake_case names (for metrics and MLflow params). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("learning_rate", learningRate);
    m.put("adam_beta1", beta1);
    m.put("adam_beta2", beta2);
    m.put("adam_epsilon", eps);
    m.put("weight_decay", weightDecay);
    m.put("optimizer", decoupledWeightDecay ? "AdamW" : "Adam");
    m.put("micro_batch", microBatch);
    m.put("gradient_accumulation_steps", accumulation);
    m.put("global_batch", globalBatch);
    m.put("replicas", replicas);
    m.put("train_examples", trainExamples);
    m.put("steps_per_epoch", stepsPerEpoch);
    m.put("epochs", epochs);
    m.put("total_steps", totalSteps);
    m.put("warmup_steps", warmupSteps);
    m.put("lr_schedule", schedule.configName());
    if (schedule.isDeepSpeed()) {
      m.put("warmup_type", warmupType.dsName());
      m.put("warmup_min_lr", warmupMinLr);
    }
    m.put("max_grad_norm", maxGradNorm);
    m.put("precision", precision.name().toLowerCase(java.util.Locale.ROOT));
    Map<String, Object> ls = new LinkedHashMap<>();
    ls.put("dynamic", lossScaler.dynamic());
    ls.put("initial_scale", lossScaler.initialScale());
    ls.put("window", lossScaler.window());
    ls.put("hysteresis", lossScaler.hysteresis());
    ls.put("consecutive_hysteresis", lossScaler.consecutiveHysteresis());
    ls.put("min_scale", lossScaler.minScale());
    ls.put("static_scale", lossScaler.staticScale());
    m.put("loss_scaler", ls);
    m.put("zero_stage", zeroStage);
    m.put("reduce_bucket_size", reduceBucketSize);
    m.put("allgather_bucket_size", allgatherBucketSize);
    m.put("offload_optimizer_device", offloadOptimizerDevice);
    m.put("sparse_gradients", sparseGradients);
    m.put("overlap_comm", overlapComm);
    Map<String, Object> a = args.toMap();
    for (String k :
        List.of(
            "seed",
            "data_seed",
            "group_by_length",
            "logging_steps",
            "save_steps",
            "save_total_limit",
            "eval_strategy",
            "eval_steps",
            "per_device_eval_batch_size",
            "dataloader_drop_last",
            "hidden_dropout_prob",
            "attention_probs_dropout_prob",
            "classifier_dropout",
            "crf",
            "crf_learning_rate",
            "output_dir",
            "run_name")) {
      m.put(k, a.get(k));
    }
    m.put("data_seed", dataSeed());
    m.put("eval_steps", evalSteps());
    m.put("report_to_mlflow", reportToMlflow());
    m.put("ignored_keys", ignoredKeys);
    m.put("sources", sources);
    return m;
  }

  /** {@link #toMap()} as one line of JSON. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(toMap());
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
}
