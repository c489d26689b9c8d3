package io.sparkner.train;

import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What one rank trains and validates on: the training windows it takes its shares from, and its
 * part of the validation split.
 */
record RankData(TrainingWindows train, Validation validation) {

  /** Where the ranks' data comes from. */
  sealed interface Source permits Fed, Collected {}

  /** Streamed to each rank from storage by a {@link TrainingFeed}. */
  record Fed(TrainingFeed feed, ValidationPlan validation) implements Source {}

  /** The validation split as one rank holds it. */
  sealed interface Validation permits Whole, Shared {
    /** Validation windows this rank holds. */
    int held();

    /** Whether there is anything to validate on, on any rank. */
    boolean any();
  }

  /** Every validation window and document on this rank, which scores them all alone. */
  record Whole(List<Example> windows, Map<String, GoldDocument> gold) implements Validation {
    @Override
    public int held() {
      return windows.size();
    }

    @Override
    public boolean any() {
      return !gold.isEmpty();
    }
  }

  /** A validation window and its place in the (length, id, window) order of the split. */
  record Indexed(long index, Example window) {}

  /**
   * This rank's share of the validation split ({@link ValidationPlan}): the windows it predicts,
   * and the documents it scores with their windows.
   */
  record Shared(
      ValidationPlan plan,
      List<Indexed> predicted,
      List<Indexed> scored,
      Map<String, GoldDocument> gold)
      implements Validation {
    @Override
    public int held() {
      return predicted.size() + scored.size();
    }

    @Override
    public boolean any() {
      return plan.windows() > 0;
    }
  }

  /** A rank's data as the feed streams it to the rank. */
  static RankData streamed(
      WindowPlan plan, ValidationPlan validation, TrainingFeed.Records records) {
    StreamedWindows w = StreamedWindows.open(plan, validation, records);
    return new RankData(w, w.validation());
  }

  /**
   * Every window collected on the driver and shipped whole to every rank, the way training read its
   * data before the feed; rank 0 validates alone. Kept as the reference the feed is tested against
   * ({@link TrainJob.DataPath#COLLECTED}).
   */
  record Collected(
      List<Example> train, List<Example> validation, Map<String, GoldDocument> validationGold)
      implements Source, Serializable {
    private static final long serialVersionUID = 1L;

    RankData open(int rank) {
      return new RankData(
          TrainingWindows.inMemory(train),
          rank == 0 ? new Whole(validation, validationGold) : new Whole(List.of(), Map.of()));
    }
  }
}
