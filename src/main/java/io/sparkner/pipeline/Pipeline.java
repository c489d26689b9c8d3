package io.sparkner.pipeline;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps of an end-to-end job, run in order: prepare → (tokenizer, init) → train → evaluate, and
 * whatever else the job adds. Each step has a key (what the job records it as), a line saying what
 * it does, and its work; the job's {@link Listener} hears each step start and finish (the {@code
 * crosslingual} job prints "== k/N what", {@code retrain} records the stage in its run.json and
 * injects {@code --fail-after}). A step that throws ends the run there.
 *
 * @param <K> the key of a step
 */
public final class Pipeline<K> {
  /** What a job does around its steps. */
  public interface Listener<K> {
    /** Step {@code index} of {@code total} (from 1) is about to run. */
    void starting(K key, int index, int total, String what);

    /** The step's work returned. */
    default void finished(K key) {}
  }

  /** The work of one step. */
  @FunctionalInterface
  public interface Work {
    void run() throws Exception;
  }

  private record Step<K>(K key, String what, Work work) {}

  private final List<Step<K>> steps = new ArrayList<>();

  /** Adds a step after the ones added so far. */
  public Pipeline<K> then(K key, String what, Work work) {
    steps.add(new Step<>(key, what, work));
    return this;
  }

  /** Adds a step only {@code when} it is needed (a tokenizer to build, a model to initialise). */
  public Pipeline<K> thenIf(boolean when, K key, String what, Work work) {
    return when ? then(key, what, work) : this;
  }

  /**
   * Runs the steps in order. An unchecked exception of a step is thrown on as it is; a checked one
   * is wrapped with the same message (an {@link java.io.IOException} in an {@link
   * java.io.UncheckedIOException}).
   */
  public void run(Listener<K> listener) {
    int total = steps.size();
    for (int i = 0; i < total; i++) {
      Step<K> s = steps.get(i);
      listener.starting(s.key(), i + 1, total, s.what());
      try {
        s.work().run();
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e.getMessage(), e);
      } catch (Exception e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
      listener.finished(s.key());
    }
  }
}
