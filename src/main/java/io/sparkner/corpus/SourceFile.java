package io.sparkner.corpus;

import java.io.Serializable;

/**
 * One file of one corpus input, as a reader task sees it.
 *
 * @param kind the reader: stockmark, panx, conll, jsonl
 * @param lang the language given with the input or inferred from the path; may be null
 * @param path the file's full Hadoop path
 * @param name the file's name (split names such as {@code train}, {@code dev} are read from it)
 */
public record SourceFile(String kind, String lang, String path, String name)
    implements Serializable {

  /** What quarantine rows name as their source. */
  public String label() {
    return kind + ":" + path;
  }
}
