package io.sparkner.train;

import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData.GoldDocument;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What one rank trains and validates on: the training windows it takes its shares from, and the
 * validation windows and documents it scores.
 */
record RankData(
    TrainingWindows train, List<Example> validation, Map<String, GoldDocument> validationGold) {

  /** Where the ranks' data comes from. */
  sealed interface Source permits Fed, Collected {}

  /** Streamed to each rank from storage by a {@link TrainingFeed}. */
  record Fed(TrainingFeed feed) implements Source {}

  /** A rank's data as the feed streams it to the rank. */
  static RankData streamed(WindowPlan plan, TrainingFeed.Records records) {
    StreamedWindows w = StreamedWindows.open(plan, records);
    return new RankData(w, w.validation(), w.validationGold());
  }

  /**
   * Every window collected on the driver and shipped whole to every rank, the way training read its
   * data before the feed; kept as the reference the feed is tested against ({@link
   * TrainJob.DataPath#COLLECTED}).
   */
  record Collected(
      List<Example> train, List<Example> validation, Map<String, GoldDocument> validationGold)
      implements Source, Serializable {
    private static final long serialVersionUID = 1L;

    RankData open() {
      return new RankData(TrainingWindows.inMemory(train), validation, validationGold);
    }
  }
}
