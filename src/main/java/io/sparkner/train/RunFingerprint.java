package io.sparkner.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.model.ModelConfig;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What decides a training run's trajectory, as named components: the model configuration, the base
 * weights, the labels, the tokenizer, the training windows and the resolved training configuration
 * — only its parts that do not depend on the number of replicas (the global batch, not the
 * per-device batch; no ZeRO stage, bucket sizes, logging, saving or evaluation settings), so that a
 * checkpoint written by N replicas resumes with another N. A checkpoint records the fingerprint of
 * its run; an automatic resume takes only a checkpoint with an equal one.
 *
 * <p>Short values are kept as they are (so that a difference can be shown: {@code num_train_epochs:
 * 10 -> 1}); long ones as {@code sha256:} and the first 16 hex digits of their SHA-256.
 */
public record RunFingerprint(Map<String, String> components) implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int SHORT = 40;
  private static final String HASHED = "sha256:";

  public RunFingerprint {
    components = Collections.unmodifiableMap(new LinkedHashMap<>(components));
  }

  /**
   * The fingerprint of a run.
   *
   * @param modelConfig the base checkpoint's configuration, as read (without this run's labels)
   * @param baseWeights an identity of the base checkpoint's weights ({@link #fileIdentity})
   * @param tokenizerFingerprint prepare's fingerprint of the tokenizer, or null when unknown
   */
  public static RunFingerprint of(
      ModelConfig modelConfig,
      String baseWeights,
      List<String> labels,
      String tokenizerFingerprint,
      WindowPlan train,
      TrainConfig c) {
    Builder b = new Builder();
    b.put("model config", modelConfig.toJson());
    b.put("base model weights", baseWeights);
    b.put("labels", String.join(",", labels));
    b.put("tokenizer", tokenizerFingerprint == null ? "unknown" : tokenizerFingerprint);
    b.put("prepared data", HASHED + train.digest());
    b.put("learning_rate", c.learningRate());
    b.put("adam_beta1", c.beta1());
    b.put("adam_beta2", c.beta2());
    b.put("adam_epsilon", c.eps());
    b.put("weight_decay", c.weightDecay());
    b.put("optimizer", c.decoupledWeightDecay() ? "AdamW" : "Adam");
    b.put("global_batch", c.globalBatch());
    b.put("num_train_epochs", c.epochs());
    b.put("total_steps", c.totalSteps());
    b.put("warmup_steps", c.warmupSteps());
    b.put("lr_scheduler_type", c.schedule().configName());
    if (c.schedule().isDeepSpeed()) {
      b.put("warmup_type", c.warmupType().dsName());
      b.put("warmup_min_lr", c.warmupMinLr());
    }
    b.put("max_grad_norm", c.maxGradNorm());
    b.put("precision", c.precision().name().toLowerCase(java.util.Locale.ROOT));
    b.put("loss_scaler", String.valueOf(c.lossScaler()));
    b.put("seed", c.seed());
    b.put("data_seed", c.dataSeed());
    b.put("group_by_length", c.groupByLength());
    b.put("dataloader_drop_last", c.args().dataloaderDropLast());
    b.put("hidden_dropout_prob", c.hiddenDropoutProb());
    b.put("attention_probs_dropout_prob", c.attentionProbsDropoutProb());
    b.put("classifier_dropout", c.classifierDropout());
    if (c.crf() != null) { // absent when not given: runs without the option keep their fingerprint
      b.put("crf", c.crf());
    }
    if (c.crfLearningRate() != null) {
      b.put("crf_learning_rate", c.crfLearningRate());
    }
    return new RunFingerprint(b.map);
  }

  /** A file's identity for the fingerprint: its size and the CRC32C of its first and last MiB. */
  public static String fileIdentity(long size, long headAndTailCrc) {
    return size + " bytes, crc32c of head and tail " + Long.toHexString(headAndTailCrc);
  }

  /**
   * What differs from {@code other}, one entry per component: {@code name: this -> other} where
   * both values are short, else just the name (e.g. {@code labels}, {@code prepared data}).
   */
  public List<String> diff(RunFingerprint other) {
    Set<String> names = new LinkedHashSet<>(components.keySet());
    names.addAll(other.components.keySet());
    List<String> out = new ArrayList<>();
    for (String n : names) {
      String a = components.get(n);
      String b = other.components.get(n);
      if (a != null && a.equals(b)) {
        continue;
      }
      boolean shown = (a == null || !a.startsWith(HASHED)) && (b == null || !b.startsWith(HASHED));
      out.add(
          shown
              ? n + ": " + (a == null ? "(absent)" : a) + " -> " + (b == null ? "(absent)" : b)
              : n);
    }
    return out;
  }

  public void writeTo(ObjectNode node) {
    components.forEach(node::put);
  }

  /**
   * The fingerprint a manifest recorded, or null when it has none (written before fingerprints).
   */
  public static RunFingerprint read(JsonNode node) {
    if (node == null || !node.isObject() || node.isEmpty()) {
      return null;
    }
    Map<String, String> m = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return new RunFingerprint(m);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final class Builder {
    private final Map<String, String> map = new LinkedHashMap<>();

    void put(String name, Object value) {
      String s = String.valueOf(value);
      if (s.length() > SHORT) {
        s =
            HASHED
                + HexFormat.of()
                    .formatHex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 16);
      }
      map.put(name, s);
    }
  }
}
