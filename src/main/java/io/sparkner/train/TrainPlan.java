package io.sparkner.train;

import io.sparkner.align.Labels;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.ModelConfig;
import java.io.Serializable;

/**
 * Everything a replica needs to train, decided on the driver and shipped to every rank: the plan of
 * the training windows (identical on every rank: each takes its share of each global batch; the
 * windows themselves reach a rank as {@link RankData}), the resolved configuration, where the model
 * comes from and where results go.
 *
 * @param modelDir the base checkpoint (qualified Hadoop path); a newer checkpoint under {@code
 *     output} takes precedence (resume)
 * @param precision float32 or float16 model copy
 * @param faults the faults to inject (tests and demos; {@link FaultPlan#none()} otherwise)
 * @param fingerprint what decides the run's trajectory; recorded in its checkpoints, and only a
 *     checkpoint with an equal one is resumed from automatically
 * @param resumeFrom a checkpoint the user named ({@code --resume-from}), or null; this run's own
 *     checkpoints take precedence once there are any (a retry)
 * @param labelAllSubwords how prepare labelled the windows (its summary.json), recorded in the
 *     trained checkpoint for scoring; null when the prepared data does not say
 */
public record TrainPlan(
    WindowPlan windows,
    Labels labels,
    TrainConfig config,
    String modelDir,
    String output,
    String tokenizer,
    boolean fp16,
    FaultPlan faults,
    RunFingerprint fingerprint,
    String resumeFrom,
    Boolean labelAllSubwords)
    implements Serializable {

  /**
   * The config of the model this run trains, from the checkpoint it starts from: this run's labels,
   * its head ({@code crf} when the training arguments give it, else the checkpoint's) and how its
   * windows were labelled.
   */
  public ModelConfig head(ModelConfig checkpoint) {
    return head(checkpoint, labels, config, labelAllSubwords);
  }

  /** {@link #head(ModelConfig)} before there is a plan. */
  static ModelConfig head(
      ModelConfig checkpoint, Labels labels, TrainConfig config, Boolean labelAllSubwords) {
    ModelConfig c = checkpoint.withLabels(labels.labels());
    if (config.crf() != null) {
      c = c.withCrf(config.crf());
    }
    return labelAllSubwords == null ? c : c.withLabelAllSubwords(labelAllSubwords);
  }
}
