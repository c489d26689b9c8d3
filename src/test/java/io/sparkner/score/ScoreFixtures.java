package io.sparkner.score;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkner.TestData;
import io.sparkner.TestSpark;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.align.SpanDecoder;
import io.sparkner.cli.TestAccess;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.Example;
import io.sparkner.model.SafeTensors;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import io.sparkner.prepare.PreparedData;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileUtil;
import org.apache.spark.sql.SparkSession;

/**
 * Models for the scoring tests, built once per test JVM from the bundled Stockmark sample and the
 * XLM-R-shaped test tokenizer (conf/tiny-xlmr-config.json shapes):
 *
 * <ul>
 *   <li>{@link #gold()}: checkpoints whose weights are set so that each one outputs, for every
 *       token of a group of sample documents, the gold label that token has there. The output
 *       depends on the token alone (attention and feed-forward outputs and position embeddings are
 *       zero; the word embedding is the one-hot vector of the label, which the classifier reads
 *       back), so a group holds documents in which no token has two labels. They are real
 *       checkpoints, loaded and run like any other, so they test tokenization, windows, forward,
 *       merge and decoding against exact gold entities — and, since tokens do not see each other, a
 *       text gives them the same entities however it is cut into windows.
 *   <li>{@link #trained()}: a real, context-dependent model: the first gold checkpoint trained with
 *       conf/train-demo.json for one epoch on the sample's train split (warm-started there because
 *       the tiny model needs about ten epochs from scratch before it tags anything but O, which is
 *       too slow for a unit test).
 * </ul>
 */
public final class ScoreFixtures {
  /** Gold checkpoints built (each covers a group of documents). */
  static final int GOLD_MODELS = 6;

  private static Path root;
  private static Path trained;
  private static Gold gold;

  private ScoreFixtures() {}

  /** A checkpoint that reproduces the gold entities of its documents. */
  public record GoldModel(Path model, List<PreparedData.GoldDocument> documents) {}

  /**
   * The gold checkpoints, and the sample documents none can reproduce: {@code misaligned} ones have
   * an entity boundary inside a subword (no subword tagger can output that span), {@code ambiguous}
   * ones a token with two labels in the same text (no token-only model can).
   */
  public record Gold(
      List<GoldModel> models, int documents, int misaligned, int ambiguous, int inOtherGroups) {
    public GoldModel first() {
      return models.get(0);
    }
  }

  private static synchronized Path root() {
    if (root == null) {
      try {
        root = Files.createTempDirectory("sparkner-score-tests");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path r = root;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> FileUtil.fullyDelete(r.toFile())));
    }
    return root;
  }

  /** The sample prepared with the unigram test tokenizer, windows of 128. */
  public static synchronized Path prepared() {
    Path out = root().resolve("prepared");
    if (!Files.exists(out.resolve("labels.json"))) {
      PrepareJob.run(
          TestSpark.session(),
          new PrepareOptions(
              List.of(CorpusInput.parse("stockmark:" + TestData.sample("stockmark/ner.json"))),
              TestData.tokenizer("unigram").toString(),
              out.toString(),
              ReadOptions.defaults(),
              LabelScheme.IOB2,
              new AlignOptions(128, 32, true),
              true));
    }
    return out;
  }

  /** The first gold checkpoint trained one epoch (30 steps) on the sample's train split. */
  public static synchronized Path trained() {
    if (trained == null) {
      Path out = root().resolve("trained");
      // one libtorch thread, as scoring tasks use (spark.task.cpus = 1): two OpenMP threads on a
      // loaded 2-core machine wait for each other at every operation (see bench/README.md)
      Engine.getInstance();
      JniUtils.setNumThreads(1);
      TrainJob.run(
          TestSpark.session(),
          TrainJob.Options.builder(
                  prepared().toString(), gold().first().model().toString(), out.toString())
              .conf(Path.of("conf/train-demo.json").toAbsolutePath().toString())
              .overrides(
                  List.of(
                      "num_train_epochs=1",
                      "eval_strategy=no",
                      "logging_steps=1000",
                      "save_steps=100000"))
              .build(),
          new PrintStream(OutputStream.nullOutputStream()));
      trained = out;
    }
    return trained;
  }

  public static synchronized Gold gold() {
    if (gold == null) {
      gold = buildGold(TestSpark.session());
    }
    return gold;
  }

  private static Gold buildGold(SparkSession spark) {
    PreparedData data = new PreparedData(spark, prepared().toString());
    Labels labels = data.labels();
    Map<String, List<Example>> windows = new LinkedHashMap<>();
    for (Example e : data.examples(null)) {
      windows.computeIfAbsent(e.id(), k -> new ArrayList<>()).add(e);
    }
    // first fit: a document joins the first group in which none of its tokens has another label
    List<Map<Integer, Integer>> labelOf = new ArrayList<>();
    List<List<PreparedData.GoldDocument>> groups = new ArrayList<>();
    Map<String, PreparedData.GoldDocument> docs = data.gold(null);
    int misaligned = 0;
    int ambiguous = 0;
    for (PreparedData.GoldDocument doc : docs.values()) {
      List<Example> ws = windows.get(doc.id());
      if (ws.size() != 1) {
        continue; // 3 long texts: their entities are checked through windows elsewhere
      }
      Example w = ws.get(0);
      if (!SpanDecoder.decode(w.labels(), w.starts(), w.ends(), labels).equals(doc.entities())) {
        misaligned++;
        continue;
      }
      Map<Integer, Integer> mine = new HashMap<>();
      boolean consistent = true;
      for (int i = 0; i < w.inputIds().length && consistent; i++) {
        if (w.labels()[i] >= 0) { // special tokens and tokens that cover nothing are not decoded
          consistent =
              mine.merge(w.inputIds()[i], w.labels()[i], (a, b) -> a.equals(b) ? a : -1) >= 0;
        }
      }
      if (!consistent) {
        ambiguous++;
        continue;
      }
      int g = 0;
      while (g < groups.size() && !agrees(labelOf.get(g), mine)) {
        g++;
      }
      if (g == groups.size()) {
        labelOf.add(new HashMap<>());
        groups.add(new ArrayList<>());
      }
      labelOf.get(g).putAll(mine);
      groups.get(g).add(doc);
    }
    List<GoldModel> models = new ArrayList<>();
    int rest = 0;
    for (int g = 0; g < groups.size(); g++) {
      if (g < GOLD_MODELS) {
        Path dir = root().resolve("gold-" + g);
        writeGoldModel(labelOf.get(g), labels, dir);
        models.add(new GoldModel(dir, groups.get(g)));
      } else {
        rest += groups.get(g).size();
      }
    }
    return new Gold(models, docs.size(), misaligned, ambiguous, rest);
  }

  private static boolean agrees(Map<Integer, Integer> group, Map<Integer, Integer> doc) {
    for (Map.Entry<Integer, Integer> e : doc.entrySet()) {
      Integer had = group.get(e.getKey());
      if (had != null && !had.equals(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  private static void writeGoldModel(Map<Integer, Integer> labelOf, Labels labels, Path model) {
    Path init = model.resolveSibling(model.getFileName() + "-init");
    try {
      TestAccess.init(
          Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
          TestData.tokenizer("unigram").toString(),
          prepared().resolve("labels.json").toString(),
          init.toString());
      Checkpoints.Weights w = Checkpoints.read(init, null, 0);
      Map<String, SafeTensors.Tensor> t = new LinkedHashMap<>(w.tensors());
      int hidden = w.config().hiddenSize;
      int vocab = w.config().vocabSize;
      if (hidden < labels.size()) {
        throw new IllegalStateException(
            "the gold construction needs hidden_size >= the label count");
      }
      // the embedding of a token is the one-hot vector of its label (O for tokens of no document)
      float[] words = new float[vocab * hidden];
      for (int v = 0; v < vocab; v++) {
        words[v * hidden + labelOf.getOrDefault(v, labels.outside())] = 1f;
      }
      put(t, "roberta.embeddings.word_embeddings.weight", words);
      zero(t, "roberta.embeddings.position_embeddings.weight");
      zero(t, "roberta.embeddings.token_type_embeddings.weight");
      for (int l = 0; l < w.config().numHiddenLayers; l++) {
        // no attention output and no feed-forward output: each layer passes a token's vector on
        // alone
        for (String name : List.of("attention.output.dense", "output.dense")) {
          zero(t, "roberta.encoder.layer." + l + "." + name + ".weight");
          zero(t, "roberta.encoder.layer." + l + "." + name + ".bias");
        }
      }
      // the classifier reads the label back from its one-hot position (after LayerNorm the label's
      // coordinate is ≈ 7.9 and every other ≈ -0.13: probability ≈ 0.995)
      float[] classifier = new float[labels.size() * hidden];
      for (int k = 0; k < labels.size(); k++) {
        classifier[k * hidden + k] = 1f;
      }
      put(t, "classifier.weight", classifier);
      zero(t, "classifier.bias");
      Checkpoints.write(w.config(), t, Checkpoints.local(model));
      Files.copy(TestData.tokenizer("unigram"), model.resolve(Checkpoints.TOKENIZER));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void put(Map<String, SafeTensors.Tensor> t, String name, float[] values) {
    SafeTensors.Tensor old = t.get(name);
    if (old == null || old.data().length != values.length) {
      throw new IllegalStateException("no tensor " + name + " of " + values.length + " values");
    }
    t.put(name, new SafeTensors.Tensor(old.shape(), values, "F32"));
  }

  private static void zero(Map<String, SafeTensors.Tensor> t, String name) {
    SafeTensors.Tensor old = t.get(name);
    put(t, name, new float[old.data().length]);
  }
}
