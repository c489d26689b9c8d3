package io.sparkner.corpus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * Deterministic train/validation/test assignment (DESIGN §2), reproducible in any tool: bucket =
 * the first 8 hex digits of SHA-256 of the UTF-8 string {@code "<seed>:<key>"} read as an unsigned
 * integer, mod 100; train below 80, validation below 90, else test.
 *
 * <p>In Python: {@code int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) % 100}.
 */
public final class Splits {
  public static final String TRAIN = "train";
  public static final String VALIDATION = "validation";
  public static final String TEST = "test";
  public static final String DEFAULT_SEED = "sparkner";

  private Splits() {}

  public static int bucket(String seed, String key) {
    byte[] digest = sha256().digest((seed + ":" + key).getBytes(StandardCharsets.UTF_8));
    long first32 =
        ((digest[0] & 0xFFL) << 24)
            | ((digest[1] & 0xFFL) << 16)
            | ((digest[2] & 0xFFL) << 8)
            | (digest[3] & 0xFFL);
    return (int) (first32 % 100);
  }

  public static String of(String seed, String key) {
    int b = bucket(seed, key);
    return b < 80 ? TRAIN : b < 90 ? VALIDATION : TEST;
  }

  /**
   * The split a corpus file declares by its name ({@code train}, {@code dev}/{@code validation},
   * {@code test}, also as in XTREME's {@code train-ja.tsv}), or null when it declares none.
   */
  public static String fromFileName(String fileName) {
    String n = fileName.toLowerCase(Locale.ROOT);
    int dot = n.indexOf('.');
    if (dot > 0) {
      n = n.substring(0, dot);
    }
    for (String part : n.split("[-_]")) {
      switch (part) {
        case "train":
          return TRAIN;
        case "dev":
        case "valid":
        case "validation":
          return VALIDATION;
        case "test":
          return TEST;
        default:
          break;
      }
    }
    return null;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java runtime", e);
    }
  }
}
