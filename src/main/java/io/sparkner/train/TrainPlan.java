package io.sparkner.train;

import io.sparkner.align.Labels;
import io.sparkner.model.Example;
import io.sparkner.prepare.PreparedData;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * Everything a replica needs to train, decided on the driver and shipped to every rank: the data
 * (identical on every rank: each takes its share of each global batch), the resolved
 * configuration, where the model comes from and where results go.
 *
 * @param modelDir the base checkpoint (qualified Hadoop path); a newer checkpoint under {@code
 *     output} takes precedence (resume)
 * @param precision float32 or float16 model copy
 * @param failAtStep fault injection: the rank {@code failRank} dies once after this global step
 *     (-1 = never)
 * @param overflowSteps overflow injection: at these global steps rank {@code failRank} puts an inf
 *     into its local gradients (tests of the global skip decision)
 * @param fingerprint what decides the run's trajectory; recorded in its checkpoints, and only a
 *     checkpoint with an equal one is resumed from automatically
 * @param resumeFrom a checkpoint the user named ({@code --resume-from}), or null; this run's own
 *     checkpoints take precedence once there are any (a retry)
 */
public record TrainPlan(
    List<Example> train,
    List<Example> validation,
    Map<String, PreparedData.GoldDocument> validationGold,
    Labels labels,
    TrainConfig config,
    String modelDir,
    String output,
    String tokenizer,
    boolean fp16,
    long failAtStep,
    int failRank,
    List<Long> overflowSteps,
    RunFingerprint fingerprint,
    String resumeFrom)
    implements Serializable {}
