package io.sparkner.score;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A failure while tagging texts, as it may travel to the driver, Spark's event log and the
 * executors' logs: the chain of the original exception with each link's type name and stack trace,
 * but a link's message only when it quotes none of the texts being tagged (a library's message may
 * quote its input: {@code For input string: "..."}). Texts are personal data; row positions,
 * lengths and type names are not.
 */
public final class RedactedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  static final String WITHHELD = "(message withheld: it may quote the text)";
  private static final int MAX_CHAIN = 32;
  private static final int MAX_MESSAGE = 2000;

  private final String originalType;

  private RedactedException(String message, String originalType, Throwable cause) {
    super(message, cause);
    this.originalType = originalType;
  }

  /** The class name of the exception this link stands for. */
  public String originalType() {
    return originalType;
  }

  /**
   * {@code failure}'s chain, redacted against {@code texts}, under a first link saying {@code
   * context} (which must not hold text: a row position, a length).
   */
  static RedactedException of(String context, Throwable failure, Collection<String> texts) {
    List<Throwable> chain = new ArrayList<>();
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Throwable t = failure;
        t != null && seen.add(t) && chain.size() < MAX_CHAIN;
        t = t.getCause()) {
      chain.add(t);
    }
    Throwable below = null;
    for (int i = chain.size() - 1; i >= 0; i--) {
      Throwable t = chain.get(i);
      RedactedException r =
          new RedactedException(describe(t, texts), t.getClass().getName(), below);
      r.setStackTrace(t.getStackTrace());
      below = r;
    }
    RedactedException top = new RedactedException(context, failure.getClass().getName(), below);
    top.setStackTrace(failure.getStackTrace());
    return top;
  }

  /** {@code Type: message}, the message withheld when it may quote one of {@code texts}. */
  static String describe(Throwable t, Collection<String> texts) {
    String m = t.getMessage();
    String type = t.getClass().getName();
    if (m == null) {
      return type;
    }
    return type + ": " + (quotes(m, texts) ? WITHHELD : m);
  }

  /**
   * Whether {@code message} may quote a text: it is too long to check, or it shares a sequence of
   * three characters with one, holds a whole short one, or holds a non-ASCII character one has (one
   * CJK character is already a syllable of a name). Errs towards withholding.
   */
  static boolean quotes(String message, Collection<String> texts) {
    if (message.length() > MAX_MESSAGE) {
      return true;
    }
    Set<String> grams = new HashSet<>();
    Set<Integer> nonAscii = new HashSet<>();
    for (int i = 0; i + 3 <= message.length(); i++) {
      grams.add(message.substring(i, i + 3));
    }
    message.codePoints().filter(c -> c > 0x7F).forEach(nonAscii::add);
    for (String text : texts) {
      if (text == null || text.isEmpty()) {
        continue;
      }
      if (text.length() < 3 && message.contains(text)) {
        return true;
      }
      for (int i = 0; i + 3 <= text.length(); i++) {
        if (grams.contains(text.substring(i, i + 3))) {
          return true;
        }
      }
      if (!nonAscii.isEmpty() && text.codePoints().anyMatch(nonAscii::contains)) {
        return true;
      }
    }
    return false;
  }
}
