package io.sparkner.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The steps of an end-to-end job: in order, numbered among the steps that run, stopped by the first
 * failure.
 */
class PipelineTest {
  private final List<String> events = new ArrayList<>();

  private final Pipeline.Listener<String> listener =
      new Pipeline.Listener<>() {
        @Override
        public void starting(String key, int index, int total, String what) {
          events.add("== " + index + "/" + total + " " + what);
        }

        @Override
        public void finished(String key) {
          events.add("done " + key);
        }
      };

  @Test
  void stepsRunInOrderNumberedAmongThoseThatRun() {
    new Pipeline<String>()
        .thenIf(false, "tokenizer", "tokenizer: build", () -> events.add("built"))
        .then("prepare", "prepare: train", () -> events.add("prepared"))
        .thenIf(true, "init", "init: a model", () -> events.add("initialised"))
        .then("train", "train: 1 replica(s)", () -> events.add("trained"))
        .run(listener);
    assertEquals(
        List.of(
            "== 1/3 prepare: train",
            "prepared",
            "done prepare",
            "== 2/3 init: a model",
            "initialised",
            "done init",
            "== 3/3 train: 1 replica(s)",
            "trained",
            "done train"),
        events);
  }

  @Test
  void theFirstFailureEndsTheRunAndKeepsItsMessage() {
    IllegalArgumentException bad = new IllegalArgumentException("corpus x: no such file");
    Pipeline<String> p =
        new Pipeline<String>()
            .then(
                "prepare",
                "prepare",
                () -> {
                  throw bad;
                })
            .then("train", "train", () -> events.add("trained"));
    assertSame(bad, assertThrows(IllegalArgumentException.class, () -> p.run(listener)));
    assertEquals(List.of("== 1/2 prepare"), events, "neither finished nor the next step");

    events.clear();
    UncheckedIOException io =
        assertThrows(
            UncheckedIOException.class,
            () ->
                new Pipeline<String>()
                    .then(
                        "init",
                        "init",
                        () -> {
                          throw new IOException("no tokenizer.json at t");
                        })
                    .run(listener));
    assertEquals("no tokenizer.json at t", io.getMessage());
  }
}
