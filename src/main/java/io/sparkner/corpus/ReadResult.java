package io.sparkner.corpus;

import java.io.Serializable;

/**
 * What a corpus reader makes of one input record: a {@link Document} or a {@link Quarantined}
 * record.
 */
public sealed interface ReadResult extends Serializable permits Document, Quarantined {}
