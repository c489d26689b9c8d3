package io.sparkner.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A key that is accepted (its value still checked against the property's type) but changes nothing.
 * When a configuration gives it, {@link ConfigReader} lists {@code "key.path (reason)"} among the
 * notes, for the command to print.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({
  ElementType.FIELD,
  ElementType.PARAMETER,
  ElementType.METHOD,
  ElementType.RECORD_COMPONENT
})
public @interface Ignored {
  /** Why the key has no effect. */
  String value();
}
