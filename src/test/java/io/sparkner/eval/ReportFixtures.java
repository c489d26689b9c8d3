package io.sparkner.eval;

import io.sparkner.TestData;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.align.Labels;
import io.sparkner.cli.TestAccess;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.Splits;
import io.sparkner.corpus.TypeMap;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.SafeTensors;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/** Prepared corpora and checkpoints for the report tests, built the way users build them. */
public final class ReportFixtures {
  private ReportFixtures() {}

  /** The Stockmark label list (IOB2): O, B-EVT, I-EVT, ..., B-PRD, I-PRD. */
  static List<String> stockmarkLabels() {
    return new Labels(LabelScheme.IOB2, TypeMap.STOCKMARK.values()).labels();
  }

  /** prepare with the given tokenizer; {@code types} fixes the label space when not null. */
  public static Path prepare(
      SparkSession spark, Path out, Path tokenizer, List<String> types, String... inputs) {
    PrepareJob.run(
        spark,
        new PrepareOptions(
            Arrays.stream(inputs).map(CorpusInput::parse).toList(),
            tokenizer.toString(),
            out.toString(),
            new ReadOptions(Splits.DEFAULT_SEED, TypeMap.parse(null, types), false),
            LabelScheme.IOB2,
            new AlignOptions(128, 32, true),
            true));
    return out;
  }

  /** A JSON-lines corpus file: one line per record. */
  public static Path jsonl(Path file, String... lines) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, String.join("\n", lines) + "\n");
    return file;
  }

  /**
   * A tiny checkpoint with Stockmark labels (unigram test tokenizer) whose classifier predicts
   * {@code label} for every token: weights 0, that label's bias 50 — a model whose predictions are
   * known without training.
   */
  static Path alwaysPredicting(Path dir, String label) throws IOException {
    Path init = dir.resolveSibling(dir.getFileName() + "-init");
    TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        TestData.tokenizer("unigram").toString(),
        String.join(",", stockmarkLabels()),
        init.toString());
    Checkpoints.Weights w = Checkpoints.read(init, null, 0);
    int id = w.config().labels.indexOf(label);
    if (id < 0) {
      throw new IllegalArgumentException(label + " is not in " + w.config().labels);
    }
    Map<String, SafeTensors.Tensor> tensors = new LinkedHashMap<>(w.tensors());
    SafeTensors.Tensor weight = tensors.get("classifier.weight");
    tensors.put(
        "classifier.weight",
        new SafeTensors.Tensor(weight.shape(), new float[weight.data().length], "F32"));
    SafeTensors.Tensor bias = tensors.get("classifier.bias");
    float[] b = new float[bias.data().length];
    b[id] = 50f;
    tensors.put("classifier.bias", new SafeTensors.Tensor(bias.shape(), b, "F32"));
    Checkpoints.write(w.config(), tensors, Checkpoints.local(dir));
    Files.copy(init.resolve(Checkpoints.TOKENIZER), dir.resolve(Checkpoints.TOKENIZER));
    return dir;
  }
}
