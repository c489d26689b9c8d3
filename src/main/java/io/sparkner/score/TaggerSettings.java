package io.sparkner.score;

import io.sparkner.storage.HadoopConf;
import java.io.Serializable;

/**
 * What a scoring task needs, resolved and checked on the driver by {@link NerTagger}: the qualified
 * model path and the version of its files (config, weights, tokenizer), the text column's index,
 * and the tagger's parameters.
 *
 * @param capacity content tokens per window: maxLength minus the tokenizer's special tokens
 * @param bufferWindows windows read ahead before batching (the span over which they are sorted)
 */
record TaggerSettings(
    String modelPath,
    String modelVersion,
    String device,
    int textIndex,
    int batchSize,
    int capacity,
    int stride,
    int maxChars,
    boolean sortByLength,
    int bufferWindows,
    HadoopConf hadoopConf)
    implements Serializable {}
