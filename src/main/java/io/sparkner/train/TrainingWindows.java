package io.sparkner.train;

import io.sparkner.model.Example;
import java.util.List;

/**
 * The training windows as one rank trains them: the {@link WindowPlan} every rank holds whole (what
 * the epoch order and the loss normalisation need), and the windows themselves, which a rank takes
 * one by one as its share of each global batch comes due. Held in memory ({@link #inMemory}) or
 * streamed to the rank from storage ({@link TrainingFeed}).
 */
public interface TrainingWindows {
  WindowPlan plan();

  /**
   * The window at {@code index} of the plan, due at {@code position} of epoch {@code epoch}'s
   * order. A rank calls this for its own positions only, in increasing (epoch, position).
   */
  Example take(int epoch, int position, int index);

  /** Windows held in memory, indexed as given; any rank may take any of them. */
  static TrainingWindows inMemory(List<Example> windows) {
    WindowPlan plan = WindowPlan.of(windows);
    return new TrainingWindows() {
      @Override
      public WindowPlan plan() {
        return plan;
      }

      @Override
      public Example take(int epoch, int position, int index) {
        return windows.get(index);
      }
    };
  }
}
