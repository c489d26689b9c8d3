package io.sparkner.track;

import java.util.Map;

/**
 * Where a training run reports besides its output directory: an experiment tracker (MLflow), or
 * {@link #NONE}. Called on the driver only. A tracker never fails the training it observes: its
 * implementations report their own errors as warnings and go on.
 */
public interface Tracker {

  /** The run's parameters (flat {@code key -> value}), logged once at the start. */
  void params(Map<String, String> params);

  /** The values of one logging step (or one evaluation), in the order the trainer produced them. */
  void metrics(long step, Map<String, Double> values);

  /**
   * Uploads files of a directory (any Hadoop path) as the run's artifacts under {@code
   * artifactPath}; names that do not exist there are skipped.
   */
  void artifacts(String dir, String artifactPath, String... names);

  /** Ends the run, FINISHED or FAILED. */
  void finish(boolean succeeded);

  /** One line for the console: where the run is tracked (never a secret). */
  String describe();

  /** Whether anything is tracked at all. */
  default boolean active() {
    return true;
  }

  /** Tracks nothing, loads nothing, contacts nothing. */
  Tracker NONE =
      new Tracker() {
        @Override
        public void params(Map<String, String> params) {}

        @Override
        public void metrics(long step, Map<String, Double> values) {}

        @Override
        public void artifacts(String dir, String artifactPath, String... names) {}

        @Override
        public void finish(boolean succeeded) {}

        @Override
        public String describe() {
          return "not tracked";
        }

        @Override
        public boolean active() {
          return false;
        }
      };
}
