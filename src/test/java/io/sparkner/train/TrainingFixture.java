package io.sparkner.train;

import io.sparkner.TestData;
import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.prepare.PrepareJob;
import io.sparkner.prepare.PrepareOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.SparkSession;

/**
 * What the distributed training tests train on: the bundled Stockmark sample prepared with the
 * unigram test tokenizer (windows of 64 tokens, stride 16), and the demo's tiny XLM-R initialised
 * for its labels.
 *
 * @param data the prepared directory
 * @param model the initial checkpoint
 */
record TrainingFixture(String data, String model) {
  /** Prepares into {@code dir/prepared} and initialises {@code dir/tiny}. */
  static TrainingFixture stockmarkSample(SparkSession spark, Path dir) throws IOException {
    String data = dir.resolve("prepared").toString();
    PrepareJob.run(
        spark,
        new PrepareOptions(
            List.of(CorpusInput.parse("stockmark:" + TestData.sample("stockmark/ner.json"))),
            TestData.tokenizer("unigram").toString(),
            data,
            ReadOptions.defaults(),
            LabelScheme.IOB2,
            new AlignOptions(64, 16, true),
            false));
    String model = dir.resolve("tiny").toString();
    io.sparkner.cli.TestAccess.init(
        Path.of("conf/tiny-xlmr-config.json").toAbsolutePath().toString(),
        TestData.tokenizer("unigram").toString(),
        data + "/labels.json",
        model);
    return new TrainingFixture(data, model);
  }
}
