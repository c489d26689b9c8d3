package io.sparkner.score;

import ai.djl.Device;
import io.sparkner.align.WindowMerge;
import io.sparkner.cache.VersionedCache;
import io.sparkner.model.TaskCompute;
import io.sparkner.tokenizer.Tokenized;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tags the rows of one partition: reads rows until about {@code bufferWindows} windows are
 * buffered, predicts them in length-sorted batches, merges each row's windows back ({@link
 * WindowMerge}), decodes entities, and emits the rows in their original order with the entities
 * appended. Lazy: one buffer is in memory at a time, whatever the partition's size.
 */
final class PartitionTagger implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(PartitionTagger.class);
  private static final Row[] NO_ENTITIES = new Row[0];

  private final TaggerSettings settings;
  private final TaggingCounts counts;

  PartitionTagger(TaggerSettings settings, TaggingCounts counts) {
    this.settings = settings;
    this.counts = counts;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return rows; // an empty partition loads no model
    }
    Device device = TaskCompute.use(settings.device());
    VersionedCache.Lease<ScoringModel> lease =
        ModelCache.acquire(
            settings.modelPath(),
            settings.modelVersion(),
            device,
            ScoringModel.dtype(device),
            settings.hadoopConf().get());
    TaskContext task = TaskContext.get();
    if (task != null) {
      // held until the task ends, whoever stops reading: an evicted version is closed only then
      task.addTaskCompletionListener((TaskCompletionListener) done -> lease.close());
    }
    int partition = task == null ? -1 : task.partitionId();
    Buffered tagger;
    try {
      tagger = new Buffered(lease.get(), rows, partition);
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
    return new Iterator<>() {
      private Iterator<Row> current = List.<Row>of().iterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext() && rows.hasNext()) {
          current = tagger.next().iterator();
        }
        if (!current.hasNext()) {
          lease.close(); // all read: the model may be closed now if a newer version replaced it
          return false;
        }
        return true;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return current.next();
      }
    };
  }

  /**
   * A row of the buffer: to be scored (its text and its windows' place in the buffer's window
   * list), or already settled ({@code result}: no entities, or null when unscorable).
   */
  private record Pending(Row row, String text, int firstWindow, int windowCount, Object result) {
    static Pending settled(Row row, Object result) {
      return new Pending(row, null, 0, 0, result);
    }

    static Pending toScore(Row row, String text, int firstWindow, int windowCount) {
      return new Pending(row, text, firstWindow, windowCount, null);
    }

    boolean scored() {
      return text != null;
    }
  }

  /** Reads, predicts and decodes one buffer of rows at a time. */
  private final class Buffered {
    private final ScoringModel model;
    private final Iterator<Row> rows;
    private final WindowPredictor predictor;
    private final EntityDecoder decoder;
    private final int[] prefix;
    private final int[] suffix;

    private final int partition;
    private long rowsRead; // rows of the partition read so far: a row's position, its id in logs

    Buffered(ScoringModel model, Iterator<Row> rows, int partition) {
      this.model = model;
      this.rows = rows;
      this.partition = partition;
      this.predictor =
          new WindowPredictor(model.model(), settings.batchSize(), settings.sortByLength());
      this.decoder = new EntityDecoder(model.labels());
      this.prefix = model.tokenizer().prefixIds();
      this.suffix = model.tokenizer().suffixIds();
    }

    List<Row> next() {
      Counter c = new Counter();
      List<Pending> pending = new ArrayList<>();
      List<TextWindows.Window> windows = new ArrayList<>();
      List<String> texts =
          new ArrayList<>(); // the buffer's texts: what a failure's messages must not quote
      long firstRow = rowsRead;
      while (rows.hasNext() && windows.size() < settings.bufferWindows()) {
        Row row = rows.next(); // upstream failures (and task kills) pass through as they are
        long rowId = rowsRead++;
        c.rows++;
        String text = (String) row.get(settings.textIndex());
        if (text != null) {
          texts.add(text);
        }
        try {
          read(row, rowId, text, c, pending, windows, texts);
        } catch (RuntimeException e) {
          throw RedactedException.of(
              "NerTagger: tagging row "
                  + rowId
                  + " of partition "
                  + partition
                  + " (a text of "
                  + (text == null ? 0 : text.length())
                  + " UTF-16 units) failed",
              e,
              texts);
        }
      }
      try {
        return predictAndDecode(pending, windows, c);
      } catch (RuntimeException e) {
        throw RedactedException.of(
            "NerTagger: tagging rows "
                + firstRow
                + " to "
                + (rowsRead - 1)
                + " of partition "
                + partition
                + " ("
                + windows.size()
                + " windows) failed",
            e,
            texts);
      }
    }

    /** Settles a row or tokenizes and windows it into the buffer. */
    private void read(
        Row row,
        long rowId,
        String text,
        Counter c,
        List<Pending> pending,
        List<TextWindows.Window> windows,
        List<String> texts) {
      Unscorable reason = text == null ? null : check(text);
      if (reason != null) {
        c.unscorable(reason);
        pending.add(Pending.settled(row, null));
        return;
      }
      Tokenized tok = null;
      if (text != null && !text.isEmpty()) {
        try {
          tok = model.tokenizer().tokenize(text);
        } catch (RuntimeException e) {
          // the row's position and length, never its text (personal data in executor logs)
          LOG.warn(
              "cannot tokenize row {} of partition {}, a text of {} UTF-16 units (null entities,"
                  + " counted as {}): {}",
              rowId,
              partition,
              text.length(),
              Unscorable.TOKENIZER_ERROR.key(),
              RedactedException.describe(e, texts));
          c.unscorable(Unscorable.TOKENIZER_ERROR);
          pending.add(Pending.settled(row, null));
          return;
        }
      }
      if (tok == null || tok.size() == 0) {
        c.empty++; // null, empty, or nothing but what the tokenizer drops (whitespace)
        pending.add(Pending.settled(row, NO_ENTITIES));
        return;
      }
      List<TextWindows.Window> own =
          TextWindows.of(
              tok,
              prefix,
              suffix,
              settings.capacity(),
              settings.stride(),
              model.model().config().decodesAllSubwords());
      pending.add(Pending.toScore(row, text, windows.size(), own.size()));
      windows.addAll(own);
      c.scored++;
      c.windows += own.size();
      c.tokens += tok.size();
    }

    private List<Row> predictAndDecode(
        List<Pending> pending, List<TextWindows.Window> windows, Counter c) {
      WindowPredictor.Prediction[] predictions = predictor.predict(windows);
      List<Row> out = new ArrayList<>(pending.size());
      for (Pending p : pending) {
        Object result = p.result();
        if (p.scored()) {
          List<TaggedEntity> found = decode(p, windows, predictions);
          Row[] array = new Row[found.size()];
          for (int i = 0; i < array.length; i++) {
            array[i] = found.get(i).toRow();
            c.entity(found.get(i).type());
          }
          result = array;
        }
        out.add(append(p.row(), result));
      }
      counts.add(c.toMap());
      return out;
    }

    private Unscorable check(String text) {
      int max = settings.maxChars();
      // a string of at most maxChars UTF-16 units has at most that many code points: count only
      // beyond
      if (text.length() > max && text.codePointCount(0, text.length()) > max) {
        return Unscorable.TEXT_LONGER_THAN_MAX_CHARS;
      }
      return null;
    }

    private List<TaggedEntity> decode(
        Pending p, List<TextWindows.Window> windows, WindowPredictor.Prediction[] predictions) {
      WindowMerge merge = new WindowMerge();
      for (int w = p.firstWindow(); w < p.firstWindow() + p.windowCount(); w++) {
        merge.add(w, windows.get(w).starts(), windows.get(w).ends());
      }
      List<WindowMerge.Token> tokens = merge.tokens();
      int n = tokens.size();
      int[] starts = new int[n];
      int[] ends = new int[n];
      int[] tags = new int[n];
      float[] probabilities = new float[n];
      for (int i = 0; i < n; i++) {
        WindowMerge.Token t = tokens.get(i);
        WindowPredictor.Prediction pred = predictions[t.window()];
        starts[i] = t.start();
        ends[i] = t.end();
        tags[i] = pred.labels()[t.position()];
        probabilities[i] = pred.probabilities()[t.position()];
      }
      return decoder.decode(p.text(), starts, ends, tags, probabilities);
    }
  }

  /** One buffer's counts, added to the accumulator at once. */
  private static final class Counter {
    long rows;
    long scored;
    long empty;
    long windows;
    long tokens;
    long entities;
    final Map<String, Long> unscorable = new HashMap<>();
    final Map<String, Long> types = new HashMap<>();

    void unscorable(Unscorable reason) {
      unscorable.merge(reason.key(), 1L, Long::sum);
    }

    void entity(String type) {
      entities++;
      types.merge(
          type, 1L, Long::sum); // prefixed in toMap: one key string per type, not per entity
    }

    Map<String, Long> toMap() {
      Map<String, Long> m = new HashMap<>();
      unscorable.forEach((k, v) -> m.put(TaggingCounts.UNSCORABLE + k, v));
      types.forEach((k, v) -> m.put(TaggingCounts.ENTITY_TYPE + k, v));
      m.put(TaggingCounts.ROWS, rows);
      m.put(TaggingCounts.SCORED, scored);
      m.put(TaggingCounts.EMPTY, empty);
      m.put(TaggingCounts.WINDOWS, windows);
      m.put(TaggingCounts.TOKENS, tokens);
      m.put(TaggingCounts.ENTITIES, entities);
      return m;
    }
  }

  private static Row append(Row row, Object value) {
    int n = row.length();
    Object[] values = new Object[n + 1];
    for (int i = 0; i < n; i++) {
      values[i] = row.get(i);
    }
    values[n] = value;
    return RowFactory.create(values);
  }
}
