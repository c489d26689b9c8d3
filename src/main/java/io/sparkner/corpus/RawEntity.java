package io.sparkner.corpus;

/**
 * An entity as a reader found it, before validation: code-point span, the corpus' own type name,
 * and the surface form where the corpus gives one ({@code name} in Stockmark, else null).
 */
public record RawEntity(int start, int end, String type, String name) {}
