package io.sparkner.train;

import ai.djl.ndarray.NDManager;
import io.sparkner.collective.DirectFloats;
import io.sparkner.model.ParameterGate;
import io.sparkner.model.TokenClassificationModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * DeepSpeed's {@code zero_optimization.overlap_comm} for ZeRO 1 and 2: the all-gather of the
 * updated parameters after an optimizer step runs on a background thread while the training thread
 * goes on to the next step, whose forward waits for each part just before it uses it ({@link
 * #before}, the model's {@link ParameterGate}) and then writes that part's values into the model.
 *
 * <p>Parts are the model's {@link TokenClassificationModel#forwardParts() forward parts} (the
 * embeddings, each encoder layer, the head): the sets of their parameters' slots in the flat space,
 * as the contiguous ranges those slots form (the grouping follows the slots, not the order). The
 * gather itself is the one whole all-gather of the synchronous path ({@link
 * GradientExchange#gatherParameters(DirectFloats, long, io.sparkner.collective.Ring.Progress)}), so
 * the values are its bits, and every link of the ring carries its share at once. As its pieces
 * arrive the ring reports them; a part is ready when every element of its ranges has arrived, and
 * the forward of a part whose values arrive early (this rank's own shard at once, the rest in ring
 * order) does not wait for the rest. (Gathering part after part instead, each over the shards
 * clipped to the part, serialises the ranks: a part lies mostly in one rank's shard, so only that
 * rank sends while the others' links idle, and the whole gather takes about N/(N−1) times as long:
 * measured slower than not overlapping at all.)
 *
 * <p>The ring runs one collective at a time and every rank must run the same ones in the same
 * order: the training thread calls {@link #settle} (wait for the whole gather and write what is
 * left into the model) before anything else that uses the ring or reads the model's parameters, so
 * the background thread is the only user of the ring while a gather is pending. A failure of a
 * background gather (a {@code CollectiveException}: peer gone, ring closed, timeout) is thrown on
 * the training thread, as it was raised, at its next wait. One daemon thread per trainer, ended by
 * {@link #close}.
 */
final class OverlappedGather implements AutoCloseable {
  /** One part: its name, its slots (checkpoint order) and the flat ranges they form. */
  private record Part(String name, List<FlatParameters.Slot> slots, List<int[]> ranges) {}

  private final GradientExchange exchange;
  private final FlatParameters flat;
  private final DirectFloats values;
  private final NDManager scratch;
  private final List<Part> parts;
  private final String threadName;

  /** The running or finished gather whose parts are not all written into the model, or null. */
  private Future<?> gather;

  /** Per part, elements of its ranges not yet arrived in the running gather; guarded by itself. */
  private final long[] missing;

  /** Per part, whether its values of the current gather are written into the model. */
  private final boolean[] written;

  private ExecutorService thread;

  /** Nanoseconds the training thread spent waiting for parts and writing them into the model. */
  private long waitedNanos;

  OverlappedGather(
      TokenClassificationModel model,
      FlatParameters flat,
      DirectFloats values,
      GradientExchange exchange,
      String threadName) {
    this.exchange = exchange;
    this.flat = flat;
    this.values = values;
    this.scratch = model.manager();
    this.threadName = threadName;
    this.parts = parts(model.forwardParts(), flat);
    this.missing = new long[parts.size()];
    this.written = new boolean[parts.size()];
  }

  /** The forward parts as slot sets and ranges; every slot in exactly one part. */
  static List<Part> parts(List<TokenClassificationModel.ForwardPart> forward, FlatParameters flat) {
    Map<String, FlatParameters.Slot> byName = new HashMap<>();
    for (FlatParameters.Slot s : flat.slots()) {
      byName.put(s.name(), s);
    }
    List<Part> out = new ArrayList<>();
    int assigned = 0;
    for (TokenClassificationModel.ForwardPart p : forward) {
      List<FlatParameters.Slot> slots = new ArrayList<>();
      for (String name : p.parameters()) {
        FlatParameters.Slot s = byName.remove(name);
        if (s == null) {
          throw new IllegalStateException(
              "parameter "
                  + name
                  + " of part "
                  + p.name()
                  + " is not (or twice) in the flat space");
        }
        slots.add(s);
      }
      assigned += slots.size();
      List<FlatParameters.Slot> byOffset = new ArrayList<>(slots);
      byOffset.sort(Comparator.comparingLong(FlatParameters.Slot::offset));
      List<int[]> ranges = new ArrayList<>();
      for (FlatParameters.Slot s : byOffset) {
        int from = Math.toIntExact(s.offset());
        int to = Math.toIntExact(s.offset() + s.size());
        int[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
        if (last != null && last[1] == from) {
          last[1] = to;
        } else if (to > from) {
          ranges.add(new int[] {from, to});
        }
      }
      out.add(new Part(p.name(), List.copyOf(slots), List.copyOf(ranges)));
    }
    if (!byName.isEmpty() || assigned != flat.slots().size()) {
      throw new IllegalStateException("parameters in no forward part: " + byName.keySet());
    }
    return List.copyOf(out);
  }

  /** The parts' names and flat ranges, in gather order (for tests and messages). */
  List<String> describe() {
    List<String> out = new ArrayList<>();
    for (Part p : parts) {
      StringBuilder b = new StringBuilder(p.name());
      for (int[] r : p.ranges()) {
        b.append(" [").append(r[0]).append(", ").append(r[1]).append(')');
      }
      out.add(b.toString());
    }
    return out;
  }

  /** Whether a part of the last gather is not yet written into the model. */
  boolean pending() {
    return gather != null;
  }

  /**
   * Starts gathering the parameters of {@code step} (this rank's shard of {@code values} holds its
   * update) on the background thread, and returns. Nothing may be pending.
   */
  void start(long step) {
    if (pending()) {
      throw new IllegalStateException("the parameter gather of an earlier step is still pending");
    }
    if (thread == null) {
      thread =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, threadName);
                t.setDaemon(true);
                return t;
              });
    }
    synchronized (missing) {
      for (int g = 0; g < parts.size(); g++) {
        long size = 0;
        for (int[] r : parts.get(g).ranges()) {
          size += r[1] - r[0];
        }
        missing[g] = size;
        written[g] = false;
      }
    }
    gather =
        thread.submit(
            () -> {
              try {
                exchange.gatherParameters(values, step, this::arrived);
              } finally {
                synchronized (missing) {
                  missing.notifyAll(); // a waiting part sees the gather ended (or failed)
                }
              }
              return null;
            });
  }

  /** The ring's progress: {@code [from, to)} of the values is final. Background thread. */
  private void arrived(int from, int to) {
    synchronized (missing) {
      boolean ready = false;
      for (int g = 0; g < parts.size(); g++) {
        for (int[] r : parts.get(g).ranges()) {
          long overlap = Math.min(to, r[1]) - Math.max(from, r[0]);
          if (overlap > 0) {
            missing[g] -= overlap;
            ready |= missing[g] == 0;
          }
        }
      }
      if (ready) {
        missing.notifyAll();
      }
    }
  }

  /**
   * The gate: waits until part {@code g}'s values have arrived, then writes them into the model
   * (once; a part already written, or nothing pending, returns at once). A failed gather is thrown
   * here.
   */
  void before(int g) {
    if (gather == null || written[g]) {
      return;
    }
    long t0 = System.nanoTime();
    try {
      boolean arrived;
      synchronized (missing) {
        while (missing[g] > 0 && !gather.isDone()) {
          try {
            missing.wait(1000);
          } catch (InterruptedException e) {
            // the gather's every frame has the ring's timeout: the wait is bounded
            Thread.currentThread().interrupt();
            break;
          }
        }
        arrived = missing[g] == 0;
      }
      if (!arrived) {
        Throwable failure = outcome(gather);
        if (failure != null) {
          gather = null;
          throw rethrow(failure);
        }
        if (missing[g] > 0) {
          throw new IllegalStateException(
              "the parameter gather ended without part " + parts.get(g).name());
        }
      }
      flat.valuesFrom(values, scratch, parts.get(g).slots());
      written[g] = true;
    } finally {
      waitedNanos += System.nanoTime() - t0;
    }
  }

  /** Waits for the whole gather and writes every part not yet written: nothing is pending after. */
  void settle() {
    if (gather == null) {
      return;
    }
    long t0 = System.nanoTime();
    try {
      Throwable failure = outcome(gather);
      if (failure != null) {
        gather = null;
        throw rethrow(failure);
      }
    } finally {
      waitedNanos += System.nanoTime() - t0;
    }
    for (int g = 0; g < parts.size(); g++) {
      before(g);
    }
    gather = null;
  }

  /**
   * Cumulative nanoseconds the calling (training) thread spent in {@link #before} and {@link
   * #settle}: waiting for gathers and writing parts into the model.
   */
  long waitedNanos() {
    return waitedNanos;
  }

  /**
   * Waits for a pending gather to end, without writing anything into the model, and forgets it;
   * returns its failure, or null. For error paths: the ring is then free.
   */
  Throwable drain() {
    if (gather == null) {
      return null;
    }
    Throwable t = outcome(gather);
    gather = null;
    return t;
  }

  /** How {@code f} ended: null, or its failure. Waits through interrupts (re-asserted after). */
  private static Throwable outcome(Future<?> f) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          f.get();
          return null;
        } catch (ExecutionException e) {
          return e.getCause();
        } catch (CancellationException e) {
          return e;
        } catch (InterruptedException e) {
          // a gather's every frame has the ring's timeout: the wait is bounded
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("the parameter gather failed: " + t, t);
  }

  /**
   * Waits for whatever is still pending (see {@link #drain}) and ends the background thread; the
   * trainer can start gathers again later (a new thread).
   */
  @Override
  public void close() {
    drain();
    if (thread != null) {
      thread.shutdown();
      try {
        if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
          thread.shutdownNow();
        }
      } catch (InterruptedException e) {
        thread.shutdownNow();
        Thread.currentThread().interrupt();
      }
      thread = null;
    }
  }
}
