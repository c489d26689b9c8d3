package io.sparkner.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.eval.Evaluator;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import io.sparkner.storage.HadoopFiles;
import java.io.PrintStream;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;

/**
 * One replica's whole run, the same on the driver (one replica) and in a barrier task (N): load the
 * newest complete checkpoint of this run under the output (refusing one of another run), the
 * checkpoint given with {@code --resume-from}, or the base model; a checkpoint's tensors must fit
 * the model exactly; train with the given exchange; rank 0 logs, evaluates after each epoch and
 * writes the model; every rank writes its optimizer shard at each checkpoint.
 */
public final class RankTraining {
  private RankTraining() {}

  /**
   * What a rank reports back: steps done, the last validation F1, optimizer bytes it held, the
   * training windows it trained in this run (its shares) and the validation windows it held; in a
   * barrier task also the payload bytes its ring sent and, with {@code sparse_gradients}, the steps
   * whose word-embedding gradient went sparse and those that fell back to dense (0 otherwise).
   */
  public record Outcome(
      int rank,
      long steps,
      double validationF1,
      long optimizerBytes,
      long parameters,
      long skippedSteps,
      double lossScale,
      long reducedGradientLength,
      long windowsTrained,
      long validationWindows,
      long ringBytesSent,
      long sparseSteps,
      long denseFallbacks) {
    /** This outcome with the ring's figures. */
    Outcome withRing(long bytesSent, long sparse, long dense) {
      return new Outcome(
          rank,
          steps,
          validationF1,
          optimizerBytes,
          parameters,
          skippedSteps,
          lossScale,
          reducedGradientLength,
          windowsTrained,
          validationWindows,
          bytesSent,
          sparse,
          dense);
    }
  }

  /** Thrown by fault injection. */
  public static final class InjectedFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InjectedFailure(String message) {
      super(message);
    }
  }

  /**
   * @param data the windows this rank trains on and the validation documents it scores
   * @param device where the model, activations and gradients live (the CPU, or the GPU Spark
   *     assigned the task); the ring exchanges them through host memory
   * @param console where rank 0 prints progress, or null to only write metrics.jsonl
   * @param injectFailure whether this attempt honours the plan's task failure ({@link RankFaults})
   */
  static Outcome run(
      TrainPlan plan,
      RankData data,
      GradientExchange exchange,
      Device device,
      Configuration hconf,
      PrintStream console,
      boolean injectFailure) {
    int rank = exchange.rank();
    TrainConfig config = plan.config();
    CheckpointStore store = new CheckpointStore(plan.output(), hconf);
    // this run's newest checkpoint (a retry, a rerun of the same command); one of another run is
    // refused; else the checkpoint the user named, else the base model
    Optional<CheckpointStore.Saved> resumeFrom =
        plan.resumeFrom() == null
            ? store.newest(plan.fingerprint())
            : store
                .newestOf(plan.fingerprint())
                .or(() -> Optional.of(store.open(plan.resumeFrom())));
    String modelDir = resumeFrom.map(CheckpointStore.Saved::dir).orElse(plan.modelDir());
    Checkpoints.Weights weights =
        Checkpoints.read(modelDir, hconf, plan.labels().labels(), plan::head, config.seed());
    if (resumeFrom.isPresent()) {
      CheckpointStore.requireExact(
          modelDir, weights.report()); // on every rank: never random weights on resume
    }
    if (rank == 0 && console != null) {
      console.print(weights.report().describe());
    }
    var modelConfig = weights.config();
    if (config.hiddenDropoutProb() != null
        || config.attentionProbsDropoutProb() != null
        || config.classifierDropout() != null) {
      modelConfig =
          modelConfig.withDropout(
              config.hiddenDropoutProb(),
              config.attentionProbsDropoutProb(),
              config.classifierDropout());
      weights = new Checkpoints.Weights(modelConfig, weights.tensors(), weights.report());
    }
    MetricsLog metrics =
        rank == 0 ? new MetricsLog(plan.output() + "/metrics.jsonl", hconf, console) : null;
    double[] lastF1 = {Double.NaN};
    RankFaults faults = new RankFaults(plan.faults(), rank, injectFailure);
    try (NDManager manager = NDManager.newBaseManager(device)) {
      TokenClassificationModel model =
          Checkpoints.build(weights, manager, plan.fp16() ? DataType.FLOAT16 : DataType.FLOAT32);
      Trainer.Hooks hooks =
          new Trainer.Hooks() {
            @Override
            public void log(Trainer.StepMetrics m) {
              if (metrics != null) {
                metrics.step(m);
              }
            }

            @Override
            public void epochEnd(int epoch, Trainer t) {
              if (config.evalStrategy() == TrainingArguments.EvalStrategy.EPOCH) {
                evaluate(t, epoch);
              }
            }

            /**
             * Scores the validation split: shared by all ranks when the feed streams the data
             * ({@link SharedValidation}); on the collected path rank 0 alone, while the others wait
             * (a long phase: the wait does not count against the collective timeout).
             */
            private void evaluate(Trainer t, int epoch) {
              long step = t.state().globalStep();
              SharedValidation.Scores[] scores = {null};
              if (data.validation() instanceof RankData.Shared share) {
                if (!share.any()) {
                  return; // the same on every rank: the plan is
                }
                scores[0] =
                    SharedValidation.run(t.model(), share, plan.labels(), t.exchange(), step);
              } else if (data.validation() instanceof RankData.Whole whole) {
                // rank 0 alone scores the whole split while the others wait
                t.exchange()
                    .longPhase(
                        "validation",
                        step,
                        () -> {
                          if (rank == 0 && whole.any()) {
                            scores[0] =
                                SharedValidation.Scores.of(
                                    Evaluator.evaluate(
                                        t.model(),
                                        whole.windows(),
                                        whole.gold(),
                                        plan.labels(),
                                        config.evalBatchSize()));
                          }
                        });
                t.exchange().allReduceSum(new double[] {0}, step);
              }
              if (scores[0] != null) {
                lastF1[0] = scores[0].standard().f1();
                if (metrics != null) {
                  metrics.evaluation(step, epoch, scores[0].toJson());
                }
              }
            }

            /**
             * Every rank writes its shard, then rank 0 the model while the others wait: a long
             * phase. Hooks use the trainer's exchange, which first waits for an overlapped
             * parameter gather.
             */
            @Override
            public void save(Trainer t) {
              t.exchange()
                  .longPhase(
                      "checkpoint save",
                      t.state().globalStep(),
                      () ->
                          store.save(
                              t,
                              t.exchange(),
                              plan.tokenizer(),
                              plan.fingerprint(),
                              config.saveTotalLimit()));
            }

            @Override
            public void afterStep(Trainer t) {
              long step = t.state().globalStep();
              if (config.evaluatesAt(step)) {
                evaluate(t, t.state().epoch());
              }
              faults.afterStep(step);
            }
          };
      Trainer trainer = new Trainer(model, config, faults.exchange(exchange), hooks);
      if (resumeFrom.isPresent()) {
        store.restore(resumeFrom.get(), trainer);
        if (console != null) {
          console.println(
              "resumed from "
                  + resumeFrom.get().dir()
                  + " at step "
                  + trainer.state().globalStep());
        }
      }
      trainer.train(data.train());
      if (rank == 0) {
        store.writeModel(trainer, plan.output(), plan.tokenizer());
        HadoopFiles.writeString(plan.output() + "/training_config.json", config.toJson(), hconf);
      }
      return new Outcome(
          rank,
          trainer.state().globalStep(),
          lastF1[0],
          trainer.optimizer().stateBytes(),
          trainer.flat().size(),
          trainer.skippedSteps(),
          trainer.lossScale().scale(),
          trainer.lastReducedGradientLength(),
          trainer.windowsTrained(),
          data.validation().held(),
          0,
          0,
          0);
    }
  }
}
