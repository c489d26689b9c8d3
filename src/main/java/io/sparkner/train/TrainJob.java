package io.sparkner.train;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.align.Labels;
import io.sparkner.dist.BarrierTraining;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner train}: reads the prepared windows and resolves the configuration on the driver,
 * then trains one replica on the driver or N replicas in a Spark barrier stage ({@link
 * BarrierTraining}); each replica runs {@link RankTraining}: checkpoints every {@code save_steps},
 * resume from the newest complete checkpoint in the output, validation after each epoch, and the
 * fine-tuned Hugging Face checkpoint written into the output directory. The driver records what
 * the model is trained on in {@code training_data.json} ({@link TrainingData}) before training.
 */
public final class TrainJob {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainJob() {}

  /**
   * @param model a Hugging Face checkpoint directory (any Hadoop path)
   * @param conf a TrainingArguments file (JSON/YAML), or null for the defaults
   * @param deepspeed a DeepSpeed JSON, or null
   * @param overrides {@code key=value} TrainingArguments overrides
   * @param replicas data-parallel replicas; more than one runs a Spark barrier stage
   * @param failAtStep fault injection (-1 = off): rank {@code failRank} dies once after this step
   */
  public record Options(
      String data,
      String model,
      String output,
      String conf,
      String deepspeed,
      List<String> overrides,
      int replicas,
      long failAtStep,
      int failRank,
      List<Long> overflowSteps,
      Distribution distribution) {
    public Options(String data, String model, String output, String conf, String deepspeed, List<String> overrides) {
      this(data, model, output, conf, deepspeed, overrides, 1, -1, 0, List.of(), Distribution.defaults());
    }
  }

  /** How replicas find and talk to each other. */
  public record Distribution(String host, int portFrom, int portTo, int timeoutSeconds) implements java.io.Serializable {
    public static Distribution defaults() {
      return new Distribution(null, 0, 0, 300);
    }
  }

  /** What a run produced. */
  public record Result(String output, long steps, double validationF1, TrainConfig config, List<RankTraining.Outcome> ranks) {}

  public static Result run(SparkSession spark, Options o, PrintStream console) {
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    String output = HadoopFiles.qualify(o.output(), hconf);
    PreparedData data = new PreparedData(spark, o.data());
    Labels labels = data.labels();
    List<Example> train = data.examples("train");
    if (train.isEmpty()) {
      throw new IllegalArgumentException(o.data() + " has no training windows (split 'train' is empty)");
    }
    TrainingArguments args = o.conf() == null ? TrainingArguments.defaults() : TrainingArguments.parse(HadoopFiles.readString(HadoopFiles.qualify(o.conf(), hconf), hconf), o.conf());
    if (o.overrides() != null && !o.overrides().isEmpty()) {
      args = args.withOverrides(o.overrides());
    }
    DeepSpeedConfig ds = o.deepspeed() == null ? null : DeepSpeedConfig.parse(HadoopFiles.readString(HadoopFiles.qualify(o.deepspeed(), hconf), hconf), o.deepspeed());
    String modelDir = HadoopFiles.qualify(o.model(), hconf);
    ModelConfig modelConfig =
        ModelConfig.parse(HadoopFiles.readString(modelDir + "/" + Checkpoints.CONFIG, hconf), modelDir + "/" + Checkpoints.CONFIG);
    if (o.replicas() < 1) {
      throw new IllegalArgumentException("replicas must be at least 1, got " + o.replicas());
    }
    int replicas = o.replicas();
    TrainConfig config = TrainConfig.resolve(args, ds, replicas, train.size(), modelConfig.hiddenSize);
    if (config.precision() == TrainConfig.Precision.BF16) {
      throw new IllegalArgumentException(
          "bf16 needs a device with bf16 support; on " + Device.cpu() + " a bf16 matmul aborts the JVM (use fp16 or fp32)");
    }
    if (replicas == 1 && config.zeroStage() > 0) {
      console.println("note: zero_optimization.stage " + config.zeroStage() + " shards optimizer state over replicas; with one replica it equals stage 0");
    }
    for (String k : config.ignoredKeys()) {
      console.println("note: " + k);
    }
    TrainPlan plan =
        new TrainPlan(
            train,
            data.examples("validation"),
            data.gold("validation"),
            labels,
            config,
            modelDir,
            output,
            tokenizerOf(modelDir, o.data(), hconf),
            config.precision() == TrainConfig.Precision.FP16,
            o.failAtStep(),
            o.failRank(),
            List.copyOf(o.overflowSteps()));
    TrainingData.of(data).write(output, hconf);
    console.printf(
        "training: %d windows, %d replica(s), %d steps (%d epochs x %d), global batch %d, lr %.2e, %s, ZeRO %d%n",
        train.size(), replicas, config.totalSteps(), config.epochs(), config.stepsPerEpoch(), config.globalBatch(), config.learningRate(), config.precision(), config.zeroStage());
    List<RankTraining.Outcome> outcomes;
    // ---- tracking hook (MLflow when MLFLOW_TRACKING_URI is set; nothing at all otherwise) ----
    try (TrainTracking tracking = TrainTracking.start(args, config, o, output, hconf, console)) {
      if (replicas == 1) {
        outcomes = List.of(RankTraining.run(plan, GradientExchange.SINGLE, hconf, console, o.failAtStep() >= 0));
      } else {
        outcomes = BarrierTraining.run(spark, plan, replicas, o.distribution(), console);
      }
      tracking.succeeded();
    }
    // ---- end of tracking hook ----
    RankTraining.Outcome first = outcomes.get(0);
    return new Result(output, first.steps(), first.validationF1(), config, outcomes);
  }

  /** The tokenizer.json to ship with the model: the checkpoint's own, else the one prepare used. */
  static String tokenizerOf(String modelDir, String data, Configuration conf) {
    String own = modelDir + "/" + Checkpoints.TOKENIZER;
    if (HadoopFiles.exists(own, conf)) {
      return own;
    }
    try {
      var summary = JSON.readTree(HadoopFiles.readString(HadoopFiles.qualify(data, conf) + "/summary.json", conf));
      String t = summary.path("tokenizer").asText(null);
      return t != null && HadoopFiles.exists(t, conf) ? t : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * A local directory holding the checkpoint's files: the directory itself when local, else a copy
   * deleted when the JVM exits. Prefer {@link Checkpoints#read(String, Configuration, List, long)},
   * which deletes its copy as soon as the weights are read.
   */
  public static Path localCopy(String dir, Configuration conf) {
    return HadoopFiles.localDirectory(dir, conf, Checkpoints.FILES.toArray(new String[0]));
  }
}
