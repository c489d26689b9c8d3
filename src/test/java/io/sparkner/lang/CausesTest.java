package io.sparkner.lang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The failure of a future, thrown on by the thread that waited for it, as the other thread threw
 * it.
 */
class CausesTest {
  private static Throwable causeOf(Throwable failure) {
    CompletableFuture<String> f =
        CompletableFuture.supplyAsync(
            () -> {
              if (failure instanceof RuntimeException r) {
                throw r;
              }
              if (failure instanceof Error e) {
                throw e;
              }
              throw new java.util.concurrent.CompletionException(failure);
            });
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    return e.getCause();
  }

  @Test
  void anUncheckedFailureIsThrownAsItWasThrown() {
    IllegalArgumentException bad = new IllegalArgumentException("bad input");
    assertSame(
        bad,
        assertThrows(
            IllegalArgumentException.class,
            () -> {
              throw Causes.rethrow(causeOf(bad));
            }));
    OutOfMemoryError oom = new OutOfMemoryError("heap");
    assertSame(
        oom,
        assertThrows(
            OutOfMemoryError.class,
            () -> {
              throw Causes.rethrow(causeOf(oom), IOException.class, IOException::new);
            }));
  }

  @Test
  void aCheckedFailureIsThrownAsTheCallersTypeOrWrapped() {
    IOException io = new IOException("connection reset");
    assertSame(
        io,
        assertThrows(
            IOException.class,
            () -> {
              throw Causes.rethrow(causeOf(io), IOException.class, IOException::new);
            }));
    TimeoutException timeout = new TimeoutException("slow");
    IOException wrapped =
        assertThrows(
            IOException.class,
            () -> {
              throw Causes.rethrow(causeOf(timeout), IOException.class, IOException::new);
            });
    assertSame(timeout, wrapped.getCause());
    IllegalStateException state =
        assertThrows(
            IllegalStateException.class,
            () -> {
              throw Causes.rethrow(causeOf(io));
            });
    assertSame(io, state.getCause());
    assertEquals("java.io.IOException: connection reset", state.getMessage());
  }
}
