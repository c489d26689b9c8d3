package io.sparkner.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.eval.Evaluator;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.prepare.PreparedData;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner train} with one replica: reads the prepared windows, loads the base checkpoint
 * with the corpus' labels, trains, evaluates on the validation split after each epoch, checkpoints
 * every {@code save_steps} (resuming from the newest complete checkpoint in the output), and
 * writes the fine-tuned Hugging Face checkpoint into the output directory.
 */
public final class TrainJob {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainJob() {}

  /**
   * @param model a Hugging Face checkpoint directory (any Hadoop path)
   * @param conf a TrainingArguments file (JSON/YAML), or null for the defaults
   * @param deepspeed a DeepSpeed JSON, or null
   * @param overrides {@code key=value} TrainingArguments overrides
   */
  public record Options(String data, String model, String output, String conf, String deepspeed, List<String> overrides) {}

  /** What a run produced. */
  public record Result(String output, long steps, double validationF1, TrainConfig config) {}

  public static Result run(SparkSession spark, Options o, PrintStream console) {
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    String output = HadoopFiles.qualify(o.output(), hconf);
    PreparedData data = new PreparedData(spark, o.data());
    Labels labels = data.labels();
    List<Example> train = data.examples("train");
    if (train.isEmpty()) {
      throw new IllegalArgumentException(o.data() + " has no training windows (split 'train' is empty)");
    }
    List<Example> validation = data.examples("validation");
    Map<String, PreparedData.GoldDocument> validationGold = data.gold("validation");

    TrainingArguments args = o.conf() == null ? TrainingArguments.defaults() : TrainingArguments.parse(HadoopFiles.readString(HadoopFiles.qualify(o.conf(), hconf), hconf), o.conf());
    if (o.overrides() != null && !o.overrides().isEmpty()) {
      args = args.withOverrides(o.overrides());
    }
    DeepSpeedConfig ds = o.deepspeed() == null ? null : DeepSpeedConfig.parse(HadoopFiles.readString(HadoopFiles.qualify(o.deepspeed(), hconf), hconf), o.deepspeed());

    CheckpointStore store = new CheckpointStore(output, hconf);
    Optional<CheckpointStore.Saved> resumeFrom = store.newest();
    String modelDir = resumeFrom.map(CheckpointStore.Saved::dir).orElse(HadoopFiles.qualify(o.model(), hconf));
    Path local = localCopy(modelDir, hconf);
    Checkpoints.Weights weights = Checkpoints.read(local, labels.labels(), args.seed());
    console.print(weights.report().describe());
    var modelConfig = weights.config();
    TrainConfig config = TrainConfig.resolve(args, ds, 1, train.size(), modelConfig.hiddenSize);
    if (config.zeroStage() > 0) {
      console.println("note: zero_optimization.stage " + config.zeroStage() + " shards optimizer state over replicas; with one replica it equals stage 0");
    }
    for (String k : config.ignoredKeys()) {
      console.println("note: " + k);
    }
    if (config.hiddenDropoutProb() != null || config.attentionProbsDropoutProb() != null || config.classifierDropout() != null) {
      modelConfig = modelConfig.withDropout(config.hiddenDropoutProb(), config.attentionProbsDropoutProb(), config.classifierDropout());
      weights = new Checkpoints.Weights(modelConfig, weights.tensors(), weights.report());
    }
    DataType dtype = switch (config.precision()) {
      case FP32 -> DataType.FLOAT32;
      case FP16 -> DataType.FLOAT16;
      case BF16 -> throw new IllegalArgumentException(
          "bf16 needs a device with bf16 support; on " + Device.cpu() + " a bf16 matmul aborts the JVM (use fp16 or fp32)");
    };
    String tokenizer = tokenizerOf(modelDir, o.data(), hconf);
    MetricsLog metrics = new MetricsLog(output + "/metrics.jsonl", hconf, console);
    double[] lastF1 = {Double.NaN};
    try (NDManager manager = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(weights, manager, dtype);
      Trainer.Hooks hooks =
          new Trainer.Hooks() {
            @Override
            public void log(Trainer.StepMetrics m) {
              metrics.step(m);
            }

            @Override
            public void epochEnd(int epoch, Trainer t) {
              if (validationGold.isEmpty()) {
                return;
              }
              Evaluator.Result r = Evaluator.evaluate(t.model(), validation, validationGold, labels, config.evalBatchSize());
              lastF1[0] = r.f1();
              ObjectNode e = JSON.createObjectNode();
              e.put("eval_precision", r.standard().micro().precision());
              e.put("eval_recall", r.standard().micro().recall());
              e.put("eval_f1", r.standard().micro().f1());
              e.put("eval_strict_f1", r.strict().micro().f1());
              e.put("eval_token_accuracy", r.tokens().accuracy());
              metrics.evaluation(t.state().globalStep(), epoch, e);
            }

            @Override
            public void save(Trainer t) {
              store.save(t, 0, 1, tokenizer);
            }
          };
      Trainer trainer = new Trainer(model, config, GradientExchange.SINGLE, hooks);
      if (resumeFrom.isPresent()) {
        store.restore(resumeFrom.get(), trainer);
        console.println("resumed from " + resumeFrom.get().dir() + " at step " + trainer.state().globalStep());
      }
      console.printf(
          "training: %d windows, %d steps (%d epochs x %d), global batch %d, lr %.2e, %s%n",
          train.size(), config.totalSteps(), config.epochs(), config.stepsPerEpoch(), config.globalBatch(), config.learningRate(), config.precision());
      trainer.train(train);
      store.writeModel(trainer, output, tokenizer);
      HadoopFiles.writeString(output + "/training_config.json", config.toJson(), hconf);
      return new Result(output, trainer.state().globalStep(), lastF1[0], config);
    }
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

  /** A local directory holding the checkpoint's files (the directory itself when local). */
  public static Path localCopy(String dir, Configuration conf) {
    java.net.URI uri = new org.apache.hadoop.fs.Path(dir).toUri();
    if (uri.getScheme() == null || uri.getScheme().equals("file")) {
      return Path.of(uri.getPath());
    }
    try {
      Path local = Files.createTempDirectory("sparkner-model");
      for (String name : List.of(Checkpoints.CONFIG, Checkpoints.WEIGHTS, Checkpoints.TOKENIZER)) {
        if (HadoopFiles.exists(dir + "/" + name, conf)) {
          HadoopFiles.copyToLocal(dir + "/" + name, local.resolve(name), conf);
        }
      }
      return local;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + dir + ": " + e.getMessage(), e);
    }
  }
}
