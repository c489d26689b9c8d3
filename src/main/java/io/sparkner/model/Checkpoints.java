package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.sparkner.storage.HadoopFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hugging Face checkpoint directories: {@code config.json} + {@code model.safetensors} (+ {@code
 * tokenizer.json}). Loading maps checkpoint keys onto the model the way {@code transformers} loads
 * into {@code *ForTokenClassification}: a base-model checkpoint's keys get the {@code bert.} /
 * {@code roberta.} prefix, the pooler is ignored, the classifier is newly initialised where the
 * checkpoint has none or one of another label count, and all of it is reported.
 */
public final class Checkpoints {
  private Checkpoints() {}

  private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);

  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String TOKENIZER = "tokenizer.json";

  /** What loading did, in the words transformers uses. */
  public record LoadReport(
      List<String> newlyInitialized,
      List<String> unused,
      List<String> mismatched,
      List<String> ignored) {
    public boolean clean() {
      return newlyInitialized.isEmpty() && unused.isEmpty() && mismatched.isEmpty();
    }

    public String describe() {
      StringBuilder sb = new StringBuilder();
      if (!unused.isEmpty()) {
        sb.append("Some weights of the checkpoint were not used: ").append(unused).append('\n');
      }
      if (!newlyInitialized.isEmpty()) {
        sb.append(
                "Some weights were not initialized from the checkpoint and are newly initialized: ")
            .append(newlyInitialized)
            .append('\n');
      }
      if (!mismatched.isEmpty()) {
        sb.append("Some weights had another shape in the checkpoint and are newly initialized: ")
            .append(mismatched)
            .append('\n');
      }
      if (!ignored.isEmpty()) {
        sb.append("Ignored (not used by token classification): ").append(ignored).append('\n');
      }
      return sb.length() == 0 ? "all weights loaded\n" : sb.toString();
    }
  }

  /** Weights by Hugging Face name, float32, with the load report. */
  public record Weights(
      ModelConfig config, Map<String, SafeTensors.Tensor> tensors, LoadReport report) {}

  /**
   * Reads a checkpoint directory on any Hadoop file system ({@code file:}, {@code hdfs:}, {@code
   * s3a:}, {@code abfss:} ...). A remote checkpoint is copied to a local temporary directory first,
   * explicitly, because {@code model.safetensors} is memory-mapped; the copy is deleted once read.
   * Errors name {@code dir}, not the copy.
   *
   * @see #read(Path, List, long)
   */
  public static Weights read(
      String dir, org.apache.hadoop.conf.Configuration conf, List<String> labels, long seed) {
    return read(dir, conf, labels, UnaryOperator.identity(), seed);
  }

  /**
   * {@link #read(String, org.apache.hadoop.conf.Configuration, List, long)}, with the config
   * changed by {@code head} (after the labels) before the weights are mapped onto it: training sets
   * the head it trains ({@code "crf"}, {@code "label_all_subwords"}), so a CRF's parameters missing
   * from a base checkpoint are initialised.
   */
  public static Weights read(
      String dir,
      org.apache.hadoop.conf.Configuration conf,
      List<String> labels,
      UnaryOperator<ModelConfig> head,
      long seed) {
    if (HadoopFiles.asLocal(dir) == null
        && !HadoopFiles.exists(dir + "/" + WEIGHTS, conf)
        && HadoopFiles.exists(dir + "/" + PYTORCH_BIN, conf)) {
      throw onlyPytorchBin(dir); // before copying: the copy takes only the files we read
    }
    return HadoopFiles.withLocalDirectory(
        dir, conf, FILES, local -> read(local, dir, labels, head, seed));
  }

  /** The files of a checkpoint directory that reading it needs. */
  public static final List<String> FILES = List.of(CONFIG, WEIGHTS, TOKENIZER);

  private static final String PYTORCH_BIN = "pytorch_model.bin";

  private static IllegalArgumentException onlyPytorchBin(String dir) {
    return new IllegalArgumentException(
        dir
            + " has only "
            + PYTORCH_BIN
            + "; sparkner reads model.safetensors (convert it with"
            + " transformers: model.save_pretrained(dir, safe_serialization=True))");
  }

  /**
   * Reads a local checkpoint directory and maps it onto the parameter names of a token classifier.
   *
   * @param labels the label list to train or predict with; null keeps the checkpoint's {@code
   *     id2label}. A different label count re-initialises the classifier.
   */
  public static Weights read(Path dir, List<String> labels, long seed) {
    return read(dir, dir.toString(), labels, UnaryOperator.identity(), seed);
  }

  /**
   * Reads the local directory {@code dir}, naming it {@code shown} in errors (the user's path of a
   * copy).
   */
  private static Weights read(
      Path dir, String shown, List<String> labels, UnaryOperator<ModelConfig> head, long seed) {
    if (!Files.isRegularFile(dir.resolve(CONFIG))) {
      throw new IllegalArgumentException(
          "no "
              + CONFIG
              + " in "
              + shown
              + " (a Hugging Face checkpoint directory holds config.json and model.safetensors)");
    }
    try {
      String configJson = Files.readString(dir.resolve(CONFIG), StandardCharsets.UTF_8);
      ModelConfig config = ModelConfig.parse(configJson, shown + "/" + CONFIG);
      if (labels != null) {
        config = config.withLabels(labels);
      } else if (config.numLabels() == 0) {
        throw new IllegalArgumentException(
            shown + ": config.json has no id2label; give the label list (labels.json of prepare)");
      }
      config = head.apply(config);
      Path weights = dir.resolve(WEIGHTS);
      if (!Files.exists(weights)) {
        if (Files.exists(dir.resolve(PYTORCH_BIN))) {
          throw onlyPytorchBin(shown);
        }
        throw new IllegalArgumentException("no " + WEIGHTS + " in " + shown);
      }
      return map(config, SafeTensors.read(weights), seed);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read checkpoint " + shown + ": " + e.getMessage().replace(dir.toString(), shown),
          e);
    }
  }

  /** Maps raw checkpoint tensors onto the model's names; missing ones are initialised like HF. */
  public static Weights map(ModelConfig config, Map<String, SafeTensors.Tensor> raw, long seed) {
    Map<String, long[]> shapes = shapesOf(config);
    String prefix = config.prefix() + ".";
    Map<String, SafeTensors.Tensor> byModelName = new LinkedHashMap<>();
    List<String> unused = new ArrayList<>();
    List<String> ignored = new ArrayList<>();
    for (Map.Entry<String, SafeTensors.Tensor> e : raw.entrySet()) {
      String k = e.getKey();
      String name = shapes.containsKey(k) ? k : shapes.containsKey(prefix + k) ? prefix + k : null;
      if (name != null) {
        byModelName.put(name, e.getValue());
      } else if (k.contains("pooler.") || k.endsWith("position_ids")) {
        ignored.add(k); // the pooler serves sequence classification; position_ids is a buffer
      } else {
        unused.add(k);
      }
    }
    Map<String, SafeTensors.Tensor> out = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    List<String> mismatched = new ArrayList<>();
    Random random = new Random(seed);
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      SafeTensors.Tensor t = byModelName.get(e.getKey());
      if (t != null && Arrays.equals(t.shape(), e.getValue())) {
        out.put(e.getKey(), new SafeTensors.Tensor(e.getValue(), t.data(), t.storedDtype()));
        continue;
      }
      if (t == null) {
        missing.add(e.getKey());
      } else {
        mismatched.add(
            e.getKey()
                + ": checkpoint "
                + Arrays.toString(t.shape())
                + ", model "
                + Arrays.toString(e.getValue()));
      }
      out.put(
          e.getKey(),
          new SafeTensors.Tensor(
              e.getValue(), initial(config, e.getKey(), e.getValue(), random), "F32"));
    }
    if (!config.crf && unused.stream().anyMatch(k -> k.startsWith("crf."))) {
      // a CRF checkpoint read as a plain softmax head: its transitions take no part in decoding
      LOG.warn(
          "the checkpoint holds a CRF head (crf.*) but its config.json has no \"crf\": true: the"
              + " CRF parameters are ignored and labels are decoded by arg-max");
    }
    return new Weights(config, out, new LoadReport(missing, unused, mismatched, ignored));
  }

  /** A randomly initialised checkpoint's weights, as HF's {@code _init_weights} does. */
  public static Map<String, SafeTensors.Tensor> initialize(ModelConfig config, long seed) {
    return map(config, Map.of(), seed).tensors();
  }

  /**
   * HF's {@code _init_weights}: normal(0, initializer_range) for linear and embedding weights with
   * the padding row zeroed, zero biases, LayerNorm weight 1 and bias 0; a CRF's parameters uniform
   * in [-0.1, 0.1), as pytorch-crf initialises them ({@link Crf#initial}).
   */
  static float[] initial(ModelConfig config, String name, long[] shape, Random random) {
    if (name.startsWith("crf.")) {
      return Crf.initial(shape, random); // uniform in [-0.1, 0.1), as pytorch-crf
    }
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[Math.toIntExact(n)];
    if (name.endsWith("LayerNorm.weight")) {
      Arrays.fill(v, 1f);
    } else if (name.endsWith(".weight")) {
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * config.initializerRange);
      }
      boolean paddedTable =
          name.endsWith("word_embeddings.weight")
              || (config.isRoberta() && name.endsWith("position_embeddings.weight"));
      if (paddedTable && config.padTokenId >= 0 && config.padTokenId < shape[0]) {
        Arrays.fill(
            v,
            (int) (config.padTokenId * shape[1]),
            (int) ((config.padTokenId + 1) * shape[1]),
            0f);
      }
    }
    return v;
  }

  private static Map<String, long[]> shapesOf(ModelConfig config) {
    try (NDManager m = NDManager.newBaseManager()) {
      return new TokenClassificationModel(config, m).parameterShapes();
    }
  }

  /** A model on {@code manager} holding the weights, in {@code dtype} (float32 or float16). */
  public static TokenClassificationModel build(Weights weights, NDManager manager, DataType dtype) {
    TokenClassificationModel model = new TokenClassificationModel(weights.config(), manager);
    for (Map.Entry<String, Parameter> e : model.parameters().entrySet()) {
      SafeTensors.Tensor t = weights.tensors().get(e.getKey());
      // DJL's create() wraps a Java direct buffer (torch::from_blob), which the garbage collector
      // frees once no Java object refers to it, whatever libtorch still holds; the parameters get a
      // copy in libtorch's own memory (see Scalars and TrainingUnderGcTest).
      NDArray a;
      try (NDArray javaBacked = manager.create(t.data(), new Shape(t.shape()))) {
        a = dtype == DataType.FLOAT32 ? javaBacked.duplicate() : javaBacked.toType(dtype, false);
      }
      e.getValue().setArray(a);
    }
    return model;
  }

  /** Writes config.json and model.safetensors (float32) into a directory through {@code files}. */
  public static void write(
      ModelConfig config, Map<String, SafeTensors.Tensor> tensors, CheckpointFiles files) {
    try {
      files.writeString(CONFIG, config.toJson());
      try (OutputStream out = files.create(WEIGHTS)) {
        SafeTensors.write(tensors, out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint: " + e.getMessage(), e);
    }
  }

  /** Where a checkpoint is written: a local directory or any Hadoop path. */
  public interface CheckpointFiles {
    OutputStream create(String name) throws IOException;

    default void writeString(String name, String content) throws IOException {
      try (OutputStream out = create(name)) {
        out.write(content.getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  /** A local directory as {@link CheckpointFiles}. */
  public static CheckpointFiles local(Path dir) {
    return name -> {
      Files.createDirectories(dir);
      return Files.newOutputStream(dir.resolve(name));
    };
  }
}
