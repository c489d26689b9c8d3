package io.sparkner.config;

import java.io.Serializable;

/**
 * A value that may be absent, {@code "auto"} (to be filled from another source, as Hugging Face
 * fills a DeepSpeed config from the training arguments), or set. {@link ConfigReader} accepts the
 * string {@code "auto"} for a property of this type, and its value type otherwise; null and a
 * missing key are absent.
 */
public record Setting<T>(State state, T value) implements Serializable {
  private static final long serialVersionUID = 1L;

  public enum State {
    ABSENT,
    AUTO,
    SET
  }

  private static final Setting<?> ABSENT = new Setting<>(State.ABSENT, null);
  private static final Setting<?> AUTO = new Setting<>(State.AUTO, null);

  @SuppressWarnings("unchecked")
  public static <T> Setting<T> absent() {
    return (Setting<T>) ABSENT;
  }

  @SuppressWarnings("unchecked")
  public static <T> Setting<T> auto() {
    return (Setting<T>) AUTO;
  }

  public static <T> Setting<T> of(T value) {
    return value == null ? absent() : new Setting<>(State.SET, value);
  }

  /** {@code s}, or absent for null (a missing record component). */
  public static <T> Setting<T> orAbsent(Setting<T> s) {
    return s == null ? absent() : s;
  }

  public boolean isSet() {
    return state == State.SET;
  }

  public boolean isAuto() {
    return state == State.AUTO;
  }

  public boolean isAbsent() {
    return state == State.ABSENT;
  }

  /** The value if set, else {@code fallback} (for absent and "auto"). */
  public T orElse(T fallback) {
    return isSet() ? value : fallback;
  }
}
