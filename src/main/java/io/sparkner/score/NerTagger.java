package io.sparkner.score;

import io.sparkner.align.Windowing;
import io.sparkner.cache.VersionedCache;
import io.sparkner.eval.metrics.Chunker;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.model.TaskCompute;
import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.tokenizer.TokenizerCache;
import io.sparkner.tokenizer.TokenizerHandle;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Named-entity tagging of a text column with a fine-tuned Hugging Face token-classification
 * checkpoint, as a Spark ML {@link Transformer}: appends {@code outputCol} of type {@code
 * array<struct<text:string,type:string,start:int,end:int,score:float>>}, spans in code points of
 * the original text.
 *
 * <pre>{@code
 * NerTagger tagger = new NerTagger().setModelPath("abfss://models@acct.dfs.core.windows.net/ner")
 *     .setInputCol("body").setOutputCol("entities");
 * Dataset<Row> tagged = tagger.transform(articles);
 * }</pre>
 *
 * <p>Texts longer than {@code maxLength} tokens are scored in overlapping windows, exactly as
 * {@code prepare} cuts them for training, and merged back (a token counts from the window where it
 * is most central). Null and empty texts get an empty array; a text that cannot be scored (longer
 * than {@code maxChars}, invalid UTF-16) gets null and is counted by reason ({@link #tag}); no row
 * is dropped and no row fails the job.
 *
 * <p>Each executor JVM loads the model once and shares it between its tasks (fp16 on a GPU the task
 * was assigned, fp32 on CPU with {@code spark.task.cpus} libtorch threads). Saving the tagger
 * (alone or in a {@code PipelineModel}) stores its parameters, {@code modelPath} included, not a
 * copy of the checkpoint: the checkpoint must stay where the path points.
 */
public final class NerTagger extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final Param<String> modelPath;
  private final IntParam batchSize;
  private final IntParam maxLength;
  private final IntParam stride;
  private final Param<String> device;
  private final IntParam maxChars;
  private final BooleanParam sortByLength;

  public NerTagger() {
    this(Identifiable$.MODULE$.randomUID("nerTagger"));
  }

  /** The constructor ML persistence calls with the saved uid. */
  public NerTagger(String uid) {
    this.uid = uid;
    inputCol = new Param<>(this, "inputCol", "the text column to tag (string)");
    outputCol = new Param<>(this, "outputCol", "the entities column to add (must not exist yet)");
    modelPath =
        new Param<>(
            this,
            "modelPath",
            "Hugging Face token-classification checkpoint directory (config.json with id2label,"
                + " model.safetensors, tokenizer.json) on any Hadoop path");
    batchSize =
        new IntParam(
            this, "batchSize", "windows per forward pass (> 0)", ParamValidators.<Object>gt(0));
    maxLength =
        new IntParam(
            this,
            "maxLength",
            "tokens per model input, special tokens included; longer texts are scored in"
                + " overlapping windows (> 0)",
            ParamValidators.<Object>gt(0));
    stride =
        new IntParam(
            this,
            "stride",
            "tokens shared by consecutive windows of a long text (>= 0, below the window's content"
                + " length)",
            ParamValidators.<Object>gtEq(0));
    device =
        new Param<>(
            this,
            "device",
            "auto (the GPU Spark assigned the task, else CPU), cpu, or gpu",
            ParamValidators.inArray(TaskCompute.DEVICE_SETTINGS));
    maxChars =
        new IntParam(
            this,
            "maxChars",
            "texts of more code points are not scored: null entities, counted as"
                + " text_longer_than_max_chars (> 0)",
            ParamValidators.<Object>gt(0));
    sortByLength =
        new BooleanParam(
            this,
            "sortByLength",
            "expert: sort the windows read ahead (64 batches' worth) by length before batching, so"
                + " padding stays small; false batches them in arrival order");
    setDefault(inputCol, "text");
    setDefault(outputCol, "entities");
    setDefault(batchSize, 32);
    setDefault(maxLength, 256);
    setDefault(stride, 64);
    setDefault(device, "auto");
    setDefault(maxChars, 1_000_000);
    setDefault(sortByLength, true);
  }

  @Override
  public String uid() {
    return uid;
  }

  // --- parameters (ML's reflection finds them through these public no-argument methods) ---

  public Param<String> inputCol() {
    return inputCol;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public Param<String> modelPath() {
    return modelPath;
  }

  public IntParam batchSize() {
    return batchSize;
  }

  public IntParam maxLength() {
    return maxLength;
  }

  public IntParam stride() {
    return stride;
  }

  public Param<String> device() {
    return device;
  }

  public IntParam maxChars() {
    return maxChars;
  }

  public BooleanParam sortByLength() {
    return sortByLength;
  }

  public String getInputCol() {
    return getOrDefault(inputCol);
  }

  public String getOutputCol() {
    return getOrDefault(outputCol);
  }

  public String getModelPath() {
    return getOrDefault(modelPath);
  }

  public int getBatchSize() {
    return (Integer) getOrDefault(batchSize);
  }

  public int getMaxLength() {
    return (Integer) getOrDefault(maxLength);
  }

  public int getStride() {
    return (Integer) getOrDefault(stride);
  }

  public String getDevice() {
    return getOrDefault(device);
  }

  public int getMaxChars() {
    return (Integer) getOrDefault(maxChars);
  }

  public boolean getSortByLength() {
    return (Boolean) getOrDefault(sortByLength);
  }

  public NerTagger setInputCol(String value) {
    set(inputCol, value);
    return this;
  }

  public NerTagger setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  public NerTagger setModelPath(String value) {
    set(modelPath, value);
    return this;
  }

  public NerTagger setBatchSize(int value) {
    set(batchSize, value);
    return this;
  }

  public NerTagger setMaxLength(int value) {
    set(maxLength, value);
    return this;
  }

  public NerTagger setStride(int value) {
    set(stride, value);
    return this;
  }

  public NerTagger setDevice(String value) {
    set(device, value);
    return this;
  }

  public NerTagger setMaxChars(int value) {
    set(maxChars, value);
    return this;
  }

  public NerTagger setSortByLength(boolean value) {
    set(sortByLength, value);
    return this;
  }

  // --- schema ---

  @Override
  public StructType transformSchema(StructType schema) {
    String in = getInputCol();
    String out = getOutputCol();
    List<String> names = Arrays.asList(schema.fieldNames());
    if (!names.contains(in)) {
      throw new IllegalArgumentException(
          "NerTagger: input column '"
              + in
              + "' does not exist; the columns are "
              + names
              + " (setInputCol)");
    }
    StructField field = schema.apply(in);
    if (!field.dataType().equals(DataTypes.StringType)) {
      throw new IllegalArgumentException(
          "NerTagger: input column '"
              + in
              + "' must be of type string but is "
              + field.dataType().simpleString());
    }
    if (names.contains(out)) {
      throw new IllegalArgumentException(
          "NerTagger: output column '"
              + out
              + "' already exists; choose another name (setOutputCol)");
    }
    return schema.add(new StructField(out, TaggedEntity.ARRAY, true, Metadata.empty()));
  }

  // --- transform ---

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    TaggingCounts counts =
        TaggingCounts.register(
            dataset.sparkSession().sparkContext(), "NerTagger " + uid + " counts");
    return tag(dataset, counts);
  }

  /**
   * {@link #transform}, counting into {@code counts} what tagging did (rows, scored, empty,
   * unscorable by reason, windows, tokens, entities) when the result is computed: for jobs that
   * report it, as {@code sparkner score} does. Register {@code counts} with the SparkContext first.
   */
  public Dataset<Row> tag(Dataset<?> dataset, TaggingCounts counts) {
    StructType out = transformSchema(dataset.schema(), true);
    TaggerSettings settings =
        settings(dataset.schema(), dataset.sparkSession().sparkContext().hadoopConfiguration());
    return dataset.toDF().mapPartitions(new PartitionTagger(settings, counts), Encoders.row(out));
  }

  /** Checks the model and the window settings on the driver, where an error reads best. */
  private TaggerSettings settings(StructType schema, Configuration conf) {
    if (!isDefined(modelPath)) {
      throw new IllegalArgumentException(
          "NerTagger: modelPath is not set (setModelPath: a fine-tuned Hugging Face checkpoint"
              + " directory)");
    }
    String path = HadoopFiles.qualify(getModelPath(), conf);
    for (String file : List.of(Checkpoints.CONFIG, Checkpoints.WEIGHTS, Checkpoints.TOKENIZER)) {
      if (!HadoopFiles.exists(path + "/" + file, conf)) {
        throw new IllegalArgumentException(
            "NerTagger: no "
                + file
                + " in modelPath "
                + path
                + " (a Hugging Face checkpoint directory: config.json with id2label,"
                + " model.safetensors, tokenizer.json)");
      }
    }
    ModelConfig config =
        ModelConfig.parse(
            HadoopFiles.readString(path + "/" + Checkpoints.CONFIG, conf),
            path + "/" + Checkpoints.CONFIG);
    if (config.numLabels() == 0) {
      throw new IllegalArgumentException(
          "NerTagger: " + path + "/config.json has no id2label: not a fine-tuned token classifier");
    }
    for (String label : config.labels) {
      try {
        Chunker.typeOf(label);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "NerTagger: the model's id2label has '"
                + label
                + "', which is not an IOB tag (O, B-X, I-X); cannot decode entities",
            e);
      }
    }
    int length = getMaxLength();
    // RoBERTa/XLM-R number positions from pad_token_id + 1
    int positions =
        config.isRoberta()
            ? config.maxPositionEmbeddings - config.padTokenId - 1
            : config.maxPositionEmbeddings;
    if (length > positions) {
      throw new IllegalArgumentException(
          "NerTagger: maxLength "
              + length
              + " exceeds the "
              + positions
              + " positions the model has (max_position_embeddings "
              + config.maxPositionEmbeddings
              + " in "
              + path
              + "/config.json)");
    }
    int capacity;
    int special;
    try (VersionedCache.Lease<TokenizerHandle> tokenizer = TokenizerCache.acquire(path, conf)) {
      special = tokenizer.get().specialTokenCount();
    }
    capacity = length - special;
    try {
      Windowing.ranges(0, capacity, getStride());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "NerTagger: maxLength "
              + length
              + " leaves "
              + capacity
              + " tokens per window after "
              + special
              + " special tokens; "
              + e.getMessage()
              + " (setStride/setMaxLength)",
          e);
    }
    int batch = getBatchSize();
    return new TaggerSettings(
        path,
        ModelCache.version(path, conf),
        getDevice(),
        Arrays.asList(schema.fieldNames()).indexOf(getInputCol()),
        batch,
        capacity,
        getStride(),
        getMaxChars(),
        getSortByLength(),
        Math.max(batch, 64 * batch),
        new HadoopConf(conf));
  }

  @Override
  public NerTagger copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  // --- persistence: parameters only (DefaultParamsWritable); the reader is found by reflection ---

  public static MLReader<NerTagger> read() {
    return new DefaultParamsReader<>();
  }

  public static NerTagger load(String path) {
    return read().load(path);
  }
}
