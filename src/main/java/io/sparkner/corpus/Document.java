package io.sparkner.corpus;

import java.util.List;

/**
 * One accepted record: a text and its entities with types already mapped to the label space.
 *
 * @param droppedEntities entities whose type the type map sent to {@code O}; counted in the summary
 *     so that nothing disappears silently
 * @param iobRepairs {@code I-X} tags that started a new entity (after {@code O} or another type),
 *     the way conlleval reads them; counted in the summary
 */
public record Document(
    String id,
    String lang,
    String source,
    String split,
    String text,
    List<Entity> entities,
    int droppedEntities,
    int iobRepairs)
    implements ReadResult {}
