package io.sparkner.train;

import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import scala.Tuple2;

/**
 * One rank's side of the {@link TrainingFeed}: its validation records, read whole when it starts,
 * then its training windows read as they come due. It holds one record ahead, never the corpus.
 * Every window taken is checked against the order the rank computes: a feed that disagrees with it
 * fails the step rather than train on other data.
 */
final class StreamedWindows implements TrainingWindows {
  /**
   * The order of Spark's sort on a string column (by the UTF-8 bytes, unsigned), which one replica
   * collecting the split in (id, window) order reads the documents and windows in.
   */
  static final Comparator<String> SPARK_ORDER =
      (a, b) ->
          Arrays.compareUnsigned(
              a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  private final WindowPlan plan;
  private final TrainingFeed.Records records;
  private final RankData.Shared validation;
  private Tuple2<FeedKey, byte[]> ahead;
  private long taken;

  private StreamedWindows(
      WindowPlan plan,
      TrainingFeed.Records records,
      RankData.Shared validation,
      Tuple2<FeedKey, byte[]> ahead) {
    this.plan = plan;
    this.records = records;
    this.validation = validation;
    this.ahead = ahead;
  }

  /** Reads the validation records at the head of {@code records}; the training ones wait. */
  static StreamedWindows open(
      WindowPlan plan, ValidationPlan validationPlan, TrainingFeed.Records records) {
    List<RankData.Indexed> predicted = new ArrayList<>();
    List<RankData.Indexed> scored = new ArrayList<>();
    List<GoldDocument> documents = new ArrayList<>();
    Tuple2<FeedKey, byte[]> ahead = null;
    while (records.hasNext()) {
      Tuple2<FeedKey, byte[]> r = records.next();
      FeedKey k = r._1();
      if (k.kind() == FeedKey.VALIDATION) {
        Example e = WindowCodec.decode(r._2());
        int[] none = new int[0];
        // a rank predicts from the token ids (batches also carry labels) and scores from the labels
        // and spans: it keeps what it uses of each window
        if ((k.seq() & TrainingFeed.PREDICT) != 0) {
          predicted.add(
              new RankData.Indexed(
                  k.index(),
                  new Example(e.id(), e.window(), e.inputIds(), e.labels(), none, none)));
        }
        if ((k.seq() & TrainingFeed.SCORE) != 0) {
          scored.add(
              new RankData.Indexed(
                  k.index(),
                  new Example(e.id(), e.window(), none, e.labels(), e.starts(), e.ends())));
        }
      } else if (k.kind() == FeedKey.GOLD) {
        documents.add(deserialize(r._2()));
      } else {
        ahead = r;
        break;
      }
    }
    predicted.sort(Comparator.comparingLong(RankData.Indexed::index));
    scored.sort(Comparator.comparingLong(RankData.Indexed::index));
    documents.sort(Comparator.comparing(GoldDocument::id, SPARK_ORDER));
    Map<String, GoldDocument> gold = new LinkedHashMap<>();
    for (GoldDocument d : documents) {
      gold.put(d.id(), d);
    }
    return new StreamedWindows(
        plan, records, new RankData.Shared(validationPlan, predicted, scored, gold), ahead);
  }

  @Override
  public WindowPlan plan() {
    return plan;
  }

  /** This rank's share of the validation split. */
  RankData.Shared validation() {
    return validation;
  }

  /** Training windows taken so far. */
  long taken() {
    return taken;
  }

  @Override
  public Example take(int epoch, int position, int index) {
    long seq = (long) epoch * plan.size() + position;
    if (ahead == null || ahead._1().seq() < seq) {
      records.skipTo(seq);
    }
    while (ahead == null || ahead._1().seq() < seq) {
      if (!records.hasNext()) {
        throw new IllegalStateException(
            "the training feed ended before epoch " + epoch + " position " + position);
      }
      ahead = records.next();
    }
    FeedKey k = ahead._1();
    if (k.seq() != seq || k.index() != index) {
      throw new IllegalStateException(
          "the training feed gives window "
              + k.index()
              + " at epoch "
              + k.seq() / plan.size()
              + " position "
              + k.seq() % plan.size()
              + " where this rank's order has window "
              + index
              + " at epoch "
              + epoch
              + " position "
              + position);
    }
    Example e = WindowCodec.decode(ahead._2());
    ahead = null;
    taken++;
    return e;
  }

  private static GoldDocument deserialize(byte[] bytes) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
      return (GoldDocument) in.readObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }
}
