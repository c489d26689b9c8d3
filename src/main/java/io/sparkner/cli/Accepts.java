package io.sparkner.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What an {@code @Option} accepts. Every option of every subcommand carries one (a test enforces
 * it); {@link OptionChecks} checks them all before a command runs, and refuses a bad value with
 * exit code 2 and a message naming the option.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
@interface Accepts {
  Kind value();

  /** Smallest value of an {@link Kind#INT} option. */
  long min() default Long.MIN_VALUE;

  /** Largest value of an {@link Kind#INT} option. */
  long max() default Long.MAX_VALUE;

  /** The values of a {@link Kind#ONE_OF} option (case-insensitive). */
  String[] oneOf() default {};

  enum Kind {
    /** An int or long in [min, max]. */
    INT,
    /** {@code FROM-TO}: {@code 0-0} (any free port) or 1 &lt;= FROM &lt;= TO &lt;= 65535. */
    PORT_RANGE,
    /** One of {@link #oneOf()}. */
    ONE_OF,
    /** A Java enum; picocli converts it and names the option when it cannot. */
    ENUM,
    /** true/false switches. */
    FLAG,
    /** Free text that must not be blank (a seed, a column name, an id). */
    TEXT,
    /** An existing file, directory or glob (any Hadoop path). */
    INPUT,
    /** A tokenizer.json, or a directory holding one. */
    TOKENIZER,
    /** A Hugging Face checkpoint directory: it holds config.json. */
    CHECKPOINT,
    /** A complete output of prepare: summary.json (written last) and every table. */
    PREPARED,
    /** {@code KIND[:LANG]:PATH} of an existing corpus, as prepare's --input. */
    CORPUS,
    /** labels.json of prepare (existing), or a comma-separated label list. */
    LABELS,
    /** {@code FROM=TO,...} type remapping. */
    TYPE_MAP,
    /** {@code KEY=VALUE}. */
    KEY_VALUE,
    /**
     * An output the command creates: an existing non-empty directory (or an existing file) is
     * refused unless the command's {@code --overwrite} is given.
     */
    NEW_OUTPUT,
    /**
     * An output the command may find from an earlier run and continues or replaces by design (train
     * and crosslingual resume from it, evaluate rewrites its report, demo replaces it): not blank.
     */
    OUTPUT
  }
}
