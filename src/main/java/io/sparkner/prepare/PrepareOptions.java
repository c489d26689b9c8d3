package io.sparkner.prepare;

import io.sparkner.align.AlignOptions;
import io.sparkner.align.LabelScheme;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import java.util.List;

/**
 * Everything {@code sparkner prepare} needs.
 *
 * @param tokenizer a {@code tokenizer.json} or a checkpoint directory holding one (any Hadoop path)
 * @param output the directory that receives documents/, features/, quarantine/, labels.json and
 *     summary.json
 * @param overwrite replace an existing output instead of refusing
 */
public record PrepareOptions(
    List<CorpusInput> inputs,
    String tokenizer,
    String output,
    ReadOptions read,
    LabelScheme scheme,
    AlignOptions align,
    boolean overwrite) {}
