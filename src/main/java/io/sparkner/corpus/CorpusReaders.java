package io.sparkner.corpus;

import io.sparkner.storage.HadoopConf;
import io.sparkner.storage.HadoopFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Turns {@code --input} specs into one record stream: lists each input's files on the driver, then
 * reads every file in its own task (a file's record order defines Stockmark's {@code <curid>-<k>}
 * ids and PAN-X's sentence numbers, so a file is never split). Every record read comes out once, as
 * a document or as a quarantined record.
 */
public final class CorpusReaders {
  private CorpusReaders() {}

  /** The texts of the inputs' documents, read here (not on executors); bad records are counted. */
  public record Texts(List<String> texts, long rejected) {}

  /**
   * Reads every document's text of {@code inputs} (qualified paths) in this JVM, in file order:
   * what a tokenizer is learned from. Records that would be quarantined are counted, not kept.
   */
  public static Texts texts(List<CorpusInput> inputs, Configuration conf) {
    List<String> texts = new ArrayList<>();
    long rejected = 0;
    for (SourceFile f : files(inputs, conf)) {
      Iterator<ReadResult> it = read(f, conf, ReadOptions.defaults());
      while (it.hasNext()) {
        if (it.next() instanceof Document d) {
          texts.add(d.text());
        } else {
          rejected++;
        }
      }
    }
    return new Texts(texts, rejected);
  }

  /** The files of all inputs, with kind and language resolved. */
  public static List<SourceFile> files(List<CorpusInput> inputs, Configuration conf) {
    List<SourceFile> out = new ArrayList<>();
    for (CorpusInput in : inputs) {
      for (String f : HadoopFiles.listFiles(in.path(), conf)) {
        String name = f.substring(f.lastIndexOf('/') + 1);
        out.add(new SourceFile(in.kind(), in.langOf(f), f, name));
      }
    }
    return out;
  }

  /** All records of all files, one task per file. */
  public static JavaRDD<ReadResult> read(
      JavaSparkContext jsc, List<CorpusInput> inputs, ReadOptions options) {
    List<SourceFile> files = files(inputs, jsc.hadoopConfiguration());
    HadoopConf conf = new HadoopConf(jsc.hadoopConfiguration());
    return jsc.parallelize(files, files.size()).flatMap(f -> read(f, conf.get(), options));
  }

  /** The records of one file, read lazily; the file is closed at its end or the task's. */
  public static Iterator<ReadResult> read(
      SourceFile file, Configuration conf, ReadOptions options) {
    InputStream in;
    try {
      in = open(file.path(), conf);
    } catch (IOException e) {
      throw HadoopFiles.failure("cannot open", file.path(), e, conf);
    }
    TaskContext task = TaskContext.get();
    if (task != null) {
      task.addTaskCompletionListener(
          (org.apache.spark.util.TaskCompletionListener) ctx -> closeQuietly(in));
    }
    // strict UTF-8: an invalid byte is marked, and its record quarantined as invalid_utf8 by the
    // reader, instead of being replaced by U+FFFD without a trace
    BufferedReader reader = new BufferedReader(Utf8.reader(in), 1 << 16);
    skipByteOrderMark(reader);
    DocumentValidator validator = new DocumentValidator(options.typeMap());
    Iterator<ReadResult> records =
        switch (file.kind()) {
          case "stockmark" -> new StockmarkReader(validator, options.seed()).read(reader, file);
          case "panx" ->
              new ConllReader(validator, options.seed(), TypeMap.PANX).read(reader, file);
          case "conll" -> new ConllReader(validator, options.seed(), null).read(reader, file);
          case "jsonl" -> new JsonLinesReader(validator, options.seed()).read(reader, file);
          default -> throw new IllegalArgumentException("unknown input kind " + file.kind());
        };
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        boolean more = records.hasNext();
        if (!more) {
          closeQuietly(in);
        }
        return more;
      }

      @Override
      public ReadResult next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        ReadResult r = records.next();
        if (options.failFast() && r instanceof Quarantined q) {
          closeQuietly(in);
          throw new BadRecordException(q);
        }
        return r;
      }
    };
  }

  private static InputStream open(String path, Configuration conf) throws IOException {
    InputStream raw = HadoopFiles.open(path, conf);
    CompressionCodec codec =
        new CompressionCodecFactory(conf).getCodec(new org.apache.hadoop.fs.Path(path));
    return codec == null ? raw : codec.createInputStream(raw);
  }

  private static void skipByteOrderMark(BufferedReader reader) {
    try {
      reader.mark(1);
      if (reader.read() != '\uFEFF') {
        reader.reset();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // already read to the end; nothing to lose
    }
  }
}
