package io.sparkner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.sparkner.collective.DirectFloats;
import io.sparkner.collective.Ring;
import io.sparkner.model.Autograd;
import io.sparkner.model.Batch;
import io.sparkner.model.DropoutMasks;
import io.sparkner.model.Example;
import io.sparkner.model.ParameterGate;
import io.sparkner.model.Scalars;
import io.sparkner.model.TokenClassificationModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The training loop: one replica's view of data-parallel training, written so that distribution
 * only swaps the {@link GradientExchange}. Everything a step does happens in {@link #step}, top to
 * bottom: forward/backward over this rank's micro-batches of the global batch, gradient exchange,
 * overflow check, unscale, global-norm clipping, AdamW on this rank's shard of fp32 master weights,
 * parameters back into the model.
 *
 * <p>With {@code zero_optimization.overlap_comm} under ZeRO 1 or 2 and more than one replica, the
 * last of these runs in the background ({@link OverlappedGather}): the step returns once its shard
 * is updated, and the next step's forward waits for each part of the model just before it uses it.
 * Whatever else reads the parameters or uses the exchange waits for the whole gather first: the
 * gradient reduction, the hooks' checkpoints and evaluations (through {@link #model()}, {@link
 * #flat()}, {@link #parameterValues()} and {@link #exchange()}), the end of training and its error
 * paths. The results are the same bits as without the overlap.
 *
 * <p>The loss of a step is the summed cross-entropy over the labelled tokens of the whole global
 * batch divided by their count (known before the step), so N replicas with batch b compute what one
 * replica with batch N·b computes.
 */
public final class Trainer {
  private final TokenClassificationModel model;
  private final TrainConfig config;
  private final GradientExchange exchange;
  private final Hooks hooks;
  private final FlatParameters flat;
  private final AdamW optimizer;
  private final DirectFloats gradients;

  /** This rank's shard of the reduced gradient, refilled every step. */
  private final float[] shard;

  private final DirectFloats values;
  private final int padTokenId;

  /**
   * The word embeddings' slot when their gradient is exchanged sparsely ({@code sparse_gradients}
   * with more than one replica), else null; the rows a step's batches touched collect in {@code
   * touched}.
   */
  private final FlatParameters.Slot sparseSlot;

  private final java.util.BitSet touched = new java.util.BitSet();

  /** The overlapped parameter gather ({@code overlap_comm}), or null: gathered in the step. */
  private final OverlappedGather overlapped;

  /** {@link #exchange}, settling the overlapped gather before every collective. */
  private final GradientExchange settled;

  private TrainState state = new TrainState(0, 0, 0, 0);
  private LossScaler.State lossScale;
  private long lastReducedLength;
  private long windowsTrained;

  /** Where a run reports, evaluates and persists; every method may do nothing. */
  public interface Hooks {
    /** Called every {@code logging_steps} steps on every rank. */
    default void log(StepMetrics metrics) {}

    /** Called at the end of each epoch, after the hooks of its last step. */
    default void epochEnd(int epoch, Trainer trainer) {}

    /** Called every {@code save_steps} steps and at the end, after the step's update. */
    default void save(Trainer trainer) {}

    /**
     * Called after every step, after {@link #log} and {@link #save} (evaluation every {@code
     * eval_steps}).
     */
    default void afterStep(Trainer trainer) {}
  }

  /**
   * Where the run is: steps taken, updates applied (skipped fp16 steps are not), position in data.
   */
  public record TrainState(long globalStep, long optimizerStep, int epoch, long stepInEpoch)
      implements java.io.Serializable {}

  /**
   * What one logging interval saw: the mean loss and step time and the throughput over its steps;
   * the learning rate, loss scale and gradient norm of its last step (the norm NaN when that step
   * was skipped for overflow); the steps skipped for overflow since this training (or its
   * resumption) started.
   */
  public record StepMetrics(
      long step,
      long totalSteps,
      double epoch,
      double loss,
      double learningRate,
      double lossScale,
      double gradNorm,
      double tokensPerSecond,
      double stepSeconds,
      long skippedSteps,
      Breakdown breakdown) {}

  /**
   * Where a step's time went, mean seconds per step over the logging interval (DeepSpeed's
   * wall_clock_breakdown, always on): forward and backward of this rank's micro-batches; moving the
   * gradients out of the model and reducing them across the replicas (time spent waiting for a
   * slower replica lands here); the global overflow/norm decision, clipping and AdamW on this
   * rank's shard; gathering the updated parameters and writing them into the model.
   *
   * <p>{@code gather} is the time the training thread spent on the parameters' way back into the
   * model. Without {@code overlap_comm} that is the step's own all-gather and copy. With it, it is
   * what the training thread actually waited for the background gathers (exposed communication)
   * plus its copies of the gathered parts into the model: the waits of this step's forward for the
   * previous step's parts (taken out of {@code forwardBackward}), any wait before the reduction,
   * starting this step's gather, and, after a step whose parameters the hooks read (a checkpoint,
   * an evaluation, the end of an epoch or of training), the wait for this step's whole gather. A
   * gather hidden behind the forward costs nothing here.
   */
  public record Breakdown(double forwardBackward, double reduce, double optimizer, double gather) {}

  /**
   * Nanoseconds spent in each phase of {@link Breakdown}, by one step or summed over the steps of a
   * logging interval. A step skipped for overflow gathers nothing (its optimizer phase is the
   * overflow decision alone); with {@code overlap_comm} its gather phase holds its waits for the
   * previous step's gather.
   */
  private record StepTimings(long forwardBackward, long reduce, long optimizer, long gather) {
    static final StepTimings ZERO = new StepTimings(0, 0, 0, 0);

    StepTimings plus(StepTimings o) {
      return new StepTimings(
          forwardBackward + o.forwardBackward,
          reduce + o.reduce,
          optimizer + o.optimizer,
          gather + o.gather);
    }

    /** The mean seconds per step of these summed timings of {@code steps} steps. */
    Breakdown meanSeconds(int steps) {
      double per = 1e9 * steps;
      return new Breakdown(forwardBackward / per, reduce / per, optimizer / per, gather / per);
    }
  }

  public Trainer(
      TokenClassificationModel model, TrainConfig config, GradientExchange exchange, Hooks hooks) {
    this.model = model;
    this.config = config;
    this.exchange = exchange;
    this.hooks = hooks;
    this.flat = new FlatParameters(model);
    this.padTokenId = model.config().padTokenId;
    long size = flat.size();
    long from = exchange.shardFrom(size);
    long to = exchange.shardTo(size);
    this.values = DirectFloats.of(flat.values());
    float[] master = values.toArray(Math.toIntExact(from), Math.toIntExact(to));
    boolean[] decay = new boolean[master.length];
    for (FlatParameters.Slot s : flat.slots()) {
      long a = Math.max(from, s.offset());
      long b = Math.min(to, s.offset() + s.size());
      for (long i = a; i < b; i++) {
        decay[(int) (i - from)] = s.decay();
      }
    }
    this.optimizer =
        new AdamW(
            from,
            master,
            decay,
            AdamW.Hyperparameters.of(config),
            io.sparkner.model.TaskCompute.cpuThreads());
    if (config.crfLearningRate() != null) {
      crfLearningRate(from, to);
    }
    this.gradients = DirectFloats.allocate(Math.toIntExact(size));
    this.shard = new float[master.length];
    this.lossScale = config.lossScaler().start();
    this.sparseSlot =
        config.sparseGradients() && exchange.replicas() > 1 ? wordEmbeddings(flat) : null;
    this.overlapped =
        overlaps(config, exchange)
            ? new OverlappedGather(
                model,
                flat,
                values,
                exchange,
                "sparkner-rank" + exchange.rank() + "-parameter-gather")
            : null;
    this.settled =
        new GradientExchange.Forwarding(exchange) {
          @Override
          public void reduceGradients(DirectFloats local, float[] shard, long step) {
            settle();
            inner.reduceGradients(local, shard, step);
          }

          @Override
          public void reduceGradients(
              DirectFloats local, float[] shard, long step, TouchedRows touched) {
            settle();
            inner.reduceGradients(local, shard, step, touched);
          }

          @Override
          public double[] allReduceSum(double[] values, long step) {
            settle();
            return inner.allReduceSum(values, step);
          }

          @Override
          public void gatherParameters(DirectFloats flat, long step) {
            settle();
            inner.gatherParameters(flat, step);
          }

          @Override
          public void gatherParameters(DirectFloats flat, long step, Ring.Progress progress) {
            settle();
            inner.gatherParameters(flat, step, progress);
          }

          @Override
          public void allReduceSum(DirectFloats data, String what, long step) {
            settle();
            inner.allReduceSum(data, what, step);
          }

          @Override
          public void longPhase(String what, long step, Runnable body) {
            settle();
            inner.longPhase(what, step, body);
          }
        };
    model.setRequiresGradient(true);
  }

  /**
   * Whether the parameter gather runs overlapped: {@code overlap_comm} under ZeRO 1 or 2 with more
   * than one replica (ZeRO 0 gathers nothing; one replica has no one to gather from).
   */
  static boolean overlaps(TrainConfig config, GradientExchange exchange) {
    return config.overlapComm() && config.zeroStage() > 0 && exchange.replicas() > 1;
  }

  /** Waits for the overlapped gather's pending parts and writes them into the model. */
  private void settle() {
    if (overlapped != null) {
      overlapped.settle();
    }
  }

  /** Nanoseconds the training thread has spent waiting for overlapped gathers, cumulative. */
  private long waited() {
    return overlapped == null ? 0 : overlapped.waitedNanos();
  }

  /**
   * The exchange this trainer trains through, for hooks: every collective on it first waits for a
   * pending overlapped parameter gather (the ring runs one collective at a time, in the same order
   * on every rank), so hooks use this one rather than the exchange they were built with.
   */
  public GradientExchange exchange() {
    return settled;
  }

  /** Whether an overlapped parameter gather is pending (for tests). */
  boolean parametersPending() {
    return overlapped != null && overlapped.pending();
  }

  /** The overlapped gather's parts and ranges in gather order, empty without it (for tests). */
  List<String> gatherParts() {
    return overlapped == null ? List.of() : overlapped.describe();
  }

  /** The slot of {@code *.embeddings.word_embeddings.weight}, or null when the model has none. */
  static FlatParameters.Slot wordEmbeddings(FlatParameters flat) {
    for (FlatParameters.Slot s : flat.slots()) {
      if (s.name().endsWith("embeddings.word_embeddings.weight")
          && FlatParameters.shapeOf(s).dimension() == 2) {
        return s;
      }
    }
    return null;
  }

  /** The rows of the word embeddings this step's batches touched, as the exchange's hint. */
  private TouchedRows touchedRows() {
    long[] shape = FlatParameters.shapeOf(sparseSlot).getShape();
    return new TouchedRows(
        sparseSlot.offset(),
        Math.toIntExact(shape[0]),
        Math.toIntExact(shape[1]),
        touched.stream().toArray());
  }

  /** The model, its parameters up to date (a pending overlapped gather is waited for first). */
  public TokenClassificationModel model() {
    settle();
    return model;
  }

  public TrainConfig config() {
    return config;
  }

  public TrainState state() {
    return state;
  }

  public AdamW optimizer() {
    return optimizer;
  }

  /** Where the loss scale is; it moves under fp16 dynamic loss scaling only. */
  public LossScaler.State lossScale() {
    return lossScale;
  }

  /** The flat space, its parameters up to date (as {@link #model()}). */
  public FlatParameters flat() {
    settle();
    return flat;
  }

  /** The full fp32 parameter values after the last update (what a checkpoint saves), as a copy. */
  public float[] parameterValues() {
    settle();
    return values.toArray();
  }

  /**
   * {@code crf_learning_rate}: the CRF's parameters (the last slots of the flat space) learn at
   * that rate, scaled by the schedule as the learning rate is.
   */
  private void crfLearningRate(long from, long to) {
    if (model.crf() == null) {
      throw new IllegalArgumentException(
          "crf_learning_rate is set but the model has no CRF head: set crf: true");
    }
    long crfFrom = flat.size();
    for (FlatParameters.Slot s : flat.slots()) {
      if (s.name().startsWith("crf.")) {
        crfFrom = Math.min(crfFrom, s.offset());
      } else if (crfFrom < flat.size()) {
        throw new IllegalStateException(
            s.name() + " follows the CRF's parameters in the flat space");
      }
    }
    long local = Math.min(Math.max(crfFrom, from), to) - from;
    optimizer.scaleTail(Math.toIntExact(local), config.crfLearningRate() / config.learningRate());
  }

  /**
   * Continues from a checkpoint: position, optimizer moments and loss scale, and with an fp16 model
   * copy this rank's fp32 master weights (its optimizer's range; null keeps the masters taken from
   * the model, which is all an fp32 model needs).
   */
  public void resume(
      TrainState at,
      long adamSteps,
      float[] m,
      float[] v,
      LossScaler.State scale,
      float[] fp32Master) {
    this.state = at;
    optimizer.restore(adamSteps, m, v);
    this.lossScale = scale;
    if (fp32Master != null) {
      float[] own = optimizer.master();
      if (fp32Master.length != own.length) {
        throw new IllegalArgumentException(
            fp32Master.length + " master weights for an optimizer range of " + own.length);
      }
      System.arraycopy(fp32Master, 0, own, 0, own.length);
    }
  }

  /** Trains over {@code examples} (this run's whole training set, identical on every rank). */
  public void train(List<Example> examples) {
    train(TrainingWindows.inMemory(examples));
  }

  /**
   * Trains over {@code windows}, of which this rank takes its share of each global batch. Returns
   * (or throws) with no parameter gather pending and the gather thread ended.
   */
  public void train(TrainingWindows windows) {
    try {
      trainSteps(windows);
    } catch (RuntimeException | Error e) {
      if (overlapped != null) {
        // the ring is free again once the background gather has ended (bounded by its timeout)
        Throwable t = overlapped.drain();
        if (t != null && t != e) {
          e.addSuppressed(t);
        }
      }
      throw e;
    } finally {
      if (overlapped != null) {
        overlapped.close();
      }
    }
  }

  private void trainSteps(TrainingWindows windows) {
    WindowPlan plan = windows.plan();
    List<StepOutcome> interval = new ArrayList<>();
    long skipped = 0;
    while (state.globalStep() < config.totalSteps()) {
      int epoch = state.epoch();
      int[] order = order(plan, epoch, config);
      for (long b = state.stepInEpoch();
          b < config.stepsPerEpoch() && state.globalStep() < config.totalSteps();
          b++) {
        int from = (int) (b * config.globalBatch());
        int to = (int) Math.min(order.length, from + (long) config.globalBatch());
        boolean lastOfEpoch = b + 1 == config.stepsPerEpoch();
        StepOutcome o =
            step(
                windows,
                epoch,
                from,
                Arrays.copyOfRange(order, from, to),
                parametersReadAfter(state.globalStep() + 1, lastOfEpoch));
        skipped += o.skipped ? 1 : 0;
        interval.add(o);
        state =
            new TrainState(
                state.globalStep() + 1,
                state.optimizerStep() + (o.skipped ? 0 : 1),
                lastOfEpoch ? epoch + 1 : epoch,
                lastOfEpoch ? 0 : b + 1);
        if (state.globalStep() % Math.max(1, config.loggingSteps()) == 0
            || state.globalStep() == config.totalSteps()) {
          hooks.log(summarize(interval, skipped));
          interval.clear();
        }
        if (config.savesAt(state.globalStep())) {
          settle();
          hooks.save(this);
        }
        hooks.afterStep(this);
      }
      if (state.stepInEpoch() == 0 && state.epoch() > epoch) {
        settle();
        hooks.epochEnd(epoch, this);
      }
    }
    settle();
    hooks.save(this);
  }

  /**
   * Whether the hooks read the parameters after the step that makes {@code steps} steps: a
   * checkpoint, an evaluation every eval_steps, the end of an epoch or of training. Such a step
   * waits for its own overlapped gather, so that the wait is in its breakdown; the hooks would wait
   * anyway ({@link #model()}).
   */
  private boolean parametersReadAfter(long steps, boolean lastOfEpoch) {
    return lastOfEpoch
        || steps >= config.totalSteps()
        || config.savesAt(steps)
        || config.evaluatesAt(steps);
  }

  /**
   * The data order of {@code epoch} under {@code config}, the same on every rank and in the feed: a
   * permutation from (data seed, epoch), length-grouped by global batch when group_by_length is on.
   */
  static int[] order(WindowPlan plan, int epoch, TrainConfig config) {
    int[] p = DataOrder.shuffled(plan.size(), config.dataSeed(), epoch);
    if (!config.groupByLength()) {
      return p;
    }
    return DataOrder.lengthGrouped(p, plan.lengths(), config.globalBatch());
  }

  /**
   * One step: its mean loss, the lr and loss scale it ran with, its gradient norm (NaN if skipped).
   */
  private record StepOutcome(
      double loss,
      double lr,
      double scale,
      double gradNorm,
      long tokens,
      double seconds,
      boolean skipped,
      StepTimings timings) {}

  /**
   * One step over one global batch, the windows at {@code indices} of the plan, starting at {@code
   * start} of the epoch's order: an optimizer update unless a rank's gradients overflowed. {@code
   * settleAfter}: wait for this step's overlapped gather before returning.
   */
  private StepOutcome step(
      TrainingWindows windows, int epoch, int start, int[] indices, boolean settleAfter) {
    long t0 = System.nanoTime();
    long w0 = waited();
    ParameterGate gate = overlapped == null ? ParameterGate.OPEN : overlapped::before;
    long step = state.globalStep();
    double lr = config.lrAt(state.optimizerStep());
    double scale = lossScale.scale();
    int n = exchange.replicas();
    int rank = exchange.rank();
    int micro = config.microBatch();
    long labelled = 0;
    for (int i : indices) {
      labelled += windows.plan().labelled(i);
    }
    double denominator = Math.max(1, labelled);

    // forward and backward over this rank's micro-batches; gradients accumulate in the model
    double lossSum = 0;
    long tokens = 0;
    for (int a = 0; a < config.accumulation(); a++) {
      int[] share = DataOrder.share(indices.length, n, rank, micro, a);
      if (share.length == 0) {
        continue;
      }
      List<Example> mine = new ArrayList<>(share.length);
      for (int i : share) {
        mine.add(windows.take(epoch, start + i, indices[i]));
      }
      windowsTrained += mine.size();
      if (sparseSlot != null) {
        // the word-embedding rows this micro-batch looks up: its ids, and padding's
        int longest = 0;
        for (Example e : mine) {
          longest = Math.max(longest, e.inputIds().length);
          for (int id : e.inputIds()) {
            touched.set(id);
          }
        }
        for (Example e : mine) {
          if (e.inputIds().length < longest) {
            touched.set(padTokenId);
          }
        }
      }
      // dropout masks are keyed by (seed, step, the example's position in the global batch): the
      // same whichever rank, micro-batch or thread computes it
      DropoutMasks dropout = DropoutMasks.of(config.seed(), step, share);
      try (NDManager scope = model.manager().newSubManager();
          Autograd.Scope rec = Autograd.recording()) {
        Batch batch = Batch.of(mine, padTokenId, scope);
        NDArray logits = model.logits(batch.inputIds(), batch.attentionMask(), null, dropout, gate);
        NDArray sum = model.lossSum(batch, logits);
        lossSum += sum.getFloat();
        Autograd.backward(Scalars.times(sum, scale / denominator));
        tokens += batch.tokens();
      }
    }

    long tCompute = System.nanoTime();
    long w1 = waited();
    // what this rank's forward did not wait for (it had no share, say): the ring must be free
    settle();
    flat.gradientsInto(gradients);
    flat.zeroGradients();
    if (sparseSlot != null) {
      exchange.reduceGradients(gradients, shard, step, touchedRows());
      touched.clear();
    } else {
      exchange.reduceGradients(gradients, shard, step);
    }
    lastReducedLength = exchange.reducedGradientLength(gradients.length());
    long tReduce = System.nanoTime();
    long w2 = waited();
    long from = optimizer.from();
    int len = (int) (optimizer.to() - from);

    // overflow and norm are global: every rank takes the same decision. One pass gives both (the
    // ranks' counted ranges cover the whole space between them)
    int[] counted = exchange.countedRange(shard.length);
    double sq = LossScaler.sumOfSquares(shard, counted[0], counted[1]);
    StepStatistics totals = StepStatistics.local(sq, lossSum, tokens).allReduce(exchange, step);
    double loss = totals.lossSum() / denominator;
    lossScale = config.lossScaler().next(lossScale, totals.overflowed());
    if (totals.overflowed()) {
      long end = System.nanoTime();
      return new StepOutcome(
          loss,
          lr,
          scale,
          Double.NaN,
          totals.tokens(),
          (end - t0) / 1e9,
          true,
          new StepTimings(
              tCompute - t0 - (w1 - w0), tReduce - tCompute - (w2 - w1), end - tReduce, w2 - w0));
    }
    double norm = Math.sqrt(totals.sumOfSquares()) / scale;
    double coef = 1.0 / scale;
    if (config.maxGradNorm() > 0) {
      double clip = config.maxGradNorm() / (norm + 1e-6); // torch.nn.utils.clip_grad_norm_
      if (clip < 1) {
        coef *= clip;
      }
    }
    float c = (float) coef;
    for (int i = 0; i < len; i++) {
      shard[i] *= c;
    }
    optimizer.update(shard, lr);
    values.put((int) from, optimizer.master(), 0, len);
    long tOptimizer = System.nanoTime();
    if (overlapped != null) {
      overlapped.start(step);
      if (settleAfter) {
        overlapped.settle();
      }
    } else {
      exchange.gatherParameters(values, step);
      flat.valuesFrom(values, model.manager());
    }
    long end = System.nanoTime();
    return new StepOutcome(
        loss,
        lr,
        scale,
        norm,
        totals.tokens(),
        (end - t0) / 1e9,
        false,
        new StepTimings(
            tCompute - t0 - (w1 - w0),
            tReduce - tCompute - (w2 - w1),
            tOptimizer - tReduce,
            end - tOptimizer + (w2 - w0)));
  }

  /**
   * Length of the reduced gradient this rank held at the last step: the whole space without ZeRO 2
   * (all-reduce), its shard under ZeRO 2 (reduce-scatter).
   */
  public long lastReducedGradientLength() {
    return lastReducedLength;
  }

  /** Windows this rank trained on since this trainer was created (its shares of the batches). */
  public long windowsTrained() {
    return windowsTrained;
  }

  /** Steps skipped for fp16 overflow so far in this run. */
  public long skippedSteps() {
    return state.globalStep() - state.optimizerStep();
  }

  private StepMetrics summarize(List<StepOutcome> interval, long skipped) {
    double loss = 0;
    double seconds = 0;
    long tokens = 0;
    StepTimings timings = StepTimings.ZERO;
    for (StepOutcome o : interval) {
      loss += o.loss;
      seconds += o.seconds;
      tokens += o.tokens;
      timings = timings.plus(o.timings);
    }
    StepOutcome last = interval.get(interval.size() - 1);
    double epoch = state.epoch() + (double) state.stepInEpoch() / config.stepsPerEpoch();
    return new StepMetrics(
        state.globalStep(),
        config.totalSteps(),
        epoch,
        loss / interval.size(),
        last.lr,
        last.scale,
        last.gradNorm,
        tokens / Math.max(seconds, 1e-9),
        seconds / interval.size(),
        skipped,
        timings.meanSeconds(interval.size()));
  }
}
