package io.sparkner.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import io.sparkner.align.Labels;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.TaskCompute;
import io.sparkner.prepare.PreparedData;
import io.sparkner.prepare.TrainingData;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.track.MetricsFollower;
import java.io.PrintStream;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner train}: resolves the configuration and plans the training windows on the driver
 * from a few bytes per window ({@link TrainingFeed}), then trains one replica on the driver or N
 * replicas in a Spark barrier stage ({@link BarrierTraining}), each fed its share of the windows by
 * a Spark shuffle; each replica runs {@link RankTraining}: checkpoints every {@code save_steps},
 * resume from the newest complete checkpoint in the output, validation after each epoch, and the
 * fine-tuned Hugging Face checkpoint written into the output directory. The driver records what the
 * model is trained on in {@code training_data.json} ({@link TrainingData}) before training.
 */
public final class TrainJob {
  private TrainJob() {}

  /**
   * What to train; built with {@link #builder}, which names each setting.
   *
   * @param data the output directory of prepare
   * @param model a Hugging Face checkpoint directory (any Hadoop path)
   * @param output where the fine-tuned checkpoint, checkpoints/ and metrics.jsonl go
   * @param conf a TrainingArguments file (JSON/YAML), or null for the defaults
   * @param deepspeed a DeepSpeed JSON, or null
   * @param overrides {@code key=value} TrainingArguments overrides
   * @param replicas data-parallel replicas; more than one runs a Spark barrier stage
   * @param distribution how replicas find each other and what they compute on
   * @param overwrite delete the checkpoints and outputs of an earlier run in {@code output} first
   * @param resumeFrom a checkpoint directory to continue from (may belong to another run), or null
   * @param faults faults to inject, for tests and demos ({@link FaultPlan#none()} otherwise)
   * @param dataPath how the windows reach the replicas ({@link DataPath#STREAMED} but in tests)
   */
  public record Options(
      String data,
      String model,
      String output,
      String conf,
      String deepspeed,
      List<String> overrides,
      int replicas,
      Distribution distribution,
      boolean overwrite,
      String resumeFrom,
      FaultPlan faults,
      DataPath dataPath) {
    public Options {
      overrides = overrides == null ? List.of() : List.copyOf(overrides);
      distribution = distribution == null ? Distribution.defaults() : distribution;
      faults = faults == null ? FaultPlan.none() : faults;
      dataPath = dataPath == null ? DataPath.STREAMED : dataPath;
    }

    /**
     * Options to train {@code model} on the prepared {@code data} into {@code output}; everything
     * else at its default.
     */
    public static Builder builder(String data, String model, String output) {
      return new Builder(data, model, output);
    }

    /** The options' settings, each by name; unset ones keep their defaults. */
    public static final class Builder {
      private final String data;
      private final String model;
      private final String output;
      private String conf;
      private String deepspeed;
      private List<String> overrides = List.of();
      private int replicas = 1;
      private Distribution distribution = Distribution.defaults();
      private boolean overwrite;
      private String resumeFrom;
      private FaultPlan faults = FaultPlan.none();
      private DataPath dataPath = DataPath.STREAMED;

      private Builder(String data, String model, String output) {
        this.data = data;
        this.model = model;
        this.output = output;
      }

      /** A TrainingArguments file (JSON/YAML); default: none, the defaults. */
      public Builder conf(String conf) {
        this.conf = conf;
        return this;
      }

      /** A DeepSpeed JSON; default: none. */
      public Builder deepspeed(String deepspeed) {
        this.deepspeed = deepspeed;
        return this;
      }

      /** {@code key=value} TrainingArguments overrides; default: none. */
      public Builder overrides(List<String> overrides) {
        this.overrides = overrides;
        return this;
      }

      /** Data-parallel replicas; default 1. */
      public Builder replicas(int replicas) {
        this.replicas = replicas;
        return this;
      }

      /**
       * Addresses, ports, collective timeout and device; default {@link Distribution#defaults()}.
       */
      public Builder distribution(Distribution distribution) {
        this.distribution = distribution;
        return this;
      }

      /** Delete an earlier run's checkpoints and results in the output first; default false. */
      public Builder overwrite(boolean overwrite) {
        this.overwrite = overwrite;
        return this;
      }

      /** A checkpoint directory to continue from; default: none. */
      public Builder resumeFrom(String resumeFrom) {
        this.resumeFrom = resumeFrom;
        return this;
      }

      /** Faults to inject, for tests and demos; default {@link FaultPlan#none()}. */
      public Builder faults(FaultPlan faults) {
        this.faults = faults;
        return this;
      }

      /** How the windows reach the replicas; default {@link DataPath#STREAMED}. */
      public Builder dataPath(DataPath dataPath) {
        this.dataPath = dataPath;
        return this;
      }

      public Options build() {
        return new Options(
            data,
            model,
            output,
            conf,
            deepspeed,
            overrides,
            replicas,
            distribution,
            overwrite,
            resumeFrom,
            faults,
            dataPath);
      }
    }
  }

  /** How the training and validation windows reach the replicas. */
  public enum DataPath {
    /**
     * Each replica reads its share from the prepared tables through a Spark shuffle ({@link
     * TrainingFeed}); the driver holds a few bytes per window.
     */
    STREAMED,
    /**
     * Every window collected on the driver and shipped to every replica, as training read its data
     * before the feed: the driver and each replica hold the whole corpus. The reference the
     * streamed path is tested and measured against.
     */
    COLLECTED
  }

  /**
   * How often the driver looks for new records in the run's metrics.jsonl (progress line,
   * tracking).
   */
  static final long FOLLOW_MILLIS = 1_000;

  /**
   * What {@code --overwrite} deletes in the output directory: an earlier run's checkpoints and
   * results.
   */
  static final List<String> RUN_OUTPUTS =
      List.of(
          "checkpoints",
          "metrics.jsonl",
          Checkpoints.CONFIG,
          Checkpoints.WEIGHTS,
          Checkpoints.TOKENIZER,
          "training_config.json",
          TrainingData.FILE);

  /**
   * How replicas find and talk to each other, and what they compute on.
   *
   * @param host the address every rank listens on and publishes, or null: the executor's address
   *     Spark knows ({@link io.sparkner.train.RankAddress})
   * @param device {@code auto}, {@code cpu} or {@code gpu} ({@link TaskCompute#use})
   */
  public record Distribution(
      String host, int portFrom, int portTo, int timeoutSeconds, String device)
      implements java.io.Serializable {
    public Distribution(String host, int portFrom, int portTo, int timeoutSeconds) {
      this(host, portFrom, portTo, timeoutSeconds, "auto");
    }

    public static Distribution defaults() {
      return new Distribution(null, 0, 0, 300);
    }
  }

  /** What a run produced. */
  public record Result(
      String output,
      long steps,
      double validationF1,
      TrainConfig config,
      List<RankTraining.Outcome> ranks) {}

  public static Result run(SparkSession spark, Options o, PrintStream console) {
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    PreparedData data = new PreparedData(spark, o.data());
    Labels labels = data.labels();
    // the settings are read and checked before the corpus is planned
    TrainingArguments args =
        o.conf() == null
            ? TrainingArguments.defaults()
            : TrainingArguments.parse(
                HadoopFiles.readString(HadoopFiles.qualify(o.conf(), hconf), hconf), o.conf());
    if (o.overrides() != null && !o.overrides().isEmpty()) {
      args = args.withOverrides(o.overrides());
    }
    DeepSpeedConfig ds =
        o.deepspeed() == null
            ? null
            : DeepSpeedConfig.parse(
                HadoopFiles.readString(HadoopFiles.qualify(o.deepspeed(), hconf), hconf),
                o.deepspeed());
    String modelDir = HadoopFiles.qualify(o.model(), hconf);
    ModelConfig modelConfig =
        ModelConfig.parse(
            HadoopFiles.readString(modelDir + "/" + Checkpoints.CONFIG, hconf),
            modelDir + "/" + Checkpoints.CONFIG);
    if (o.replicas() < 1) {
      throw new IllegalArgumentException("replicas must be at least 1, got " + o.replicas());
    }
    Settings settings = new Settings(args, ds, modelDir, modelConfig);
    RankData.Collected collected =
        o.dataPath() == DataPath.COLLECTED
            ? new RankData.Collected(
                data.examples("train"), data.examples("validation"), data.gold("validation"))
            : null;
    try (TrainingFeed feed = collected == null ? TrainingFeed.plan(spark, data) : null) {
      WindowPlan windows = collected == null ? feed.windows() : WindowPlan.of(collected.train());
      return run(spark, o, settings, data, labels, windows, feed, collected, console);
    }
  }

  /** The run's settings as read from its files, before the corpus is planned. */
  private record Settings(
      TrainingArguments args, DeepSpeedConfig ds, String modelDir, ModelConfig modelConfig) {}

  private static Result run(
      SparkSession spark,
      Options o,
      Settings settings,
      PreparedData data,
      Labels labels,
      WindowPlan windows,
      TrainingFeed feed,
      RankData.Collected collected,
      PrintStream console) {
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    String output = HadoopFiles.qualify(o.output(), hconf);
    if (windows.size() == 0) {
      throw new IllegalArgumentException(
          o.data() + " has no training windows (split 'train' is empty)");
    }
    TrainingArguments args = settings.args();
    DeepSpeedConfig ds = settings.ds();
    String modelDir = settings.modelDir();
    ModelConfig modelConfig = settings.modelConfig();
    int replicas = o.replicas();
    TrainConfig config =
        TrainConfig.resolve(args, ds, replicas, windows.size(), modelConfig.hiddenSize);
    if (config.precision() == TrainConfig.Precision.BF16) {
      throw new IllegalArgumentException(
          "bf16 needs a device with bf16 support; on "
              + Device.cpu()
              + " a bf16 matmul aborts the JVM (use fp16 or fp32)");
    }
    if (replicas == 1 && config.zeroStage() > 0) {
      console.println(
          "note: zero_optimization.stage "
              + config.zeroStage()
              + " shards optimizer state over replicas; with one replica it equals stage 0");
    }
    for (String k : config.ignoredKeys()) {
      console.println("note: " + k);
    }
    RankData.Source source =
        feed != null ? new RankData.Fed(feed, feed.validation(config, replicas)) : collected;
    TrainingData trainingData = TrainingData.of(data); // the train split's languages: a Spark job
    RunFingerprint fingerprint =
        RunFingerprint.of(
            modelConfig,
            CheckpointStore.fileIdentity(modelDir + "/" + Checkpoints.WEIGHTS, hconf),
            labels.labels(),
            trainingData.tokenizerFingerprint(),
            windows,
            config);
    JsonNode summary = data.summary(); // read once: labelling and the tokenizer to ship
    Boolean labelAllSubwords = labelAllSubwords(summary);
    String resumeFrom =
        startingPoint(
            o,
            output,
            fingerprint,
            TrainPlan.head(modelConfig, labels, config, labelAllSubwords),
            hconf,
            console);
    TrainPlan plan =
        new TrainPlan(
            windows,
            labels,
            config,
            modelDir,
            output,
            tokenizerOf(modelDir, summary, hconf),
            config.precision() == TrainConfig.Precision.FP16,
            o.faults(),
            fingerprint,
            resumeFrom,
            labelAllSubwords);
    trainingData.write(output, hconf);
    console.printf(
        "training: %d windows, %d replica(s), %d steps (%d epochs x %d), global batch %d, lr %.2e,"
            + " %s, ZeRO %d%n",
        windows.size(),
        replicas,
        config.totalSteps(),
        config.epochs(),
        config.stepsPerEpoch(),
        config.globalBatch(),
        config.learningRate(),
        config.precision(),
        config.zeroStage());
    List<RankTraining.Outcome> outcomes;
    // ---- tracking hook (MLflow when MLFLOW_TRACKING_URI is set; nothing at all otherwise) ----
    try (MetricsFollower follower =
            new MetricsFollower(output + "/metrics.jsonl", hconf, FOLLOW_MILLIS);
        TrainTracking tracking =
            TrainTracking.start(args, config, o, output, hconf, console, follower)) {
      if (replicas == 1) {
        Device device = TaskCompute.use(o.distribution().device());
        RankData rankData =
            source instanceof RankData.Fed f
                ? RankData.streamed(
                    windows, f.validation(), f.feed().onDriver(config, f.validation()))
                : ((RankData.Collected) source).open(0);
        outcomes =
            List.of(
                RankTraining.run(
                    plan,
                    rankData,
                    GradientExchange.SINGLE,
                    device,
                    hconf,
                    console,
                    o.faults().failsAStep()));
      } else {
        outcomes =
            BarrierTraining.run(spark, plan, source, replicas, o.distribution(), console, follower);
      }
      tracking.succeeded();
    }
    // ---- end of tracking hook ----
    RankTraining.Outcome first = outcomes.get(0);
    return new Result(output, first.steps(), first.validationF1(), config, outcomes);
  }

  /**
   * Decides, before any replica starts, where the run begins, and refuses what does not belong to
   * it: with {@code --overwrite} the earlier run's files are deleted; with {@code --resume-from}
   * that checkpoint must be complete and undamaged (another run's is accepted with a warning that
   * names what differs, but not one with other labels); otherwise the newest complete checkpoint in
   * the output must be this run's ({@link OutputConflict} names what differs). The tensors of the
   * checkpoint resumed from must fit the model. Returns the qualified {@code --resume-from} path,
   * or null.
   */
  static String startingPoint(
      Options o,
      String output,
      RunFingerprint fingerprint,
      ModelConfig model,
      Configuration hconf,
      PrintStream console) {
    CheckpointStore store = new CheckpointStore(output, hconf);
    String explicit = o.resumeFrom() == null ? null : HadoopFiles.qualify(o.resumeFrom(), hconf);
    if (o.overwrite()) {
      if (HadoopFiles.qualify(o.model(), hconf).equals(output)) {
        throw new OutputConflict(
            "--overwrite would delete --model "
                + output
                + " (the same directory as --output): choose another --output");
      }
      if (explicit != null && (explicit + "/").startsWith(output + "/")) {
        throw new OutputConflict(
            "--resume-from "
                + explicit
                + " is inside --output "
                + output
                + ", which --overwrite deletes: drop --overwrite to continue from it");
      }
      for (String name : RUN_OUTPUTS) {
        if (HadoopFiles.exists(output + "/" + name, hconf)) {
          HadoopFiles.delete(output + "/" + name, hconf);
          console.println("--overwrite: deleted " + output + "/" + name);
        }
      }
    }
    Optional<CheckpointStore.Saved> start;
    if (explicit != null) {
      CheckpointStore.Saved named = store.open(explicit);
      String why = CheckpointStore.mismatch(named, fingerprint);
      if (why != null) {
        if (named.fingerprint() != null
            && named.fingerprint().diff(fingerprint).contains("labels")) {
          throw new OutputConflict(
              why
                  + ": with other labels its classifier's outputs mean other entity types; train"
                  + " afresh (--overwrite or another --output)");
        }
        console.println("warning: --resume-from: " + why + "; continuing from it as asked");
      }
      start = store.newestOf(fingerprint).or(() -> Optional.of(named));
    } else {
      start = store.newest(fingerprint);
    }
    for (String w : store.warnings()) {
      console.println("warning: " + w);
    }
    start.ifPresent(s -> CheckpointStore.requireTensorsOf(s.dir(), model, hconf));
    return explicit;
  }

  /** How prepare labelled the windows (label_all_subwords of its summary.json), or null. */
  private static Boolean labelAllSubwords(JsonNode summary) {
    var v = summary == null ? null : summary.get("label_all_subwords");
    return v != null && v.isBoolean() ? v.booleanValue() : null;
  }

  /**
   * The tokenizer.json to ship with the model: the checkpoint's own, else the one prepare used (its
   * summary.json, read once with the prepared data).
   */
  static String tokenizerOf(String modelDir, JsonNode summary, Configuration conf) {
    String own = modelDir + "/" + Checkpoints.TOKENIZER;
    if (HadoopFiles.exists(own, conf)) {
      return own;
    }
    String t = summary == null ? null : summary.path("tokenizer").asText(null);
    return t != null && HadoopFiles.exists(t, conf) ? t : null;
  }
}
