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
import java.util.concurrent.atomic.AtomicReference;

/**
 * DeepSpeed's {@code zero_optimization.overlap_comm} for ZeRO 1 and 2: the all-gather of the
 * updated parameters after an optimizer step runs part by part on a background thread while the
 * training thread goes on to the next step, whose forward waits for each part just before it uses
 * it ({@link #before}, the model's {@link ParameterGate}) and then writes that part's values into
 * the model.
 *
 * <p>Parts are the model's {@link TokenClassificationModel#forwardParts() forward parts} (the
 * embeddings, each encoder layer, the head), gathered in that order. A part is the set of its
 * parameters' slots in the flat space, gathered as the contiguous ranges those slots form (one per
 * part in checkpoint order, which is the forward order; the grouping follows the slots, not the
 * order), each range one ring all-gather over the shards clipped to it ({@link
 * GradientExchange#gatherParameters(DirectFloats, int, int, String, long)}). The ranges partition
 * the flat space, so the values are bit for bit those of the one whole all-gather.
 *
 * <p>The ring runs one collective at a time and every rank must run the same ones in the same
 * order: the training thread calls {@link #settle} (wait for every pending part and write it into
 * the model) before anything else that uses the ring or reads the model's parameters, so the
 * background thread is the only user of the ring while a gather is pending. A failure of a
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

  /** The gather of each part that is not yet written into the model, or null. */
  private final Future<?>[] pending;

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
    this.pending = new Future<?>[parts.size()];
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
    for (Future<?> f : pending) {
      if (f != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * Starts gathering the parameters of {@code step} (this rank's shard of {@code values} holds its
   * update) on the background thread, part after part, and returns. Nothing may be pending.
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
    // after a failed part the later ones fail with the same exception instead of using the ring
    AtomicReference<RuntimeException> failed = new AtomicReference<>();
    for (int g = 0; g < parts.size(); g++) {
      Part p = parts.get(g);
      pending[g] =
          thread.submit(
              () -> {
                RuntimeException earlier = failed.get();
                if (earlier != null) {
                  throw earlier;
                }
                try {
                  for (int[] r : p.ranges()) {
                    exchange.gatherParameters(values, r[0], r[1], p.name(), step);
                  }
                } catch (RuntimeException e) {
                  failed.compareAndSet(null, e);
                  throw e;
                }
                return null;
              });
    }
  }

  /**
   * The gate: waits until part {@code g} is gathered, then writes its values into the model (once;
   * a part already written, or nothing pending, returns at once). A failed gather is thrown here,
   * after every other pending part has ended.
   */
  void before(int g) {
    Future<?> f = pending[g];
    if (f == null) {
      return;
    }
    long t0 = System.nanoTime();
    try {
      Throwable failure = outcome(f);
      if (failure != null) {
        drain(); // the later parts fail at once, without the ring
        throw rethrow(failure);
      }
      pending[g] = null;
      flat.valuesFrom(values, scratch, parts.get(g).slots());
    } finally {
      waitedNanos += System.nanoTime() - t0;
    }
  }

  /** Waits for every pending part and writes each into the model: nothing is pending after. */
  void settle() {
    for (int g = 0; g < pending.length; g++) {
      before(g);
    }
  }

  /**
   * Cumulative nanoseconds the calling (training) thread spent in {@link #before} and {@link
   * #settle}: waiting for gathers and writing parts into the model.
   */
  long waitedNanos() {
    return waitedNanos;
  }

  /**
   * Waits for every pending gather to end, without writing anything into the model, and forgets
   * them; returns the first failure, or null. For error paths: the ring is then free.
   */
  Throwable drain() {
    Throwable first = null;
    for (int g = 0; g < pending.length; g++) {
      if (pending[g] != null) {
        Throwable t = outcome(pending[g]);
        pending[g] = null;
        if (first == null) {
          first = t;
        }
      }
    }
    return first;
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
