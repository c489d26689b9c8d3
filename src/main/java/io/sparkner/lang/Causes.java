package io.sparkner.lang;

import java.util.function.Function;

/**
 * The failure of work done elsewhere (a future another thread completed, a method called by
 * reflection), thrown on as it was thrown: the idiom {@code catch (ExecutionException e) { throw
 * Causes.rethrow(e.getCause()); }} in one place. Depends on nothing of sparkner, so any package may
 * use it.
 */
public final class Causes {
  private Causes() {}

  /**
   * Throws {@code cause} when it is unchecked (a {@link RuntimeException} or an {@link Error});
   * otherwise returns it wrapped in an {@link IllegalStateException}, for the caller to throw.
   */
  public static RuntimeException rethrow(Throwable cause) {
    throwIfUnchecked(cause);
    return new IllegalStateException(cause);
  }

  /**
   * Throws {@code cause} when it is unchecked; otherwise returns it as the checked type {@code X}
   * the caller declares (itself, when it is one, else wrapped by {@code wrap}), for the caller to
   * throw.
   */
  public static <X extends Exception> X rethrow(
      Throwable cause, Class<X> checked, Function<Throwable, X> wrap) {
    throwIfUnchecked(cause);
    return checked.isInstance(cause) ? checked.cast(cause) : wrap.apply(cause);
  }

  private static void throwIfUnchecked(Throwable cause) {
    if (cause instanceof RuntimeException r) {
      throw r;
    }
    if (cause instanceof Error err) {
      throw err;
    }
  }
}
